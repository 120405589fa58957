import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import type { BatchInfo } from '../codec/records/batch-header.js';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import type { CommitTarget, GroupCommitter } from './group-commit.js';
import type { ConfirmTarget } from './replication/semi-sync.js';
import { quoteIdent } from './mysql.js';
import { queryMaxTimestamp, queryOffsetForTimestamp, readNextOffset, type LogTableRange } from './log-table-queries.js';
import { readAbortedTransactions, readFollowerView } from './follower-view.js';
import { PartitionProducerState, type AbortedTxn, type ProducerEntry, type ProducerOverlay } from './producer-state.js';
import { loadProducerState } from './producer-state-load.js';
import { TailCache, type CachedBatch, type TailCacheBudget } from './tail-cache.js';
import type { AppendOptions, AppendResult, OffsetAndTimestamp, ReadOptions, ReadResult, TruncatablePartitionLog } from './types.js';

/**
 * One partition's log on its shard's log table. The log end (next offset) and the high
 * watermark live in memory, the end recovered from MAX(last_offset) when the log is loaded.
 * On a shard without replicas (or left without any by a failover) they are equal. On a shard
 * with replicas the high watermark stays at what a replica is known to have
 * (storage/replication/semi-sync.ts) until a confirmation covers the end: after a commit, and
 * after a load or reload, whose end may hold commits no replica confirmed. Appends go through the shard's GroupCommitter; reads
 * come from the tail cache when it covers the fetch offset, else from MySQL.
 */

/** Rows examined per MySQL read (a fetch returning fewer bytes than asked is normal). */
const READ_ROW_LIMIT = 1000;

export interface PartitionLogDeps {
  topicId: string;
  partition: number;
  shard: number;
  table: string;
  pool: Pool;
  /** Pools to the shard's replicas: reads fall back to them while the primary does not answer. */
  replicaPools?: () => Pool[];
  committer: GroupCommitter;
  /** Largest batch the shard accepts in one statement (max_allowed_packet minus headroom). */
  maxBatchBytes: number;
  tailCacheBytes: number;
  /** Byte budget shared by all partitions' tail caches. */
  tailCacheBudget?: TailCacheBudget;
  logStartOffset: bigint;
  nextOffset: bigint;
  /**
   * Shard with replicas: the high watermark at load, what a replica is known to have (at most
   * nextOffset); the end waits for awaitConfirmation. Absent: nextOffset.
   */
  highWatermark?: bigint;
  /**
   * Shard with replicas: an end read from the primary (reload, follower read) moves `target`
   * only once a replica confirmed it (SemiSyncMonitor.awaitConfirmation).
   */
  awaitConfirmation?(target: ConfirmTarget, end: bigint): void;
  /** Producer state rebuilt from the log rows (producer-state-load.ts); empty when absent. */
  producerState?: PartitionProducerState;
  /** producer.id.expiration.ms, for rebuilding the producer state on a reload (Kafka's default, 1 day, when absent). */
  producerIdExpirationMs?: number;
  /** Persists a new log start offset (metadata DB). */
  saveLogStartOffset(offset: bigint): Promise<void>;
  /**
   * Reads the persisted log start offset (metadata DB). Used when a read finds rows missing
   * below the high watermark: another process (the retention CLI) deleted them.
   */
  loadLogStartOffset?(): Promise<bigint>;
}

/** A read started ahead of the reader (see MysqlPartitionLog.startReadAhead). */
export interface FollowerReadResult {
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  batches: Buffer[];
  bytes: number;
}

interface ReadAhead {
  offset: bigint;
  maxBytes: number;
  limit: bigint;
  minOneBatch: boolean;
  epoch: number;
  /** The read's result, or null when it failed or was invalidated (the reader reads again). */
  result: Promise<ReadResult | null>;
  release(): void;
}

/** True when the batches are laid end to end from position 0 to `length`. */
function contiguous(batches: BatchInfo[], length: number): boolean {
  let pos = 0;
  for (const b of batches) {
    if (b.position !== pos) return false;
    pos += b.size;
  }
  return pos === length;
}

