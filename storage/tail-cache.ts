/**
 * The most recent batches of one partition, in memory, bounded in bytes. It always covers a
 * contiguous range [coveredFrom, end): every committed batch with lastOffset >= coveredFrom is
 * in it, so a read whose fetch offset is >= coveredFrom is answered without MySQL. Batches
 * are pushed in offset order right after their commit; the oldest are evicted to stay within
 * the budget. A batch larger than the budget empties the cache (coverage restarts after it).
 */
export interface CachedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  bytes: Buffer;
}

export class TailCache {
  private batches: CachedBatch[] = [];
  private head = 0;
  private size = 0;
  private from: bigint;

  constructor(
    private readonly capacityBytes: number,
    /** Offset from which the cache is complete: the high watermark when the log is loaded. */
    start: bigint,
  ) {
    this.from = start;
  }

  /** Lowest offset the cache can answer for. */
  get coveredFrom(): bigint {
    return this.from;
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.batches.length - this.head;
  }

  push(batch: CachedBatch): void {
    if (batch.bytes.length > this.capacityBytes) {
      this.clear(batch.lastOffset + 1n);
      return;
    }
    this.batches.push(batch);
    this.size += batch.bytes.length;
    while (this.size > this.capacityBytes) this.evictOne();
  }

  /** Drops everything; the cache then covers only offsets >= `from`. */
  clear(from: bigint): void {
    this.batches = [];
    this.head = 0;
    this.size = 0;
    this.from = from;
  }

  /** Forgets batches entirely below `offset` (log start moved). */
  truncateBefore(offset: bigint): void {
    while (this.head < this.batches.length && this.batches[this.head]!.lastOffset < offset) this.evictOne();
    if (this.from < offset && this.count === 0) this.from = offset;
  }

  /**
   * Batches from the one containing `fetchOffset`, with base offset < maxOffset, within
   * maxBytes (at least one when minOneBatch). Undefined when the cache does not cover fetchOffset.
   */
  read(fetchOffset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch: boolean): Buffer[] | undefined {
    if (fetchOffset < this.from) return undefined;
    // Binary search: first batch with lastOffset >= fetchOffset.
    let lo = this.head;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    const out: Buffer[] = [];
    let total = 0;
    for (let i = lo; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.baseOffset >= maxOffset) break;
      if (total + b.bytes.length > maxBytes && !(out.length === 0 && minOneBatch)) break;
      out.push(b.bytes);
      total += b.bytes.length;
    }
    return out;
  }

  private evictOne(): void {
    const b = this.batches[this.head]!;
    this.size -= b.bytes.length;
    this.head++;
    this.from = this.head < this.batches.length ? this.batches[this.head]!.baseOffset : b.lastOffset + 1n;
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }
}
