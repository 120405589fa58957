import { createHash } from 'node:crypto';
import type { CompactionRecord } from '../../codec/records/compaction.js';

/**
 * What compaction keeps, decided without I/O (the cleaner feeds it batches read from MySQL).
 *
 * Pass 1 (DirtyScan) reads the dirty section [firstDirty, end) in offset order and builds the
 * key -> latest offset map, as Kafka's cleaner builds its offset map. Records of a transaction
 * enter the map only when its COMMIT marker is seen; an ABORT marker makes its data an aborted
 * range instead; a transaction still open at the end of the section is reported so the cleaner
 * stops before it (Kafka cleans only below the last stable offset). The map is bounded: when
 * it is full the section ends before the batch that would overflow it.
 *
 * Pass 2 (BatchDecider) goes over [logStart, end) in offset order and decides per batch, with
 * Kafka's rules:
 * - a record is kept when no later record of its key is in the map; records without a key are
 *   dropped (a compacted log cannot hold them);
 * - a tombstone (null value) still the latest of its key, and a COMMIT marker whose
 *   transaction has no data left, are dropped once delete.retention.ms has passed since a
 *   cleaning first covered them (firstCleanTime), never in the run that first cleans them;
 *   ABORT markers are kept (see decide);
 * - data of aborted transactions is dropped;
 * - the last batch of a producer in the section is kept, emptied if none of its records stay,
 *   so the producer's id, epoch and last sequence survive (Kafka's RETAIN_EMPTY).
 */

export type ControlType = 'commit' | 'abort' | null;

export interface BatchMeta {
  baseOffset: bigint;
  lastOffset: bigint;
  producerId: bigint;
  isTransactional: boolean;
  isControl: boolean;
  /** For a control batch: the marker's type (null for another control record type). */
  controlType?: ControlType;
}

/** Keys as map keys: short keys as they are, longer ones by their MD5 (as Kafka's offset map). */
export function mapKey(key: Buffer): string {
  return key.length <= 32 ? 'r' + key.toString('latin1') : 'h' + createHash('md5').update(key).digest().toString('latin1');
}

export interface DirtyScanResult {
  /** Latest offset of each key in the section (committed or non-transactional data only). */
  map: Map<string, bigint>;
  /** Per producer, [first data offset, marker offset) of its aborted transactions. */
  aborted: Map<bigint, Array<[bigint, bigint]>>;
  /** First offset of a transaction with no marker yet, or null. */
  openTransactionStart: bigint | null;
  /** Where the section really ends: before the batch that found the map full, or the end asked. */
  end: bigint | null;
  /** Records seen. */
  records: number;
}

interface OpenTransaction {
  first: bigint;
  keys: Array<[string, bigint]>;
}

export class DirtyScan {
  readonly map = new Map<string, bigint>();
  private readonly aborted = new Map<bigint, Array<[bigint, bigint]>>();
  private readonly open = new Map<bigint, OpenTransaction>();
  private buffered = 0;
  private full: bigint | null = null;
  private records = 0;

  constructor(private readonly maxKeys: number) {}

  /** True while the map has room; once it returns false the section ends before that batch. */
  add(batch: BatchMeta, records: readonly CompactionRecord[]): boolean {
    if (this.full !== null) return false;
    if (batch.isControl) {
      const txn = this.open.get(batch.producerId);
      if (batch.controlType === 'commit' || batch.controlType === 'abort') {
        if (txn) {
          this.open.delete(batch.producerId);
          this.buffered -= txn.keys.length;
          if (batch.controlType === 'commit') for (const [k, o] of txn.keys) this.map.set(k, o);
          else {
            let list = this.aborted.get(batch.producerId);
            if (!list) this.aborted.set(batch.producerId, (list = []));
            list.push([txn.first, batch.baseOffset]);
          }
        }
      }
      return true;
    }
    let fresh = 0;
    for (const r of records) if (r.key !== null) fresh++;
    // A batch whose keys might not fit ends the section (unless it is the first one).
    if (this.map.size + this.buffered + fresh > this.maxKeys && (this.map.size > 0 || this.buffered > 0)) {
      this.full = batch.baseOffset;
      return false;
    }
    this.records += records.length;
    if (batch.isTransactional) {
      let txn = this.open.get(batch.producerId);
      if (!txn) this.open.set(batch.producerId, (txn = { first: batch.baseOffset, keys: [] }));
      for (const r of records) {
        if (r.key === null) continue;
        txn.keys.push([mapKey(r.key), r.offset]);
        this.buffered++;
      }
      return true;
    }
    for (const r of records) if (r.key !== null) this.map.set(mapKey(r.key), r.offset);
    return true;
  }

  finish(): DirtyScanResult {
    let openStart: bigint | null = null;
    for (const t of this.open.values()) if (openStart === null || t.first < openStart) openStart = t.first;
    return { map: this.map, aborted: this.aborted, openTransactionStart: openStart, end: this.full, records: this.records };
  }
}

