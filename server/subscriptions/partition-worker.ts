/**
 * One leased partition of one push subscription (docs/subscriptions.md): a window of records read
 * from the committed offset on, the ordering rule deciding which may be sent now (per partition:
 * only the first unfinished one; per key: the first unfinished one of its key; none: any), the
 * `after:` rule (the named subscription has delivered the record), re-pushed records below the
 * committed offset, and the fenced progress write (storage/subscriptions/store.ts commitProgress):
 * the committed offset is the first unfinished record; records finished above it, waiting for a
 * retry, or dead-lettered are written as rows, so a new owner resumes exactly there.
 */
import { readBatchInfo } from '../../codec/records/batch-header.js';
import { decodeBatchRecords, type KafkaRecord } from '../../codec/records/records.js';
import type { RecordStateRow, SubscriptionStore } from '../../storage/subscriptions/store.js';
import type { PartitionLog, TopicRecord } from '../../storage/types.js';
import type { SubscriptionSpec } from './definition.js';

export interface Task {
  offset: bigint;
  record: KafkaRecord;
  /** Ordering key (latin1 of the key bytes); null: no key. */
  key: string | null;
  state: 'waiting' | 'inflight' | 'done';
  outcome: 'delivered' | 'dead' | 'skipped' | null;
  attempts: number;
  firstMs: number | null;
  nextMs: number;
  lastStatus: number | null;
  lastError: string | null;
  /** Re-pushed below the committed offset. */
  extra: boolean;
  /** A row exists for it in subscription_records. */
  hadRow: boolean;
  /** Its state changed since the last progress write. */
  dirty: boolean;
  /** Bumped with every change of state (a change during a write keeps it dirty). */
  rev: number;
}

/** A record the `after:` subscription dead-lettered: this one dead-letters it too. */
export const DEPENDENCY_DEAD = Symbol('dependency-dead');

export class PartitionWorker {
  /** Unfinished and recently finished records from the committed offset on, in offset order. */
  private window: Task[] = [];
  /** Index in the window of the first record not done (every one before it is done). */
  private scan = 0;
  /** Records waiting for a retry time (timers need the earliest only when there are some). */
  private waitingRetry = 0;
  private readonly byKey = new Map<string, Task[]>();
  private readonly extras = new Map<bigint, Task>();
  /** States read with the lease for offsets at or above the committed offset. */
  private known = new Map<bigint, RecordStateRow>();
  readPos: bigint;
  lost = false;
  private dep: { committed: bigint; states: Map<bigint, string>; at: number; from: bigint } | null = null;
  private extrasAt = 0;
  private trimmedAt = 0;
  unsubscribe: (() => void) | null = null;

  constructor(
    readonly topic: TopicRecord,
    readonly partition: number,
    readonly epoch: number,
    public committed: bigint,
    private readonly name: string,
    private readonly spec: SubscriptionSpec,
    private readonly store: SubscriptionStore,
    private readonly owner: string,
  ) {
    this.readPos = committed;
  }

  async init(): Promise<void> {
    for (const row of await this.store.recordStates(this.name, this.topic.topicId, this.partition, this.committed)) this.known.set(row.offset, row);
  }

  windowSize(): number {
    return this.window.length;
  }

  retrying(): number {
    let n = 0;
    for (let i = this.scan; i < this.window.length; i++) if (this.window[i]!.state === 'waiting' && this.window[i]!.attempts > 0) n++;
    for (const t of this.extras.values()) if (t.state === 'waiting' && t.attempts > 0) n++;
    return n;
  }

  /** Reads more records into the window while it has fewer than `max` unfinished ones. */
  async fill(log: PartitionLog, readCommitted: (from: bigint, maxBytes: number) => Promise<{ records: KafkaRecord[]; next: bigint }>, max: number): Promise<boolean> {
    if (this.window.length >= max) return false;
    if (this.readPos < log.logStartOffset()) this.readPos = log.logStartOffset();
    const { records, next } = await readCommitted(this.readPos, 1 << 20);
    let added = false;
    for (const r of records) {
      if (r.offset < this.readPos) continue;
      this.add(r);
      added = true;
    }
    if (next > this.readPos) this.readPos = next;
    return added;
  }

