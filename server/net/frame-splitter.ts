/**
 * Cuts a TCP byte stream into Kafka frames (int32 size + payload). The size is checked
 * against the limit before anything is allocated; a frame inside one chunk is returned as a
 * view, and only a frame spanning chunks is copied into a buffer of exactly its size.
 */
export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * True when `buffer` is all of its memory (offset 0, the whole ArrayBuffer): memory allocated
 * for it alone, not a slice of Buffer's shared pool for small sizes or of a larger buffer.
 */
export function isWholeBuffer(buffer: Buffer): boolean {
  return buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.length;
}

/**
 * Whether bytes of an owned frame (see FrameSplitter.ownsFrame, FrameReader.ownsFrame) may be
 * kept past the request without a copy: only when they cover at least half of the memory they
 * lie in, so keeping them pins little else (the rest is the frame's header and at most the
 * start of the next frame). Never for a frame the connection does not own.
 */
export function mayRetain(bytes: Buffer, frameOwned: boolean): boolean {
  return frameOwned && bytes.length * 2 >= bytes.buffer.byteLength;
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
  /** The last buffer this splitter assembled from several chunks (memory of its own), if any. */
  private assembled: ArrayBufferLike | null = null;

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
      // Not a slice of Buffer's shared pool for small sizes.
      if (isWholeBuffer(data)) this.assembled = data.buffer;
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

  /** Total bytes (size prefix included) of the partial frame held, 0 when there is none or its size is not known yet. */
  get pendingFrameBytes(): number {
    return this.neededBytes() ?? 0;
  }

  /**
   * True when `frame` (returned by push) lies in memory this splitter assembled from several
   * chunks: nothing else holds or writes it, so its bytes may be kept without copying (see
   * mayRetain). A view of a socket chunk is never owned. Answers for the frames of the latest
   * pushes; an older frame may be answered false, which only costs a copy.
   */
  ownsFrame(frame: Buffer): boolean {
    return this.assembled !== null && frame.buffer === this.assembled;
  }
}