export class MysqlPartitionLog implements TruncatablePartitionLog, CommitTarget {
  readonly topicId: string;
  readonly partition: number;
  readonly shard: number;
  readonly table: string;
  readonly producerState: PartitionProducerState;
  private hw: bigint;
  /** Log end: next offset to assign (= hw unless commits await a replica's confirmation). */
  private end: bigint;
  private logStart: bigint;
  private readonly cache: TailCache;
  private readonly listeners = new Set<() => void>();
  private reloadNeeded = false;
  private deleted = false;
  private readonly quotedTable: string;
  private cachedReadSql: string | undefined;
  /** The one read-ahead of this partition (see startReadAhead), or null. */
  private ahead: ReadAhead | null = null;
  /** Bumped whenever rows a read-ahead may hold could stop being what a direct read returns. */
  private readEpoch = 0;
  /** Where the last MySQL read of this partition ended (its last batch's last offset + 1). */
  private lastReadEnd = -1n;
  /** A follower's copy (readAsFollower): the end a replica confirmed, and the last end awaited. */
  private followerConfirmed = 0n;
  private followerAwaited = -1n;
  private readonly followerTarget: ConfirmTarget = {
    confirmUpTo: (offset) => {
      if (offset > this.followerConfirmed) this.followerConfirmed = offset;
    },
  };

  constructor(private readonly deps: PartitionLogDeps) {
    this.topicId = deps.topicId;
    this.partition = deps.partition;
    this.shard = deps.shard;
    this.table = deps.table;
    this.quotedTable = quoteIdent(deps.table);
    this.end = deps.nextOffset;
    this.logStart = deps.logStartOffset;
    const hw = deps.highWatermark ?? deps.nextOffset;
    this.hw = hw > this.end ? this.end : hw < this.logStart ? this.logStart : hw;
    this.cache = new TailCache(deps.tailCacheBytes, this.end, deps.tailCacheBudget);
    this.producerState = deps.producerState ?? new PartitionProducerState();
  }

  highWatermark(): bigint {
    return this.hw;
  }

  /** Next offset to assign: past the high watermark while a commit awaits its replica's confirmation. */
  logEndOffset(): bigint {
    return this.end;
  }

  logStartOffset(): bigint {
    return this.logStart;
  }

  lastStableOffset(): bigint {
    const first = this.producerState.firstUnstableOffset();
    return first !== null && first < this.hw ? first : this.hw;
  }

  abortedTransactions(from: bigint, to: bigint): AbortedTxn[] {
    return this.producerState.abortedBetween(from, to);
  }

  producers(): ProducerEntry[] {
    return [...this.producerState.entries()];
  }

  /** Forgets producers idle for `expirationMs` (producer.id.expiration.ms); returns how many. */
  expireProducers(nowMs: number, expirationMs: number): number {
    return this.producerState.expire(BigInt(nowMs), BigInt(expirationMs));
  }

  /** Tail cache figures, for metrics and tests. */
  tailCacheInfo(): { coveredFrom: bigint; bytes: number; batches: number } {
    return { coveredFrom: this.cache.coveredFrom, bytes: this.cache.bytes, batches: this.cache.count };
  }