  private add(r: KafkaRecord): void {
    const row = this.known.get(r.offset);
    this.known.delete(r.offset);
    const t: Task = {
      offset: r.offset,
      record: r,
      key: r.key === null ? null : r.key.toString('latin1'),
      state: 'waiting',
      outcome: null,
      attempts: 0,
      firstMs: null,
      nextMs: 0,
      lastStatus: null,
      lastError: null,
      extra: false,
      hadRow: row !== undefined,
      dirty: false,
      rev: 0,
    };
    if (row !== undefined && row.state !== 'pending') {
      t.state = 'done';
      t.outcome = row.state === 'dead' ? 'dead' : 'delivered';
    } else if (row !== undefined) {
      t.attempts = row.attempts;
      t.firstMs = row.firstMs;
      t.nextMs = row.nextMs;
      t.lastStatus = row.lastStatus;
      t.lastError = row.lastError;
      if (t.nextMs > 0) this.waitingRetry++;
    } else if (!matches(this.spec, r)) {
      t.state = 'done';
      t.outcome = 'skipped';
    }
    this.window.push(t);
    if (t.state !== 'done' && t.key !== null && this.spec.ordering === 'key') {
      let q = this.byKey.get(t.key);
      if (q === undefined) this.byKey.set(t.key, (q = []));
      q.push(t);
    }
  }

  /** Re-pushed records below the committed offset, read from MySQL at most every `everyMs`. */
  async loadExtras(log: PartitionLog, readAt: (offset: bigint) => Promise<KafkaRecord | null>, now: number, everyMs: number, max: number): Promise<void> {
    if (now - this.extrasAt < everyMs || this.extras.size >= max) return;
    this.extrasAt = now;
    const rows = await this.store.pendingBelow(this.name, this.topic.topicId, this.partition, this.committed, max);
    for (const row of rows) {
      if (this.extras.has(row.offset)) continue;
      const record = row.offset < log.logStartOffset() ? null : await readAt(row.offset);
      const t: Task = {
        offset: row.offset,
        record: record ?? { offset: row.offset, timestamp: 0n, key: null, value: null, headers: [] },
        key: null,
        state: 'waiting',
        outcome: null,
        attempts: row.attempts,
        firstMs: row.firstMs,
        nextMs: row.nextMs,
        lastStatus: row.lastStatus,
        lastError: row.lastError,
        extra: true,
        hadRow: true,
        dirty: false,
        rev: 0,
      };
      if (t.nextMs > 0) this.waitingRetry++;
      // Gone (retention, a transaction marker, an aborted record) or filtered out: nothing to send.
      if (record === null || !matches(this.spec, record)) {
        t.state = 'done';
        t.outcome = 'skipped';
        t.dirty = true;
      }
      this.extras.set(row.offset, t);
    }
  }

  /** Refreshes the `after:` subscription's view of this partition (at most every `everyMs`). */
  async refreshDependency(now: number, everyMs: number): Promise<void> {
    if (this.spec.after === null || (this.dep !== null && now - this.dep.at < everyMs)) return;
    let from = this.readPos;
    for (const t of this.window) if (t.state !== 'done' && t.offset < from) from = t.offset;
    for (const t of this.extras.values()) if (t.offset < from) from = t.offset;
    const view = await this.store.dependencyView(this.spec.after, this.topic.topicId, this.partition, from, this.readPos + 1n);
    this.dep = { committed: view.committed, states: new Map(view.states.map((s) => [s.offset, s.state])), at: now, from };
  }