export interface DeciderOptions {
  map: Map<string, bigint>;
  aborted: Map<bigint, Array<[bigint, bigint]>>;
  /** Base offsets of the last batch of each producer in the section. */
  lastOfProducer: ReadonlySet<bigint>;
  /** When a cleaning first covered `offset` (ms), or null if this run is the first. */
  firstCleanTime(offset: bigint): bigint | null;
  now: bigint;
  deleteRetentionMs: bigint;
}

export type BatchAction = 'keep' | 'rewrite' | 'delete';

export interface BatchDecision {
  action: BatchAction;
  /** Per record: stays. */
  keep: boolean[];
  /** Records dropped, by reason. */
  superseded: number;
  tombstones: number;
  aborted: number;
  noKey: number;
}

export class BatchDecider {
  /** Per producer: data batches of its current transaction kept so far. */
  private readonly txnKept = new Map<bigint, number>();
  /** Earliest time a tombstone or marker kept by this run may be dropped (ms), or null. */
  nextDue: bigint | null = null;

  constructor(private readonly o: DeciderOptions) {}

  private horizonPassed(offset: bigint): boolean {
    const first = this.o.firstCleanTime(offset);
    const due = (first ?? this.o.now) + this.o.deleteRetentionMs;
    if (first !== null && due <= this.o.now) return true;
    if (this.nextDue === null || due < this.nextDue) this.nextDue = due;
    return false;
  }

  private isAborted(batch: BatchMeta): boolean {
    const ranges = this.o.aborted.get(batch.producerId);
    if (!ranges) return false;
    for (const [first, marker] of ranges) if (batch.baseOffset >= first && batch.baseOffset < marker) return true;
    return false;
  }

  decide(batch: BatchMeta, records: readonly CompactionRecord[]): BatchDecision {
    const d: BatchDecision = { action: 'keep', keep: new Array<boolean>(records.length).fill(true), superseded: 0, tombstones: 0, aborted: 0, noKey: 0 };
    const lastOfProducer = batch.producerId >= 0n && this.o.lastOfProducer.has(batch.baseOffset);
    if (records.length === 0) {
      // An empty batch (left by an earlier run) stays only while it is its producer's last.
      if (batch.isControl) this.txnKept.delete(batch.producerId);
      d.action = lastOfProducer ? 'keep' : 'delete';
      return d;
    }
    if (batch.isControl) {
      const kept = this.txnKept.get(batch.producerId) ?? 0;
      this.txnKept.delete(batch.producerId);
      // A COMMIT marker goes once its transaction has no data left and its delete horizon
      // passed. ABORT markers stay: read_committed fetches list aborted transactions from the
      // partition's aborted-transaction rows, and a consumer skips that producer's batches until
      // it reads the ABORT marker, so the marker must outlive those rows (which are kept).
      if (kept === 0 && batch.controlType === 'commit' && this.horizonPassed(batch.baseOffset)) {
        d.keep.fill(false);
        d.tombstones = records.length;
        d.action = lastOfProducer ? 'rewrite' : 'delete';
      }
      return d;
    }
    const aborted = batch.isTransactional && this.isAborted(batch);
    let kept = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      let keep = true;
      if (aborted) {
        keep = false;
        d.aborted++;
      } else if (r.key === null) {
        keep = false;
        d.noKey++;
      } else {
        const latest = this.o.map.get(mapKey(r.key));
        if (latest !== undefined && r.offset < latest) {
          keep = false;
          d.superseded++;
        } else if (r.tombstone && this.horizonPassed(r.offset)) {
          keep = false;
          d.tombstones++;
        }
      }
      d.keep[i] = keep;
      if (keep) kept++;
    }
    if (batch.isTransactional && kept > 0) this.txnKept.set(batch.producerId, (this.txnKept.get(batch.producerId) ?? 0) + 1);
    if (kept === records.length) d.action = 'keep';
    else if (kept > 0 || lastOfProducer) d.action = 'rewrite';
    else d.action = 'delete';
    return d;
  }
}

/**
 * When cleanings first covered each offset: marks [end offset, time] in increasing order, one
 * per finished run (bounded: the oldest are merged, which only makes times later, so a
 * tombstone is never dropped early).
 */
export function firstCleanTimeOf(marks: ReadonlyArray<readonly [bigint, bigint]>, offset: bigint): bigint | null {
  for (const [end, time] of marks) if (offset < end) return time;
  return null;
}

export function addMark(marks: ReadonlyArray<readonly [bigint, bigint]>, end: bigint, time: bigint, max = 64): Array<[bigint, bigint]> {
  const out = marks.map(([e, t]): [bigint, bigint] => [e, t]);
  // A run that got no further adds nothing: re-marking would postpone its tombstones.
  if (out.length > 0 && out[out.length - 1]![0] >= end) return out;
  out.push([end, time]);
  while (out.length > max) {
    // Merge the two oldest into the later one (conservative).
    out.splice(0, 2, out[1]!);
  }
  return out;
}
