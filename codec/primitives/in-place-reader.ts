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
  /** The unit (header included) being read in place, and how much of it has arrived. */
  private large: Buffer | null = null;
  private largeFill = 0;

  constructor(
    private readonly framing: Framing,
    private readonly options: InPlaceReaderOptions,
  ) {
    this.slab = Buffer.allocUnsafe(options.slabBytes);
  }

  /** Where the socket's next read should land. */
  readTarget(): Buffer {
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
    if (this.large) {
      this.largeFill += n;
      if (this.largeFill < this.large.length) return [];
      const unit = this.large;
      this.large = null;
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
        // Larger than a slab: its own buffer, the rest read straight into it.
        this.large = Buffer.allocUnsafe(pending);
        this.slab.copy(this.large, 0, this.start, this.end);
        this.largeFill = this.end - this.start;
        // Those bytes were copied, never handed out: the slab takes the next reads there again.
        this.end = this.start;
      }
    }
    return chunks;
  }

  /** Bytes received but not yet handed out in a unit. */
  get bufferedBytes(): number {
    return this.large ? this.largeFill : this.end - this.start;
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
