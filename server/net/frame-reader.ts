import { InPlaceReader, type UnitMemory } from '../../codec/primitives/in-place-reader.js';
import { checkFrameSize, isWholeBuffer } from './frame-splitter.js';
import type { BudgetClient, RequestByteBudget } from './limits/request-bytes.js';

/** Small frames are read into slabs of this size, several frames per slab. */
const SLAB_BYTES = 16 * 1024;
/** A slab with less room than this left is replaced before the next read. */
const MIN_READ_BYTES = 1024;
/**
 * A larger frame gets a buffer of at most this size first, doubled as its bytes arrive, so a
 * size prefix alone never makes the broker allocate 100 MB. Frames up to it (1 MB Produce
 * requests, librdkafka's and the Java client's default request size limits) are still read in
 * place with no copy; a larger one costs copies adding up to less than its size.
 */
export const FIRST_LARGE_FRAME_BYTES = 2 * 1024 * 1024;

/**
 * Cuts a Kafka connection's byte stream into frames while telling the socket where to read
 * next (see InPlaceReader): a frame larger than a 16 KiB slab, such as a 1 MB Produce request,
 * is read by the kernel straight into a buffer of its own, which the reader owns (see
 * `ownsFrame`), so its records can be kept without a copy. Sizes are checked against
 * socket.request.max.bytes before anything is allocated, and memory for a large frame is
 * allocated as its bytes arrive, within the broker's request byte budget when one is given:
 * refused, the reader waits (`waiting`; the socket must stop reading) until the budget calls
 * back, then `onMemoryAvailable` is called.
 */
export class FrameReader implements BudgetClient {
  private readonly units: InPlaceReader;
  /** The last buffer read in place for one frame alone (memory of its own), if any. */
  private own: ArrayBufferLike | null = null;
  /** Called when the reader stopped waiting for memory: the socket may read again. */
  onMemoryAvailable: (() => void) | null = null;

  constructor(
    maxFrameBytes: number,
    private readonly budget: RequestByteBudget | null = null,
  ) {
    const memory: UnitMemory | undefined = budget
      ? {
          reserve: (bytes, remaining, force) => budget.reserve(this, bytes, remaining, force),
          release: (bytes, done) => budget.release(this, bytes, done),
        }
      : undefined;
    this.units = new InPlaceReader(
      {
        headerBytes: 4,
        unitBytes: (buf, at) => {
          const size = buf.readInt32BE(at);
          checkFrameSize(size, maxFrameBytes);
          return 4 + size;
        },
      },
      { slabBytes: SLAB_BYTES, minReadBytes: MIN_READ_BYTES, firstLargeBytes: FIRST_LARGE_FRAME_BYTES, memory },
    );
  }

  /** True while a frame waits for memory from the budget: the socket must not read. */
  get waiting(): boolean {
    return this.units.waiting;
  }

  /** The budget may have memory again (BudgetClient). */
  memoryAvailable(): void {
    if (this.units.retry()) this.onMemoryAvailable?.();
  }

  /** The connection closed: the frame being read is dropped and its memory given back. */
  release(): void {
    this.units.release();
    this.budget?.remove(this);
    this.onMemoryAvailable = null;
  }

  /** Bytes allocated for the frame being read (a large frame's buffer), for tests and metrics. */
  get heldBytes(): number {
    return this.units.largeBufferBytes;
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
