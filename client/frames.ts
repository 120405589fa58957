/**
 * Splits a byte stream into Kafka frames (4-byte size prefix + body). The size is checked
 * against the limit before anything is allocated for the body. Frames are views of the pushed
 * chunks; bytes are copied only when a frame spans chunks, once, when its last byte has
 * arrived (so a large frame over many chunks costs one copy, not one per chunk). Chunks are
 * kept by reference until their frames are complete: the caller must not reuse them (Node
 * never reuses a 'data' chunk).
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
    let buffer = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.bytesNeeded()) return [];
      buffer = Buffer.concat(this.pending, this.pendingBytes);
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
      this.pending = [buffer.subarray(at)];
      this.pendingBytes = buffer.length - at;
    }
    return frames;
  }

  /** Pending bytes needed before the next frame is complete (0 when its size is refused). */
  private bytesNeeded(): number {
    if (this.pendingBytes < 4) return 4;
    if (this.pending[0]!.length < 4) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    const size = this.pending[0]!.readInt32BE(0);
    return size < 0 || size > this.maxFrameBytes ? 0 : 4 + size;
  }
}
