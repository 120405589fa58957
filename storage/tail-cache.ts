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

interface Entry {
  /** Replaced by an empty batch once evicted, so nothing queued pins the buffer. */
  batch: CachedBatch;
  size: number;
  /** The budget's reference to the owner; dropped on eviction so a dead entry pins nothing. */
  owner: TailCache | null;
  live: boolean;
}

/**
 * One byte budget shared by the tail caches of all partitions, so memory stays bounded however
 * many partitions there are: when the caches together exceed it, the batches cached longest
 * ago (across all partitions) are evicted first. Each cache still keeps its own per-partition cap.
 */
export class TailCacheBudget {
  private queue: Entry[] = [];
  private head = 0;
  private used = 0;
  private live = 0;
  private ahead = 0;

  constructor(readonly capacityBytes: number) {}

  /** Bytes held by the tail caches and by read-aheads. */
  get bytes(): number {
    return this.used + this.ahead;
  }

  /**
   * Reserves `n` bytes for a read-ahead (partition-log.ts): the oldest cached batches are
   * evicted to make room. Refused (false) when read-aheads would hold more than half the budget.
   */
  reserveAhead(n: number): boolean {
    if (this.ahead + n > this.capacityBytes / 2) return false;
    this.ahead += n;
    this.evict();
    return true;
  }

  /** Returns bytes reserved by reserveAhead. */
  releaseAhead(n: number): void {
    this.ahead -= n;
  }

  private evict(): void {
    while (this.used + this.ahead > this.capacityBytes && this.head < this.queue.length) {
      const oldest = this.queue[this.head]!;
      this.queue[this.head++] = DEAD;
      if (oldest.live) oldest.owner!.evictOldest();
    }
  }

  /** @internal */
  added(e: Entry): void {
    this.queue.push(e);
    this.used += e.size;
    this.live++;
    this.evict();
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // Entries evicted by their own cache stay queued (holding no buffer) until reached; drop
    // them when they dominate.
    if (this.queue.length - this.head > 2 * this.live + 256) {
      this.queue = this.queue.slice(this.head).filter((x) => x.live);
      this.head = 0;
    }
  }

  /** @internal */
  removed(e: Entry): void {
    this.used -= e.size;
    this.live--;
  }
}

const EVICTED: CachedBatch = { baseOffset: -1n, lastOffset: -1n, bytes: Buffer.alloc(0) };
const DEAD: Entry = { batch: EVICTED, size: 0, owner: null, live: false };

export class TailCache {
  private batches: Entry[] = [];
  private head = 0;
  private size = 0;
  private from: bigint;

  constructor(
    private readonly capacityBytes: number,
    /** Offset from which the cache is complete: the high watermark when the log is loaded. */
    start: bigint,
    /** Shared budget of all partitions' caches (optional). */
    private readonly budget?: TailCacheBudget,
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
    const entry: Entry = { batch, size: batch.bytes.length, owner: this, live: true };
    this.batches.push(entry);
    this.size += batch.bytes.length;
    while (this.size > this.capacityBytes) this.evictOne();
    this.budget?.added(entry);
  }

  /** Drops everything; the cache then covers only offsets >= `from`. */
  clear(from: bigint): void {
    for (let i = this.head; i < this.batches.length; i++) this.release(this.batches[i]!);
    this.batches = [];
    this.head = 0;
    this.size = 0;
    this.from = from;
  }

  /** Forgets batches entirely below `offset` (log start moved). */
  truncateBefore(offset: bigint): void {
    while (this.head < this.batches.length && this.batches[this.head]!.batch.lastOffset < offset) this.evictOne();
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
      if (this.batches[mid]!.batch.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    const out: Buffer[] = [];
    let total = 0;
    for (let i = lo; i < this.batches.length; i++) {
      const b = this.batches[i]!.batch;
      if (b.baseOffset >= maxOffset) break;
      if (total + b.bytes.length > maxBytes && !(out.length === 0 && minOneBatch)) break;
      out.push(b.bytes);
      total += b.bytes.length;
    }
    return out;
  }

  /** Evicts this cache's oldest batch (the shared budget's way of making room). */
  evictOldest(): void {
    if (this.head < this.batches.length) this.evictOne();
  }

  private release(e: Entry): void {
    if (!e.live) return;
    e.live = false;
    e.owner = null;
    e.batch = EVICTED;
    this.budget?.removed(e);
  }

  private evictOne(): void {
    const e = this.batches[this.head]!;
    const b = e.batch;
    this.release(e);
    this.size -= b.bytes.length;
    // Evicted slots below head are kept until the array is compacted: they must not pin buffers.
    this.batches[this.head] = DEAD;
    this.head++;
    this.from = this.head < this.batches.length ? this.batches[this.head]!.batch.baseOffset : b.lastOffset + 1n;
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }
}
