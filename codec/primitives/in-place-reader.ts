/** How a length-prefixed stream is cut: the size of the unit (header included) starting at `at`. */
export interface Framing {
  /** Bytes needed to know a unit's size. */
  readonly headerBytes: number;
  /** Total bytes of the unit starting at `at` (header included); throws to refuse it before anything is allocated. */
  unitBytes(buf: Buffer, at: number): number;
}

export interface InPlaceReaderOptions {
  /** Small units are read into slabs of this size, several per slab. */
  slabBytes: number;
  /** A slab with less room than this left is replaced before the next read. */
  minReadBytes: number;
  /**
   * Most bytes given at once to a unit larger than a slab (at least `slabBytes`): its buffer
   * starts at this size and doubles as its bytes arrive, up to the unit's size, so memory
   * follows what was received, not what a header announced (a unit up to this size is read
   * in place with no copy; a larger one costs at most one copy of itself in all). Unset: the
   * whole unit at once.
   */
  firstLargeBytes?: number;
  /** Accounting of the buffers of large units; unset: every allocation is granted. */
  memory?: UnitMemory;
}

/**
 * Accounting of the memory held for large units being read. The reader asks before every
 * allocation (or growth) of a large unit's buffer and gives the bytes back when the unit is
 * handed out or the reader is released.
 */
export interface UnitMemory {
  /**
   * May `bytes` more be allocated for the current unit? `unitRemaining` is the most the unit
   * can still need, these bytes included. False: not now; the reader stops (`waiting`) until
   * `retry()` is called. `force`: the bytes are taken whatever the answer (counted all the same).
   */
  reserve(bytes: number, unitRemaining: number, force: boolean): boolean;
  /** Gives back `bytes` reserved earlier. `unitDone`: the unit they were for is complete or abandoned. */
  release(bytes: number, unitDone: boolean): void;
}

/**
 * Cuts a length-prefixed byte stream (Kafka frames, MySQL packets) into whole units while
 * telling the socket where to read next (`net.Socket`'s `onread` with a buffer function), so a
 * large unit is read by the kernel straight into a buffer of exactly its size: no socket chunk
 * is allocated for it and nothing is copied to assemble it. In a broker whose garbage
 * collections are driven by external (Buffer) memory, that is most of the cost of a 1 MB unit.
 *
 * Small units are read into slabs and handed out as views of them; a slab is only ever written
 * past what was handed out, so views stay valid however long they are kept.
 */
export class InPlaceReader {
  private slab: Buffer;
  /** First slab byte not yet handed out. */
  private start = 0;
  /** End of the bytes read into the slab. */
  private end = 0;
  /** The buffer of the unit (header included) being read in place, and how much of it has arrived. */
  private large: Buffer | null = null;
  private largeFill = 0;
  /** Total bytes of the large unit being read (its buffer may still be smaller), 0 when none. */
  private largeSize = 0;
  /** True while the reader needs memory the accounting refused; nothing may be read until `retry()` succeeds. */
  private blocked = false;
  /**
   * The read target given while waiting. A socket asks for its next target right after each
   * read, even one that made the reader wait, and reads into that target first when resumed:
   * it gets this one byte, placed where it belongs once the memory has come.
   */
  private readonly spill = Buffer.allocUnsafe(1);
  private spilled = false;

  constructor(
    private readonly framing: Framing,
    private readonly options: InPlaceReaderOptions,
  ) {
    this.slab = Buffer.allocUnsafe(options.slabBytes);
  }

  /** Where the socket's next read should land (while `waiting`, one byte; the socket must not read then). */
  readTarget(): Buffer {
    this.spilled = this.blocked;
    if (this.blocked) return this.spill;
    if (this.large) return this.large.subarray(this.largeFill);
    if (this.slab.length - this.end < this.options.minReadBytes) this.moveToFreshSlab();
    return this.slab.subarray(this.end);
  }