  /** Whether the `after:` subscription delivered the record: true, false (wait), or DEPENDENCY_DEAD. */
  private dependency(t: Task): boolean | typeof DEPENDENCY_DEAD {
    if (this.spec.after === null) return true;
    if (this.dep === null || t.offset < this.dep.from) return false;
    const s = this.dep.states.get(t.offset);
    if (s === 'delivered') return true;
    if (s === 'dead') return DEPENDENCY_DEAD;
    if (s === 'pending') return false;
    return t.offset < this.dep.committed;
  }

  /**
   * The next record that may be sent now, or a record to dead-letter at once because its `after:`
   * subscription dead-lettered it. Null when none.
   */
  next(now: number, dependencyGone: boolean): { task: Task; dependencyDead: boolean } | null {
    for (const t of this.extras.values()) {
      if (t.state !== 'waiting' || t.nextMs > now) continue;
      const d = dependencyGone ? true : this.dependency(t);
      if (d === DEPENDENCY_DEAD) return { task: t, dependencyDead: true };
      if (d) return { task: t, dependencyDead: false };
    }
    while (this.scan < this.window.length && this.window[this.scan]!.state === 'done') this.scan++;
    for (let i = this.scan; i < this.window.length; i++) {
      const t = this.window[i]!;
      if (t.state === 'done') continue;
      if (this.spec.ordering === 'partition') {
        // Only the first unfinished record may go; it is in flight or waiting for its retry time.
        if (t.state !== 'waiting' || t.nextMs > now) return null;
      } else {
        if (t.state !== 'waiting' || t.nextMs > now) continue;
        if (this.spec.ordering === 'key' && t.key !== null && this.byKey.get(t.key)?.[0] !== t) continue;
      }
      const d = dependencyGone ? true : this.dependency(t);
      if (d === DEPENDENCY_DEAD) return { task: t, dependencyDead: true };
      if (d) return { task: t, dependencyDead: false };
      if (this.spec.ordering === 'partition') return null;
    }
    return null;
  }

  /** The earliest retry time of a waiting record (timers). */
  nextRetryAt(now: number): number | null {
    if (this.waitingRetry === 0) return null;
    let at: number | null = null;
    let waiting = 0;
    const visit = (t: Task) => {
      if (t.state !== 'waiting' || t.nextMs <= now) return;
      waiting++;
      if (at === null || t.nextMs < at) at = t.nextMs;
    };
    for (let i = this.scan; i < this.window.length; i++) visit(this.window[i]!);
    for (const t of this.extras.values()) visit(t);
    this.waitingRetry = waiting;
    return at;
  }

  /** A record now waits for its retry time. */
  retryScheduled(): void {
    this.waitingRetry++;
  }

  finish(t: Task, outcome: 'delivered' | 'dead'): void {
    t.state = 'done';
    t.outcome = outcome;
    t.dirty = true;
    t.rev++;
    if (t.key !== null && this.spec.ordering === 'key' && !t.extra) {
      const q = this.byKey.get(t.key);
      if (q !== undefined) {
        const i = q.indexOf(t);
        if (i >= 0) q.splice(i, 1);
        if (q.length === 0) this.byKey.delete(t.key);
      }
    }
  }

  /** The first unfinished offset of the main flow: what may be committed. */
  private committable(): bigint {
    for (let i = this.scan; i < this.window.length; i++) if (this.window[i]!.state !== 'done') return this.window[i]!.offset;
    return this.readPos;
  }

