import { InPlaceReader } from '../../codec/primitives/in-place-reader.js';
import { checkFrameSize, isWholeBuffer } from './frame-splitter.js';

/** Small frames are read into slabs of this size, several frames per slab. */
const SLAB_BYTES = 16 * 1024;
/** A slab with less room than this left is replaced before the next read. */
const MIN_READ_BYTES = 1024;

/**
 * Cuts a Kafka connection's byte stream into frames while telling the socket where to read
 * next (see InPlaceReader): a frame larger than a 16 KiB slab, such as a 1 MB Produce request,
 * is read by the kernel straight into a buffer of its own, which the reader owns (see
 * `ownsFrame`), so its records can be kept without a copy. Sizes are checked against
 * socket.request.max.bytes before anything is allocated.
 */
export class FrameReader {
  private readonly units: InPlaceReader;
  /** The last buffer read in place for one frame alone (memory of its own), if any. */
  private own: ArrayBufferLike | null = null;

  constructor(maxFrameBytes: number) {
    this.units = new InPlaceReader(
      {
        headerBytes: 4,
        unitBytes: (buf, at) => {
          const size = buf.readInt32BE(at);
          checkFrameSize(size, maxFrameBytes);
          return 4 + size;
        },
      },
      { slabBytes: SLAB_BYTES, minReadBytes: MIN_READ_BYTES },
    );
  }

  /** Where the socket's next read should land. */
  readTarget(): Buffer {
    return this.units.readTarget();
  }

  /**
   * Accounts for `n` bytes read into the last `readTarget()`; returns the frames completed
   * (payloads without the size prefix). Throws FrameError for a size over the limit.
   */
  onRead(n: number): Buffer[] {
    const frames: Buffer[] = [];
    for (const chunk of this.units.onRead(n)) {
      let at = 0;
      while (at < chunk.length) {
        const size = chunk.readInt32BE(at);
        frames.push(chunk.subarray(at + 4, at + 4 + size));
        at += 4 + size;
      }
      // A frame alone in a buffer of exactly its size was read in place for itself.
      if (4 + chunk.readInt32BE(0) === chunk.length && isWholeBuffer(chunk)) this.own = chunk.buffer;
    }
    return frames;
  }

  /**
   * True when `frame` (returned by onRead) was read in place into a buffer of its own: nothing
   * else holds it and the reader never writes it again, so its bytes may be kept without
   * copying (see mayRetain). Frames in a shared slab are not owned. Answers for the frames of
   * the latest reads; an older frame may be answered false, which only costs a copy.
   */
  ownsFrame(frame: Buffer): boolean {
    return this.own !== null && frame.buffer === this.own;
  }

  /** Bytes received but not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.units.bufferedBytes;
  }
}
