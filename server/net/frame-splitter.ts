/**
 * Cuts a TCP byte stream into Kafka frames (int32 size + payload). The size is checked
 * against the limit before anything is allocated; a frame inside one chunk is returned as a
 * view, and only a frame spanning chunks is copied into a buffer of exactly its size.
 */
export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Memory the splitter allocated itself to assemble a frame that spanned chunks: nothing else
 * holds or writes it, so a consumer of that frame's bytes (the partition log) may keep them
 * instead of copying. A view of a socket chunk is never in here.
 */
const assembled = new WeakSet<ArrayBufferLike>();

/**
 * True when `bytes` lies in a buffer the splitter assembled and covers at least half of it, so
 * keeping `bytes` pins little else (the rest is the assembled frame's header and at most the
 * start of the next frame).
 */
export function isAssembledView(bytes: Buffer): boolean {
  return assembled.has(bytes.buffer) && bytes.length * 2 >= bytes.buffer.byteLength;
}

/** Records a frame buffer the connection allocated for itself alone (a buffer of its own only). */
export function markAssembled(frame: Buffer): void {
  // Not a slice of Buffer's shared pool for small sizes.
  if (frame.byteOffset === 0 && frame.buffer.byteLength === frame.length) assembled.add(frame.buffer);
}

/** Checks a frame's size prefix before anything is allocated for it. */
export function checkFrameSize(size: number, maxFrameBytes: number): void {
  if (size < 0) throw new FrameError(`negative frame size ${size}`);
  if (size > maxFrameBytes) {
    throw new FrameError(`frame of ${size} bytes exceeds socket.request.max.bytes ${maxFrameBytes}`);
  }
}

export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds one chunk; returns the complete frames (payloads without the size prefix). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let data: Buffer;
    if (this.pendingBytes === 0) {
      data = chunk;
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      const needed = this.neededBytes();
      if (needed === null || this.pendingBytes < needed) return frames;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      markAssembled(data);
    }
    let at = 0;
    while (data.length - at >= 4) {
      const size = data.readInt32BE(at);
      this.check(size);
      if (data.length - at - 4 < size) break;
      frames.push(data.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    if (at < data.length) {
      this.pending = [data.subarray(at)];
      this.pendingBytes = data.length - at;
    }
    return frames;
  }

  /** Total bytes (prefix included) of the frame being assembled, or null if its size is not yet known. */
  private neededBytes(): number | null {
    if (this.pendingBytes < 4) return null;
    const head = this.pending[0]!.length >= 4 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const size = head.readInt32BE(0);
    this.check(size);
    return size + 4;
  }

  private check(size: number): void {
    checkFrameSize(size, this.maxFrameBytes);
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
