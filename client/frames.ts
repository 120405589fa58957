/**
 * Splits a byte stream into Kafka frames (4-byte size prefix + body). The size is checked
 * against the limit before anything is allocated for the body; bytes are copied only when a
 * frame spans chunks.
 */
export class FrameTooLargeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(`response frame of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Frames completed by `chunk`, each with its size prefix. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    let buffer: Buffer;
    if (this.pendingBytes === 0) buffer = chunk;
    else {
      this.pending.push(chunk);
      buffer = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const frames: Buffer[] = [];
    let at = 0;
    while (buffer.length - at >= 4) {
      const size = buffer.readInt32BE(at);
      if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
      if (buffer.length - at < 4 + size) break;
      frames.push(buffer.subarray(at, at + 4 + size));
      at += 4 + size;
    }
    if (at < buffer.length) {
      // Keep a copy so the caller's chunk can be reused; it holds at most one frame.
      const rest = Buffer.from(buffer.subarray(at));
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }
}
