import type { BatchInfo } from '../codec/records/batch-header.js';
import { KafkaError } from '../codec/error-codes.js';

/**
 * Per-partition producer state of idempotent and transactional producers, as Kafka 3.9's
 * ProducerStateManager keeps it: per producer id the epoch, the metadata of its last five
 * batches (for duplicates) and the first offset of its open transaction (for the last stable
 * offset). Pure logic, no I/O: the group-commit transaction checks each batch against the
 * committed state plus the tentative changes of the transactions in flight before it
 * (ProducerOverlay), and applies the changes when it commits. The state is rebuilt from the
 * log rows' producer columns when a partition loads (producer-state-load.ts).
 */

/** Batches remembered per producer for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_TO_RETAIN = 5;
const INT32_MAX = 0x7fffffff;

export interface BatchMeta {
  firstSeq: number;
  lastSeq: number;
  firstOffset: bigint;
  lastOffset: bigint;
}

export interface ProducerEntry {
  readonly producerId: bigint;
  /** -1 before anything was written (Kafka's NO_PRODUCER_EPOCH). */
  readonly epoch: number;
  /** The last batches of this epoch, oldest first, at most BATCHES_TO_RETAIN. */
  readonly batches: readonly BatchMeta[];
  /** Max timestamp of the last batch (expiry, DescribeProducers). */
  readonly lastTimestamp: bigint;
  readonly coordinatorEpoch: number;
  /** First offset of the open transaction, -1 when none. */
  readonly txnFirstOffset: bigint;
}

/** A transaction aborted in this partition: its records lie in [firstOffset, lastOffset (the marker)]. */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
}

/** End-of-transaction marker written by the transaction coordinator (AppendOptions.marker). */
export interface MarkerInfo {
  commit: boolean;
  coordinatorEpoch: number;
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from INT32_MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** Tentative producer changes of one group-commit transaction for one partition, over those before it. */
export class ProducerOverlay {
  readonly entries = new Map<bigint, ProducerEntry>();
  readonly aborted: AbortedTxn[] = [];
  /** Applied to the committed state: lookups stop here (and the chain is cut, so it stays short). */
  private settled = false;
  constructor(
    private parent: ProducerOverlay | undefined,
    private readonly committed: PartitionProducerState,
  ) {}

  get(producerId: bigint): ProducerEntry | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    for (let o: ProducerOverlay | undefined = this; o && !o.settled; o = o.parent) {
      const e = o.entries.get(producerId);
      if (e) return e;
    }
    return this.committed.get(producerId);
  }

  /** Called once the committed state holds these changes. */
  settle(): void {
    this.settled = true;
    this.parent = undefined;
  }
}

export type BatchCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; meta: BatchMeta }
  | { kind: 'error'; error: KafkaError };

const APPEND: BatchCheck = { kind: 'append' };

/**
 * Checks one batch against the producer's entry as Kafka's ProducerAppendInfo does (before
 * offsets are assigned). Batches without a producer id are not checked.
 */
export function checkBatch(entry: ProducerEntry | undefined, b: BatchInfo, marker: MarkerInfo | undefined): BatchCheck {
  if (b.isControl) {
    if (!marker) return { kind: 'error', error: KafkaError.of('INVALID_RECORD', 'clients may not write control batches') };
    if (entry && b.producerEpoch < entry.epoch) {
      return { kind: 'error', error: KafkaError.of('PRODUCER_FENCED', `marker epoch ${b.producerEpoch} is older than the producer's epoch ${entry.epoch}`) };
    }
    if (entry && marker.coordinatorEpoch < entry.coordinatorEpoch) {
      return { kind: 'error', error: KafkaError.of('TRANSACTION_COORDINATOR_FENCED', 'marker from an older coordinator epoch') };
    }
    return APPEND;
  }
  if (b.producerId < 0n) return APPEND;
  if (b.baseSequence < 0) return { kind: 'error', error: KafkaError.of('INVALID_RECORD', `invalid sequence number ${b.baseSequence} of an idempotent batch`) };
  const lastSeq = incrementSequence(b.baseSequence, b.lastOffsetDelta);
  if (entry && entry.epoch === b.producerEpoch) {
    for (const m of entry.batches) if (m.firstSeq === b.baseSequence && m.lastSeq === lastSeq) return { kind: 'duplicate', meta: m };
  }
  if (entry && b.producerEpoch < entry.epoch) {
    return { kind: 'error', error: KafkaError.of('INVALID_PRODUCER_EPOCH', `epoch ${b.producerEpoch} is older than the producer's epoch ${entry.epoch}`) };
  }
  if (entry && entry.epoch >= 0) {
    if (b.producerEpoch !== entry.epoch) {
      if (b.baseSequence !== 0) {
        return { kind: 'error', error: KafkaError.of('OUT_OF_ORDER_SEQUENCE_NUMBER', `sequence ${b.baseSequence} for the new epoch ${b.producerEpoch} (expected 0)`) };
      }
    } else {
      const last = entry.batches.length > 0 ? entry.batches[entry.batches.length - 1]!.lastSeq : -1;
      if (!inSequence(last, b.baseSequence)) {
        return { kind: 'error', error: KafkaError.of('OUT_OF_ORDER_SEQUENCE_NUMBER', `sequence ${b.baseSequence} after ${last}`) };
      }
    }
  }
  // As Kafka: an unknown producer (never seen, or expired) may start at any sequence.
  if (!b.isTransactional && entry && entry.txnFirstOffset >= 0n) {
    return { kind: 'error', error: KafkaError.of('INVALID_TXN_STATE', 'non-transactional write while the producer has an open transaction') };
  }
  return APPEND;
}