  /**
   * Accounts for `n` bytes read into the last `readTarget()`. Returns the units completed, in
   * stream order, as chunks of whole units (headers included): a run of consecutive units from
   * a slab, or one large unit in a buffer of its own.
   */
  onRead(n: number): Buffer[] {
    if (this.spilled) {
      this.spilled = false;
      if (n === 0) return [];
      // A byte read while waiting means the caller read anyway: the unit gets its memory rather than the byte being lost.
      if (this.blocked) this.allocate(true);
      this.readTarget()[0] = this.spill[0]!;
      return this.onRead(1);
    }
    if (this.large) {
      this.largeFill += n;
      if (this.largeFill < this.large.length) return [];
      if (this.largeFill < this.largeSize) {
        this.allocate(false);
        return [];
      }
      const unit = this.large;
      this.large = null;
      this.largeSize = 0;
      this.options.memory?.release(unit.length, true);
      return [unit];
    }
    this.end += n;
    const { headerBytes } = this.framing;
    let at = this.start;
    let pending = 0;
    while (this.end - at >= headerBytes) {
      pending = this.framing.unitBytes(this.slab, at);
      if (this.end - at < pending) break;
      at += pending;
      pending = 0;
    }
    const chunks: Buffer[] = [];
    if (at > this.start) {
      chunks.push(this.slab.subarray(this.start, at));
      this.start = at;
    }
    if (pending > 0 && this.start + pending > this.slab.length) {
      if (pending <= this.options.slabBytes) this.moveToFreshSlab();
      else {
        // Larger than a slab: a buffer of its own, the rest read straight into it.
        this.largeSize = pending;
        this.allocate(false);
      }
    }
    return chunks;
  }

  /** True while the reader waits for memory (see UnitMemory.reserve): the socket must not read. */
  get waiting(): boolean {
    return this.blocked;
  }

  /** Asks again for the memory the reader waits for; true when it got it (or was not waiting). */
  retry(): boolean {
    if (this.blocked) this.allocate(false);
    return !this.blocked;
  }

  /** Drops the large unit being read and gives its memory back (the stream is over). */
  release(): void {
    const held = this.large?.length ?? 0;
    const had = this.largeSize > 0;
    this.large = null;
    this.largeSize = 0;
    this.largeFill = 0;
    this.blocked = false;
    if (had) this.options.memory?.release(held, true);
  }

  /** Bytes received but not yet handed out in a unit. */
  get bufferedBytes(): number {
    if (this.large) return this.largeFill;
    return this.end - this.start;
  }

  /** Bytes of the buffer held for the large unit being read (allocated, not necessarily filled). */
  get largeBufferBytes(): number {
    return this.large?.length ?? 0;
  }

  /**
   * Gives the large unit its first buffer (its start is in the slab) or a buffer twice as
   * large, up to its size, with the bytes received so far copied over. `force` takes the memory
   * without the accounting's consent (still counted).
   */
  private allocate(force: boolean): void {
    const held = this.large?.length ?? 0;
    const first = Math.max(this.options.firstLargeBytes ?? this.largeSize, this.options.slabBytes);
    const capacity = Math.min(this.largeSize, Math.max(first, held * 2));
    const memory = this.options.memory;
    if (memory && !memory.reserve(capacity - held, this.largeSize - held, force) && !force) {
      this.blocked = true;
      return;
    }
    this.blocked = false;
    const grown = Buffer.allocUnsafe(capacity);
    if (this.large) {
      this.large.copy(grown, 0, 0, this.largeFill);
    } else {
      this.slab.copy(grown, 0, this.start, this.end);
      this.largeFill = this.end - this.start;
      // Those bytes were copied, never handed out: the slab takes the next reads there again.
      this.end = this.start;
    }
    this.large = grown;
  }

  /** Carries the start of an incomplete unit over to a new slab; the old one stays with its views. */
  private moveToFreshSlab(): void {
    const fresh = Buffer.allocUnsafe(this.options.slabBytes);
    const pending = this.end - this.start;
    this.slab.copy(fresh, 0, this.start, this.end);
    this.slab = fresh;
    this.start = 0;
    this.end = pending;
  }
}
