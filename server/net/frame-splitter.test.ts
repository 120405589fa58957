import { describe, expect, it } from 'vitest';
import { FrameError, FrameSplitter, mayRetain } from './frame-splitter.js';

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

const payloads = [Buffer.from('first request'), Buffer.alloc(0), Buffer.from('x'.repeat(300)), Buffer.from([1, 2, 3])];
const stream = Buffer.concat(payloads.map(frame));

describe('FrameSplitter', () => {
  it('yields the same frames whatever byte the stream is split at', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const splitter = new FrameSplitter(1024);
      const frames = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
      expect(frames.map((f) => f.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it('yields the same frames when fed one byte at a time', () => {
    const splitter = new FrameSplitter(1024);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...splitter.push(stream.subarray(i, i + 1)));
    expect(frames.map((f) => f.toString())).toEqual(payloads.map((p) => p.toString()));
  });

  it('returns views, not copies, for frames inside one chunk', () => {
    const splitter = new FrameSplitter(1024);
    const [first] = splitter.push(stream);
    expect(first!.buffer).toBe(stream.buffer);
  });

  it('owns frames it assembled from several chunks, never views of a chunk', () => {
    const big = frame(Buffer.alloc(100_000, 7));
    const small = frame(Buffer.from('small'));
    const splitter = new FrameSplitter(1 << 20);
    expect(splitter.push(big.subarray(0, 50_000))).toEqual([]);
    const [assembled, next] = splitter.push(Buffer.concat([big.subarray(50_000), small]));
    expect(splitter.ownsFrame(assembled!)).toBe(true);
    expect(mayRetain(assembled!, splitter.ownsFrame(assembled!))).toBe(true);
    // The small frame after it shares the assembled buffer but covers too little of it to be kept.
    expect(splitter.ownsFrame(next!)).toBe(true);
    expect(mayRetain(next!, splitter.ownsFrame(next!))).toBe(false);
    const whole = new FrameSplitter(1 << 20);
    const [view] = whole.push(big);
    expect(whole.ownsFrame(view!)).toBe(false);
    expect(mayRetain(view!, whole.ownsFrame(view!))).toBe(false);
    // A small frame assembled in Buffer's shared pool is not owned either.
    const tiny = new FrameSplitter(1024);
    tiny.push(small.subarray(0, 3));
    const [pooled] = tiny.push(small.subarray(3));
    expect(pooled!.toString()).toBe('small');
    expect(tiny.ownsFrame(pooled!)).toBe(false);
  });

  it("keeps an assembled frame's bytes when the chunks it came from are overwritten afterwards", () => {
    const payload = Buffer.alloc(70_000);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const stream2 = Buffer.concat([frame(payload), frame(Buffer.alloc(9_000, 1)), frame(Buffer.alloc(50_000, 2))]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream2.length; at += 40_000) chunks.push(Buffer.from(stream2.subarray(at, at + 40_000)));
    const splitter = new FrameSplitter(1 << 20);
    const [first, second] = splitter.push(chunks[0]!).concat(splitter.push(chunks[1]!));
    expect(splitter.ownsFrame(first!)).toBe(true);
    // Later reads arrive and the earlier chunks' memory is written over.
    chunks[0]!.fill(0xee);
    chunks[1]!.fill(0xee);
    const [third] = splitter.push(chunks[2]!).concat(splitter.push(chunks[3]!));
    expect(first!.equals(payload)).toBe(true);
    expect(second!.equals(Buffer.alloc(9_000, 1))).toBe(true);
    expect(third!.equals(Buffer.alloc(50_000, 2))).toBe(true);
  });

  it('rejects a size above the limit before the payload arrives', () => {
    const splitter = new FrameSplitter(100);
    const header = Buffer.alloc(4);
    header.writeInt32BE(0x7fffffff);
    expect(() => splitter.push(header)).toThrow(FrameError);
  });

  it('rejects a negative size', () => {
    const splitter = new FrameSplitter(100);
    expect(() => splitter.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/negative/);
  });

  it('rejects an oversized frame whose size prefix arrives split', () => {
    const splitter = new FrameSplitter(100);
    const header = Buffer.alloc(4);
    header.writeInt32BE(101);
    expect(splitter.push(header.subarray(0, 2))).toEqual([]);
    expect(() => splitter.push(header.subarray(2))).toThrow(FrameError);
  });
});