  append(records: Buffer, batches: BatchInfo[], options: AppendOptions): Promise<AppendResult> {
    if (this.deleted) return Promise.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
    if (batches.length === 0) {
      return Promise.resolve({ baseOffset: this.end, logAppendTimeMs: -1n, logStartOffset: this.logStart });
    }
    // The committer writes offsets into the bytes and the tail cache keeps them: bytes handed
    // over (retainable, laid end to end) are used as they are; others are copied into one
    // buffer of our own, which pins nothing of the socket chunk the request came in.
    let total = 0;
    for (const b of batches) {
      if (b.size > this.deps.maxBatchBytes) {
        return Promise.reject(
          KafkaError.of('MESSAGE_TOO_LARGE', `batch of ${b.size} bytes exceeds the shard's limit of ${this.deps.maxBatchBytes}`),
        );
      }
      total += b.size;
    }
    let own: Buffer;
    let owned: BatchInfo[];
    if (options.retainable === true && contiguous(batches, records.length)) {
      own = records;
      owned = batches;
    } else {
      own = Buffer.allocUnsafe(total);
      owned = [];
      let pos = 0;
      for (const b of batches) {
        records.copy(own, pos, b.position, b.position + b.size);
        owned.push({ ...b, position: pos });
        pos += b.size;
      }
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.deps.committer.enqueue({ target: this, records: own, batches: owned, options, bytes: total, resolve, reject });
    });
  }

  async read(fetchOffset: bigint, maxBytes: number, options: ReadOptions): Promise<ReadResult> {
    const hw = this.hw;
    // Out of range past the log end, as Kafka's leader: a consumer at an offset between the
    // high watermark and the end (committed before a restart, confirmation pending) gets
    // nothing until the high watermark passes it, and keeps its position.
    if (fetchOffset < this.logStart || fetchOffset > this.end) {
      throw KafkaError.of(
        'OFFSET_OUT_OF_RANGE',
        `fetch offset ${fetchOffset} is outside [${this.logStart}, ${this.end}] of partition ${this.partition}`,
      );
    }
    const limit = options.maxOffset < hw ? options.maxOffset : hw;
    if (fetchOffset >= limit) return { batches: [], bytes: 0 };
    const cached = this.cache.read(fetchOffset, maxBytes, limit, options.minOneBatch);
    if (cached) return { batches: cached, bytes: sum(cached) };
    const minOneBatch = options.minOneBatch;
    let result: ReadResult | null = null;
    // Read ahead only for a reader seen reading on from where the previous read ended (a Fetch
    // whose budget dropped this partition's answer asks for the same offset again).
    const sequential = fetchOffset === this.lastReadEnd;
    const ahead = this.ahead;
    if (ahead) {
      this.dropReadAhead();
      if (ahead.offset === fetchOffset && ahead.maxBytes === maxBytes && ahead.limit === limit && ahead.minOneBatch === minOneBatch) {
        result = await ahead.result;
        if (ahead.epoch !== this.readEpoch) result = null;
      }
    }
    result ??= await this.readFromMysql(fetchOffset, maxBytes, limit, minOneBatch);
    const next = endOf(result);
    if (next !== null) {
      this.lastReadEnd = next;
      if (sequential) this.startReadAhead(next, maxBytes, limit, minOneBatch);
    }
    return result;
  }

  /**
   * Sequential readers: after a MySQL read that went on from where the previous one ended and
   * stopped before `limit` (cut at maxBytes), the
   * next range is read in the background with the same limits, one outstanding per partition,
   * its bytes reserved in the tail-cache budget, and served to the next read at exactly that
   * offset with the same limits (anything else drops it). It is the same query a direct read
   * would run; log start moves, reloads and deletion drop it.
   */
  private startReadAhead(next: bigint, maxBytes: number, limit: bigint, minOneBatch: boolean): void {
    if (this.ahead || this.deleted || maxBytes <= 0) return;
    if (next >= limit || next >= this.cache.coveredFrom) return;
    const budget = this.deps.tailCacheBudget;
    if (budget ? !budget.reserveAhead(maxBytes) : maxBytes > this.deps.tailCacheBytes) return;
    const epoch = this.readEpoch;
    const ahead: ReadAhead = {
      offset: next,
      maxBytes,
      limit,
      minOneBatch,
      epoch,
      result: this.readFromMysql(next, maxBytes, limit, minOneBatch).then(
        (r) => (epoch === this.readEpoch ? r : null),
        () => null,
      ),
      release: () => budget?.releaseAhead(maxBytes),
    };
    this.ahead = ahead;
  }

  private dropReadAhead(): void {
    const ahead = this.ahead;
    if (!ahead) return;
    this.ahead = null;
    ahead.release();
  }

  private invalidateReads(): void {
    this.readEpoch++;
    this.dropReadAhead();
  }

  /** The same read, always from MySQL (tests compare it with the tail cache). */
  /**
   * The read of queryBatches on the shard's replicas, while its primary does not answer (dead
   * or paused, until failover promotes one): the first replica that answers serves it. A
   * replica holds every record below the high watermark once it has applied what it received
   * (a confirmed commit is in its relay log, maybe not yet applied), so it may answer fewer
   * batches, or none; the consumer then asks again. No log start check here: the metadata
   * database may be down too.
   */
  private async queryReplicas(replicas: Pool[], params: unknown[], primaryError: unknown): Promise<ReadResult> {
    for (const pool of replicas) {
      let rows: RowDataPacket[];
      try {
        [rows] = await pool.query<RowDataPacket[]>(this.readSql, params);
      } catch {
        continue;
      }
      this.replicaReads++;
      const batches = rows.map((r) => r.payload as Buffer);
      return { batches, bytes: sum(batches) };
    }
    throw primaryError;
  }

  /** Reads served by a replica (tests, metrics). */
  replicaReads = 0;

  readFromMysql(fetchOffset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch: boolean): Promise<ReadResult> {
    return asStorageError(this.queryBatches(fetchOffset, maxBytes, maxOffset, minOneBatch));
  }

  /**
   * One query: the covering index picks up to READ_ROW_LIMIT rows from the batch containing
   * the fetch offset, a running SUM(byte_size) in offset order cuts them at maxBytes (the first
   * row passes anyway with minOneBatch: it is the only row whose running sum equals its own
   * size), and only the rows kept are joined to their payloads by primary key.
   */
  private async queryBatches(fetchOffset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch: boolean): Promise<ReadResult> {
    const params = [this.partition, fetchOffset.toString(), maxOffset.toString(), this.partition, maxBytes, minOneBatch ? 1 : 0];
    let rows: RowDataPacket[];
    try {
      [rows] = await this.deps.pool.query<RowDataPacket[]>(this.readSql, params);
    } catch (err) {
      const replicas = isUnavailable(err) ? (this.deps.replicaPools?.() ?? []) : [];
      if (replicas.length === 0) throw err;
      return this.queryReplicas(replicas, params, err);
    }
    // Offsets are contiguous, so a first batch starting after the fetch offset (or none at all
    // below the high watermark) means rows were deleted by a retention run in another process:
    // pick up its log start and answer OFFSET_OUT_OF_RANGE as Kafka would. When nothing was
    // kept (no rows, or a first batch over maxBytes without minOneBatch), ask the index which.
    let firstBase: bigint | null = rows.length > 0 ? BigInt(rows[0]!.base_offset) : null;
    if (firstBase === null && fetchOffset < maxOffset) firstBase = await this.firstBaseOffset(fetchOffset, maxOffset);
    if ((firstBase === null || firstBase > fetchOffset) && fetchOffset < maxOffset && this.deps.loadLogStartOffset) {
      this.applyLogStartOffset(await this.deps.loadLogStartOffset());
      if (fetchOffset < this.logStart) {
        throw KafkaError.of('OFFSET_OUT_OF_RANGE', `fetch offset ${fetchOffset} is below the log start ${this.logStart} of partition ${this.partition}`);
      }
    }
    if (rows.length === 0) return { batches: [], bytes: 0 };
    const batches: Buffer[] = new Array(rows.length);
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const b = rows[i]!.payload as Buffer;
      batches[i] = b;
      bytes += b.length;
    }
    return { batches, bytes };
  }

  /** Base offset of the batch containing fetchOffset (or the first after it), below maxOffset. */
  private async firstBaseOffset(fetchOffset: bigint, maxOffset: bigint): Promise<bigint | null> {
    const [index] = await this.deps.pool.query<RowDataPacket[]>(
      `SELECT base_offset FROM ${this.quotedTable} FORCE INDEX (idx_last_offset)
       WHERE partition_id = ? AND last_offset >= ? AND base_offset < ?
       ORDER BY last_offset LIMIT 1`,
      [this.partition, fetchOffset.toString(), maxOffset.toString()],
    );
    return index.length > 0 ? BigInt(index[0]!.base_offset) : null;
  }

  /** The read statement (see queryBatches); parameters: partition, fetch offset, max offset, partition, max bytes, min one batch. */
  private get readSql(): string {
    return (this.cachedReadSql ??= `SELECT w.base_offset, t.payload FROM (
        SELECT base_offset, byte_size,
               SUM(byte_size) OVER (ORDER BY last_offset ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
        FROM (SELECT base_offset, last_offset, byte_size FROM ${this.quotedTable} FORCE INDEX (idx_last_offset)
              WHERE partition_id = ? AND last_offset >= ? AND base_offset < ?
              ORDER BY last_offset LIMIT ${READ_ROW_LIMIT}) i
      ) w
      JOIN ${this.quotedTable} t ON t.partition_id = ? AND t.base_offset = w.base_offset
      WHERE w.cum <= ? OR (? = 1 AND w.cum = w.byte_size)
      ORDER BY w.base_offset`);
  }

  offsetForTimestamp(timestamp: bigint): Promise<OffsetAndTimestamp | null> {
    return asStorageError(queryOffsetForTimestamp(this.timestampRange(), timestamp));
  }

  maxTimestamp(): Promise<OffsetAndTimestamp | null> {
    return asStorageError(queryMaxTimestamp(this.timestampRange()));
  }

  private timestampRange(): LogTableRange {
    return { pool: this.deps.pool, quotedTable: this.quotedTable, partition: this.partition, logStart: this.logStart, highWatermark: this.hw };
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Moves the log start offset forward (DeleteRecords, retention) and persists it. Offsets
   * below it become unreadable (OFFSET_OUT_OF_RANGE); rows are deleted separately by the
   * retention job. Throws OFFSET_OUT_OF_RANGE when `offset` is beyond the high watermark;
   * a smaller offset than the current start is ignored. Returns the resulting log start.
   */
  async setLogStartOffset(offset: bigint): Promise<bigint> {
    if (offset > this.hw) {
      throw KafkaError.of('OFFSET_OUT_OF_RANGE', `log start ${offset} would be beyond the high watermark ${this.hw}`);
    }
    if (offset <= this.logStart) return this.logStart;
    await asStorageError(this.deps.saveLogStartOffset(offset));
    if (offset > this.logStart) {
      this.logStart = offset;
      this.cache.truncateBefore(offset);
      this.producerState.truncateBefore(offset);
      this.invalidateReads();
    }
    return this.logStart;
  }

  /**
   * Learns a log start offset already persisted (by a retention run, in this process or
   * another): memory only, forward only; the tail cache drops what lies below it.
   */
  applyLogStartOffset(offset: bigint): void {
    if (offset <= this.logStart) return;
    this.logStart = offset;
    this.cache.truncateBefore(offset);
    this.producerState.truncateBefore(offset);
    this.invalidateReads();
  }

  /**
   * A read by a broker that does not lead this partition (follower fetching): the high
   * watermark and last stable offset come from MySQL (storage/follower-view.ts), bounded on a
   * shard with replicas by what a replica confirmed (below), never from
   * this copy's memory, which only the leader's appends would update; the batches always
   * come from MySQL (the tail cache of a follower's copy holds nothing newer than its load).
   */
  async readAsFollower(fetchOffset: bigint, maxBytes: number, readCommitted: boolean): Promise<FollowerReadResult> {
    const view = await asStorageError(readFollowerView(this.deps.pool, this.quotedTable, this.partition, fetchOffset, this.logStart));
    // The end MySQL has may hold commits no replica confirmed (the leader's high watermark
    // waits for them): on a shard with replicas this copy serves up to what it knows
    // confirmed, and asks the shard's monitor to confirm the end it read (a probe, within an
    // interval); readers polling meanwhile see the end move once that is done.
    const end = view.highWatermark;
    let hw = end;
    if (this.deps.awaitConfirmation) {
      const known = () => (this.hw > this.followerConfirmed ? this.hw : this.followerConfirmed);
      if (end > known()) {
        if (end > this.followerAwaited) {
          this.followerAwaited = end;
          this.deps.awaitConfirmation(this.followerTarget, end);
        }
        // Confirmed at once on a shard left without replicas (SemiSyncMonitor.standalone).
        const now = known();
        hw = now < end ? now : end;
      }
    }
    const lso = view.lastStableOffset < hw ? view.lastStableOffset : hw;
    const out = { highWatermark: hw, lastStableOffset: lso, logStartOffset: this.logStart, batches: [] as Buffer[], bytes: 0 };
    if (fetchOffset < this.logStart || fetchOffset > end) {
      throw KafkaError.of('OFFSET_OUT_OF_RANGE', `fetch offset ${fetchOffset} is outside [${this.logStart}, ${end}] of partition ${this.partition}`);
    }
    const maxOffset = readCommitted ? lso : hw;
    if (fetchOffset >= maxOffset) return out;
    const result = await this.readFromMysql(fetchOffset, maxBytes, maxOffset, true);
    return { ...out, logStartOffset: this.logStart, batches: result.batches, bytes: result.bytes };
  }

  /** Aborted transactions overlapping [from, to), from MySQL (a follower's read_committed Fetch). */
  abortedFromStorage(from: bigint, to: bigint): Promise<AbortedTxn[]> {
    return asStorageError(readAbortedTransactions(this.deps.pool, this.topicId, this.partition, from, to));
  }

  /**
   * Compaction rewrote or deleted rows below `offset` (storage/compaction/): the tail cache
   * forgets the batches of that range and pending read-aheads are dropped, so what is served
   * from then on comes from MySQL, compacted.
   */
  forgetCachedBefore(offset: bigint): void {
    this.cache.truncateBefore(offset);
    this.invalidateReads();
  }

  // --- CommitTarget (called by the group committer) ---

  nextOffset(): bigint {
    return this.end;
  }

  isDeleted(): boolean {
    return this.deleted;
  }

  needsReload(): boolean {
    return this.reloadNeeded;
  }

  markNeedsReload(): void {
    this.reloadNeeded = true;
  }

  markDeleted(): void {
    this.deleted = true;
    this.invalidateReads();
  }

  async reload(conn: Connection): Promise<void> {
    const next = await readNextOffset(conn, this.table, this.partition, this.logStart);
    if (next !== this.end) {
      // Rows committed without our knowing (an ambiguous commit, another writer): the cache
      // no longer describes the tail; restart it at the new end. On a shard with replicas the
      // high watermark stays where it was (below it a replica confirmed everything) until the
      // new end is confirmed too (below).
      if (!this.deps.awaitConfirmation || next < this.hw) this.hw = next;
      this.end = next;
      this.cache.clear(next);
      this.invalidateReads();
      // Their producer columns too: a batch whose COMMIT failed but landed (the primary died
      // or was switched mid-COMMIT) must be known, or the producer's retry of it, with the same
      // sequence, would be written a second time at a new offset.
      const state = await loadProducerState({
        pool: conn,
        table: this.table,
        topicId: this.topicId,
        partition: this.partition,
        logStartOffset: this.logStart,
        nowMs: Date.now(),
        expirationMs: this.deps.producerIdExpirationMs ?? 86_400_000,
      });
      this.producerState.replaceWith(state);
    }
    // Also when the end did not change: what awaited a confirmation was forgotten when the
    // shard moved to another primary.
    if (this.deps.awaitConfirmation && this.end > this.hw) this.deps.awaitConfirmation(this, this.end);
    this.reloadNeeded = false;
  }

  restartCache(at: bigint): void {
    this.cache.clear(at);
    this.invalidateReads();
  }

  committed(nextOffset: bigint, batches: CachedBatch[], producers: ProducerOverlay | undefined, confirmed = true): void {
    if (producers) this.producerState.apply(producers);
    for (const b of batches) this.cache.push(b);
    this.end = nextOffset;
    // Unconfirmed by a replica (shard with replicas): readers wait for confirmUpTo.
    if (confirmed) this.confirmUpTo(nextOffset);
  }

  confirmUpTo(offset: bigint): void {
    const to = offset < this.end ? offset : this.end;
    if (to <= this.hw) return;
    this.hw = to;
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        /* a listener's failure is its own */
      }
    }
  }
}

/** The primary did not answer (the pools report that as KAFKA_STORAGE_ERROR: storage/replication/switchable-pool.ts). */
function isUnavailable(err: unknown): boolean {
  return err instanceof KafkaError && err.code === ErrorCode.KAFKA_STORAGE_ERROR;
}

/** MySQL failures (unreachable, lost connection) reach clients as the retriable KAFKA_STORAGE_ERROR. */
async function asStorageError<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KafkaError) throw err;
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
      throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'the topic was deleted');
    }
    throw KafkaError.of('KAFKA_STORAGE_ERROR', `storage error: ${(err as Error).message}`);
  }
}

/** The offset after a read's last batch (its last offset + 1), or null when it has none. */
function endOf(result: ReadResult): bigint | null {
  const last = result.batches[result.batches.length - 1];
  if (!last || last.length < 27) return null;
  return last.readBigInt64BE(0) + BigInt(last.readInt32BE(23)) + 1n;
}

function sum(buffers: Buffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}
