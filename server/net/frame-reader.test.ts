import { describe, expect, it } from 'vitest';
import { playInto } from '../../codec/primitives/in-place-reader.testing.js';
import { FrameReader } from './frame-reader.js';
import { FrameError } from './frame-splitter.js';

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
