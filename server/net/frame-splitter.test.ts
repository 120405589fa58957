import { describe, expect, it } from 'vitest';
import { FrameError, FrameSplitter } from './frame-splitter.js';

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