  /** Writes progress (fenced by the lease epoch); false when the lease was lost. */
  async flush(): Promise<boolean> {
    const committed = this.committable();
    const states: (Omit<RecordStateRow, 'updatedMs'> & { remove?: boolean })[] = [];
    const row = (t: Task, state: RecordStateRow['state'], remove = false) =>
      states.push({ offset: t.offset, state, attempts: t.attempts, firstMs: t.firstMs, nextMs: t.nextMs, lastStatus: t.lastStatus, lastError: t.lastError, remove });
    const written: { t: Task; rev: number }[] = [];
    for (const t of [...this.window, ...this.extras.values()]) {
      if (!t.dirty) continue;
      written.push({ t, rev: t.rev });
      if (t.state !== 'done') row(t, 'pending');
      else if (t.outcome === 'dead') row(t, 'dead');
      else if (t.extra) row(t, 'delivered', true);
      else if (t.hadRow || t.offset >= committed) row(t, 'delivered');
    }
    if (committed === this.committed && states.length === 0) return true;
    const ok = await this.store.commitProgress(this.name, this.topic.topicId, this.partition, this.owner, this.epoch, committed, states);
    if (!ok) {
      this.lost = true;
      return false;
    }
    for (const { t, rev } of written) {
      // A task that changed while the write was in flight stays dirty for the next one.
      if (t.rev === rev && t.state !== 'inflight') t.dirty = false;
      t.hadRow = true;
    }
    this.committed = committed;
    let drop = 0;
    while (drop < this.window.length && this.window[drop]!.state === 'done' && this.window[drop]!.offset < committed && !this.window[drop]!.dirty) drop++;
    if (drop > 0) {
      this.window = this.window.slice(drop);
      this.scan = Math.max(0, this.scan - drop);
    }
    for (const [o, t] of this.extras) if (t.state === 'done' && !t.dirty) this.extras.delete(o);
    return true;
  }

  /** Deletes attempts and record rows below the log start (the topic's retention), at most every `everyMs`. */
  async trim(logStart: bigint, now: number, everyMs: number): Promise<void> {
    if (now - this.trimmedAt < everyMs) return;
    this.trimmedAt = now;
    await this.store.trim(this.name, this.topic.topicId, this.partition, logStart);
  }
}

/** Whether a record passes the subscription's filter (header name and value, key prefix). */
export function matches(spec: SubscriptionSpec, r: KafkaRecord): boolean {
  const f = spec.filter;
  if (f === null) return true;
  if (f.keyPrefix !== null && (r.key === null || !r.key.subarray(0, Buffer.byteLength(f.keyPrefix)).equals(Buffer.from(f.keyPrefix, 'utf8')))) return false;
  if (f.headerName !== null) {
    const h = r.headers.find((x) => x.key === f.headerName);
    if (h === undefined) return false;
    if (f.headerValue !== null && (h.value?.toString('utf8') ?? null) !== f.headerValue) return false;
  }
  return true;
}

/** Committed records of a partition from `from`, without control batches and aborted transactions' records. */
export async function readCommittedRecords(log: PartitionLog, from: bigint, maxBytes: number, follower: boolean): Promise<{ records: KafkaRecord[]; next: bigint }> {
  let batches: Buffer[];
  let stable: bigint;
  let aborted: { producerId: bigint; firstOffset: bigint; lastOffset?: bigint }[];
  if (follower && log.readAsFollower) {
    const r = await log.readAsFollower(from, maxBytes, true);
    batches = r.batches;
    stable = r.lastStableOffset;
    aborted = log.abortedFromStorage ? await log.abortedFromStorage(from, stable) : [];
  } else {
    stable = log.lastStableOffset();
    if (from >= stable) return { records: [], next: from };
    batches = (await log.read(from, maxBytes, { maxOffset: stable, minOneBatch: true })).batches;
    aborted = log.abortedTransactions(from, stable);
  }
  const records: KafkaRecord[] = [];
  let next = from;
  for (const batch of batches) {
    const info = readBatchInfo(batch, 0);
    const last = info.baseOffset + BigInt(info.lastOffsetDelta);
    if (info.baseOffset >= stable) break;
    const skip =
      info.isControl ||
      (info.isTransactional && aborted.some((a) => a.producerId === info.producerId && info.baseOffset >= a.firstOffset && (a.lastOffset === undefined || info.baseOffset <= a.lastOffset)));
    if (!skip) for (const r of decodeBatchRecords(batch)) if (r.offset >= from) records.push(r);
    if (last + 1n > next) next = last + 1n;
  }
  return { records, next };
}
