import { checkFrameSize, markAssembled } from './frame-splitter.js';

/** Small frames are read into slabs of this size, several frames per slab. */
const SLAB_BYTES = 16 * 1024;
/** A slab with less room than this left is replaced before the next read. */
const MIN_READ_BYTES = 1024;

/**
 * Cuts a TCP byte stream into Kafka frames while telling the socket where to read next
 * (`net.Socket`'s `onread` with a buffer function), so the kernel copies a large frame
 * straight into a buffer of exactly its size: no socket chunk is allocated for it and nothing
 * is copied to assemble it. That is most of a 1 MB Produce request's cost in a broker whose
 * garbage collections are driven by external memory.
 *
 * Small frames are read into a 16 KiB slab and returned as views of it; a slab is only ever
 * written past what was returned, so views stay valid however long they are kept. A frame
 * larger than a slab gets a buffer of its own, marked as assembled (see `isAssembledView`):
 * its records can be kept without a copy.
 */
export class FrameReader {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** First slab byte not yet returned in a frame. */
  private start = 0;
  /** End of the bytes read into the slab. */
  private end = 0;
  /** Payload of the frame being read in place, and how much of it has arrived. */
  private large: Buffer | null = null;
  private largeFill = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Where the socket's next read should land. */
  readTarget(): Buffer {
    if (this.large) return this.large.subarray(this.largeFill);
    if (this.slab.length - this.end < MIN_READ_BYTES) this.moveToFreshSlab();
    return this.slab.subarray(this.end);
  }

  /**
   * Accounts for `n` bytes read into the last `readTarget()`; returns the frames completed
   * (payloads without the size prefix). Throws FrameError for a size over the limit.
   */
  onRead(n: number): Buffer[] {
    if (this.large) {
      this.largeFill += n;
      if (this.largeFill < this.large.length) return [];
      const frame = this.large;
      this.large = null;
      markAssembled(frame);
      return [frame];
    }
    this.end += n;
    const frames: Buffer[] = [];
    while (this.end - this.start >= 4) {
      const size = this.slab.readInt32BE(this.start);
      checkFrameSize(size, this.maxFrameBytes);
      const have = this.end - this.start - 4;
      if (have >= size) {
        frames.push(this.slab.subarray(this.start + 4, this.start + 4 + size));
        this.start += 4 + size;
        continue;
      }
      if (this.start + 4 + size <= this.slab.length) break; // the rest arrives in this slab
      if (4 + size <= SLAB_BYTES) {
        this.moveToFreshSlab();
        break;
      }
      // Larger than a slab: its own buffer, the rest read straight into it.
      this.large = Buffer.allocUnsafe(size);
      this.slab.copy(this.large, 0, this.start + 4, this.end);
      this.largeFill = have;
      // Those bytes were copied, never handed out: the slab takes the next reads there again.
      this.end = this.start;
      break;
    }
    return frames;
  }

  /** Bytes received but not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.large ? this.largeFill : this.end - this.start;
  }

  /** Carries the start of an incomplete frame over to a new slab; the old one stays with its views. */
  private moveToFreshSlab(): void {
    const fresh = Buffer.allocUnsafe(SLAB_BYTES);
    const pending = this.end - this.start;
    this.slab.copy(fresh, 0, this.start, this.end);
    this.slab = fresh;
    this.start = 0;
    this.end = pending;
  }
}