/** The entry after appending a data batch at [firstOffset, lastOffset]. */
export function appendBatch(entry: ProducerEntry | undefined, b: BatchInfo, firstOffset: bigint, lastOffset: bigint): ProducerEntry {
  const sameEpoch = entry !== undefined && entry.epoch === b.producerEpoch;
  const kept = sameEpoch ? entry.batches.slice(entry.batches.length >= BATCHES_TO_RETAIN ? 1 : 0) : [];
  kept.push({ firstSeq: b.baseSequence, lastSeq: incrementSequence(b.baseSequence, b.lastOffsetDelta), firstOffset, lastOffset });
  const txn = entry?.txnFirstOffset ?? -1n;
  return {
    producerId: b.producerId,
    epoch: b.producerEpoch,
    batches: kept,
    lastTimestamp: b.maxTimestamp,
    coordinatorEpoch: entry?.coordinatorEpoch ?? -1,
    txnFirstOffset: b.isTransactional && txn < 0n ? firstOffset : txn,
  };
}

/** The entry after a marker at `offset`; `aborted` gets the transaction it aborted, if any. */
export function appendMarker(
  entry: ProducerEntry | undefined,
  b: BatchInfo,
  marker: MarkerInfo,
  offset: bigint,
  aborted: AbortedTxn[] | undefined,
): ProducerEntry {
  const txn = entry?.txnFirstOffset ?? -1n;
  if (!marker.commit && txn >= 0n && aborted) aborted.push({ producerId: b.producerId, firstOffset: txn, lastOffset: offset });
  const sameEpoch = entry !== undefined && entry.epoch === b.producerEpoch;
  return {
    producerId: b.producerId,
    epoch: b.producerEpoch,
    batches: sameEpoch ? entry.batches : [],
    lastTimestamp: b.maxTimestamp,
    coordinatorEpoch: marker.coordinatorEpoch,
    txnFirstOffset: -1n,
  };
}

/** A partition's committed producer state, its open transactions and aborted transactions. */
export class PartitionProducerState {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Aborted transactions ordered by lastOffset (the marker offset). */
  private aborted: AbortedTxn[] = [];

  get(producerId: bigint): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  get size(): number {
    return this.producers.size;
  }

  /** Applies a committed transaction's changes. */
  apply(overlay: ProducerOverlay): void {
    for (const [id, e] of overlay.entries) this.producers.set(id, e);
    for (const a of overlay.aborted) this.aborted.push(a);
    overlay.settle();
  }

  set(entry: ProducerEntry): void {
    this.producers.set(entry.producerId, entry);
  }

  /** Takes `other`'s producers and aborted transactions (a reload: rows were committed without this state's knowing). */
  replaceWith(other: PartitionProducerState): void {
    this.producers.clear();
    for (const e of other.producers.values()) this.producers.set(e.producerId, e);
    this.aborted = [...other.aborted];
  }

  addAborted(list: readonly AbortedTxn[]): void {
    for (const a of list) this.aborted.push(a);
    this.aborted.sort((x, y) => (x.lastOffset < y.lastOffset ? -1 : x.lastOffset > y.lastOffset ? 1 : 0));
  }

  /** First offset of the earliest open transaction, or null when none is open. */
  firstUnstableOffset(): bigint | null {
    let min: bigint | null = null;
    for (const e of this.producers.values()) if (e.txnFirstOffset >= 0n && (min === null || e.txnFirstOffset < min)) min = e.txnFirstOffset;
    return min;
  }

  /** Aborted transactions overlapping [from, to): the list Fetch gives read_committed consumers. */
  abortedBetween(from: bigint, to: bigint): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    // Ordered by lastOffset: skip those ending before `from` by binary search.
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < to) out.push(a);
    }
    return out;
  }

  /** Forgets aborted transactions wholly below the log start. */
  truncateBefore(logStart: bigint): void {
    let n = 0;
    while (n < this.aborted.length && this.aborted[n]!.lastOffset < logStart) n++;
    if (n > 0) this.aborted = this.aborted.slice(n);
  }

  /**
   * Removes producers idle for `expirationMs` (by their last batch's timestamp, as Kafka) and
   * without an open transaction; returns how many.
   */
  expire(nowMs: bigint, expirationMs: bigint): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (e.txnFirstOffset < 0n && nowMs - e.lastTimestamp >= expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }
}
