import { describe, expect, it } from 'vitest';
import { playInto } from '../../codec/primitives/in-place-reader.testing.js';
import { FIRST_LARGE_FRAME_BYTES, FrameReader } from './frame-reader.js';
import { FrameError } from './frame-splitter.js';
import { RequestByteBudget } from './limits/request-bytes.js';

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

function payload(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

// Small frames, an empty one, frames just under, at and over the 16 KiB slab, and a 1 MB one.
const payloads = [
  payload(13, 1), payload(0, 2), payload(300, 3), payload(16 * 1024 - 4, 4), payload(16 * 1024 - 3, 5),
  payload(5, 6), payload(1_000_000, 7), payload(40, 8), payload(20_000, 9), payload(1, 10),
];
const stream = Buffer.concat(payloads.map(frame));
const hex = (bs: Buffer[]) => bs.map((b) => b.toString('hex'));

describe('FrameReader', () => {
  it('yields every frame, whole and in order, whatever the read sizes', () => {
    for (const size of [1, 3, 7, 61, 1000, 4096, 65536, 1 << 20, stream.length]) {
      const reader = new FrameReader(2 << 20);
      const frames = playInto(reader, stream, () => size);
      // Compared at the end: views of earlier slabs must not have been overwritten by later reads.
      expect(hex(frames)).toEqual(hex(payloads));
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  it('yields every frame with irregular read sizes', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return 1 + (seed % 70_000);
    };
    const frames = playInto(new FrameReader(2 << 20), stream, next);
    expect(hex(frames)).toEqual(hex(payloads));
  });

  it('reads a frame larger than a slab straight into a buffer of its own, which it owns', () => {
    const reader = new FrameReader(2 << 20);
    const big = payload(1_000_000, 42);
    const bytes = frame(big);
    const first = reader.readTarget();
    bytes.copy(first, 0, 0, 100);
    expect(reader.onRead(100)).toEqual([]);
    const target = reader.readTarget();
    // The rest of the frame exactly: the read cannot run into the next frame.
    expect(target.length).toBe(bytes.length - 100);
    bytes.copy(target, 0, 100);
    const [done] = reader.onRead(target.length);
    expect(done!.equals(big)).toBe(true);
    expect(done!.buffer).toBe(target.buffer);
    expect(reader.ownsFrame(done!)).toBe(true);
  });

  it('returns small frames as views of a slab, which it does not own', () => {
    const reader = new FrameReader(1024);
    const bytes = Buffer.concat([frame(payload(10, 1)), frame(payload(20, 2))]);
    const target = reader.readTarget();
    bytes.copy(target);
    const frames = reader.onRead(bytes.length);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.buffer).toBe(target.buffer);
    expect(frames.some((f) => reader.ownsFrame(f))).toBe(false);
  });

  it('rejects a size over the limit or negative before allocating for it', () => {
    for (const size of [1025, -1, 0x7fffffff]) {
      const reader = new FrameReader(1024);
      const target = reader.readTarget();
      target.writeInt32BE(size, 0);
      expect(() => reader.onRead(4)).toThrow(FrameError);
    }
  });
});

/** Reads `bytes` into the reader as a socket would, until they are all read or the reader waits for memory. */
function feed(reader: FrameReader, bytes: Buffer, maxRead = 1 << 30): { frames: Buffer[]; read: number } {
  const frames: Buffer[] = [];
  let at = 0;
  while (at < bytes.length && !reader.waiting) {
    const target = reader.readTarget();
    const n = Math.min(target.length, maxRead, bytes.length - at);
    bytes.copy(target, 0, at, at + n);
    at += n;
    frames.push(...reader.onRead(n));
  }
  return { frames, read: at };
}

const MiB = 1024 * 1024;

describe('FrameReader memory', () => {
  it('allocates for a large frame as its bytes arrive, not as its size prefix announces', () => {
    const reader = new FrameReader(200 * MiB);
    const head = Buffer.alloc(14);
    head.writeInt32BE(100_000_000, 0);
    feed(reader, head);
    expect(reader.heldBytes).toBe(FIRST_LARGE_FRAME_BYTES);
    // Each read lands in the buffer held, never beyond it.
    expect(reader.readTarget().length).toBe(FIRST_LARGE_FRAME_BYTES - 14);
  });

  it('doubles the buffer as bytes arrive and ends with the frame alone in a buffer of its size', () => {
    const reader = new FrameReader(200 * MiB);
    const big = payload(5 * MiB, 3);
    const bytes = frame(big);
    expect(feed(reader, bytes.subarray(0, 3 * MiB)).frames).toEqual([]);
    expect(reader.heldBytes).toBe(4 * MiB);
    const { frames } = feed(reader, bytes.subarray(3 * MiB), 64 * 1024);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(big)).toBe(true);
    expect(frames[0]!.buffer.byteLength).toBe(bytes.length);
    expect(reader.ownsFrame(frames[0]!)).toBe(true);
    expect(reader.heldBytes).toBe(0);
  });

  it('reads a frame up to 2 MiB into one buffer of its size at once (no copy)', () => {
    const reader = new FrameReader(200 * MiB);
    const bytes = frame(payload(FIRST_LARGE_FRAME_BYTES - 4, 5));
    feed(reader, bytes.subarray(0, 100));
    expect(reader.heldBytes).toBe(bytes.length);
    const target = reader.readTarget();
    const { frames } = feed(reader, bytes.subarray(100));
    expect(frames[0]!.buffer).toBe(target.buffer);
  });

  it('waits when the budget refuses, goes on when memory comes back, and gives everything back', () => {
    const budget = new RequestByteBudget(3 * MiB, 8 * MiB);
    const a = new FrameReader(8 * MiB, budget);
    const b = new FrameReader(8 * MiB, budget);
    let bReady = 0;
    b.onMemoryAvailable = () => bReady++;
    const aBytes = frame(payload(6 * MiB, 1));
    const bBytes = frame(payload(3 * MiB, 2));
    // a: 2 MiB fit under 3 MiB; its growth to 4 MiB does not, and a takes the privilege.
    expect(feed(a, aBytes.subarray(0, 3 * MiB)).read).toBe(3 * MiB);
    expect(budget.used).toBe(4 * MiB);
    // b: nothing fits and the privilege is a's; b waits with its first bytes in its slab.
    const bRead = feed(b, bBytes).read;
    expect(bRead).toBeLessThan(16 * 1024 + 1);
    expect(b.waiting).toBe(true);
    expect(b.heldBytes).toBe(0);
    expect(budget.waiting).toBe(1);
    // A socket asks for its next target even now, and reads into it first when resumed: one byte, nothing allocated.
    const spill = b.readTarget();
    expect(spill.length).toBe(1);
    expect(budget.used).toBe(4 * MiB);
    // a completes: its memory is given back (the connection counts the frame while it is handled).
    const { frames } = feed(a, aBytes.subarray(3 * MiB));
    expect(frames[0]!.length).toBe(6 * MiB);
    expect(budget.used).toBe(0);
    budget.wake();
    expect(bReady).toBe(1);
    expect(b.waiting).toBe(false);
    expect(b.heldBytes).toBe(2 * MiB);
    // Resumed: the first byte lands in the one-byte target and is placed where it belongs.
    spill[0] = bBytes[bRead]!;
    expect(b.onRead(1)).toEqual([]);
    const rest = feed(b, bBytes.subarray(bRead + 1));
    expect(rest.frames).toHaveLength(1);
    expect(rest.frames[0]!.equals(bBytes.subarray(4))).toBe(true);
    expect(budget.used).toBe(0);
    b.release();
    expect(budget.used).toBe(0);
    expect(budget.waiting).toBe(0);
  });

  it('gives a waiting reader memory back when it is released', () => {
    const budget = new RequestByteBudget(2 * MiB, 8 * MiB);
    const holder = new FrameReader(8 * MiB, budget);
    feed(holder, frame(payload(8 * MiB - 4, 1)).subarray(0, 3 * MiB)); // privileged, 4 MiB held
    const waiter = new FrameReader(8 * MiB, budget);
    feed(waiter, frame(payload(3 * MiB, 2)));
    expect(waiter.waiting).toBe(true);
    expect(budget.used).toBe(4 * MiB);
    holder.release();
    waiter.release();
    expect(budget.used).toBe(0);
    expect(budget.waiting).toBe(0);
  });

  it('every frame arrives whole with a budget smaller than the frames', () => {
    const budget = new RequestByteBudget(1 * MiB, 8 * MiB);
    const reader = new FrameReader(8 * MiB, budget);
    const frames = [payload(5 * MiB, 1), payload(100, 2), payload(3 * MiB, 3)];
    const bytes = Buffer.concat(frames.map(frame));
    const got = feed(reader, bytes, 100_000);
    expect(got.read).toBe(bytes.length);
    expect(hex(got.frames)).toEqual(hex(frames));
    expect(budget.used).toBe(0);
  });
});
