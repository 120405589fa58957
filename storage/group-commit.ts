import mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { assignBatchOffsets, type BatchInfo } from '../codec/records/batch-header.js';
import { setLogAppendTime } from '../codec/records/log-append-time.js';
import { KafkaError } from '../codec/error-codes.js';
import { connectionOptions, parseMysqlUrl, quoteIdent, redactUrl } from './mysql.js';
import { LOG_INSERT_COLUMNS } from './schema.js';
import type { AppendOptions, AppendResult } from './types.js';
import type { CachedBatch } from './tail-cache.js';

/**
 * Group commit, one committer per shard, `lanes` lanes per committer. A lane has at most
 * `pipelineDepth` transactions in flight, each on its own connection; appends that arrive while
 * all are busy queue up and all go in the next transaction (multi-row INSERTs, one COMMIT, one
 * fsync). An idle lane waits `maxDelayMs` after the first append before it starts, to gather
 * more. Offsets are assigned at flush time from each partition's next offset: the committed one,
 * or the tentative one of the lane's transaction in flight (pipelining: N+1 inserts while N
 * commits). COMMITs go in order (N+1's only after N's succeeded), so the high watermark only
 * ever covers committed rows; if N does not commit, N+1 rolls back and its appends run again
 * once nothing is in flight, after the failed partitions re-read their end. A failed
 * transaction advances nothing and its offsets are reused.
 *
 * Failures: a duplicate key (someone else wrote those offsets: a stale leader, or an earlier
 * commit whose outcome was lost) rejects that table's appends with NOT_LEADER_OR_FOLLOWER and
 * reloads the partitions' next offsets; a missing table (topic deleted) rejects them with
 * UNKNOWN_TOPIC_OR_PARTITION; in both cases the other appends are retried in a new
 * transaction. Anything else (MySQL unreachable, lost connection) rejects every append of the
 * transaction with KAFKA_STORAGE_ERROR (retriable), drops the connection and reconnects on the
 * next append.
 *
 * Driver: on MariaDB the INSERTs go through the `mariadb` connector's batch(), i.e. MariaDB's
 * bulk execute (COM_STMT_BULK_EXECUTE): one prepared single-row INSERT, all rows of a table in
 * one command, payloads sent as binary. mysql2 has no bulk command; its multi-row prepared
 * INSERTs cost MariaDB far more server CPU per byte with the binlog on (measured by `npm run
 * bench`: about 2.5x less throughput). On MySQL (or with logInsertDriver 'mysql2') the
 * multi-row prepared INSERTs of mysql2 are used. The server is told apart by SELECT VERSION()
 * once per committer.
 */

/** What the committer needs from a partition log. */
export interface CommitTarget {
  readonly topicId: string;
  readonly partition: number;
  readonly table: string;
  /** Next offset to assign = high watermark (only committed appends advance it). */
  nextOffset(): bigint;
  logStartOffset(): bigint;
  isDeleted(): boolean;
  needsReload(): boolean;
  /** Re-reads the next offset from MySQL (after a failed or conflicting commit). */
  reload(conn: Pick<Connection, 'query'>): Promise<void>;
  markNeedsReload(): void;
  markDeleted(): void;
  /** Called after COMMIT with the new next offset and the committed batches (in order). */
  committed(nextOffset: bigint, batches: CachedBatch[]): void;
}

export interface PendingAppend {
  target: CommitTarget;
  /** Batches back to back, owned by the committer (a copy of the request's bytes). */
  records: Buffer;
  batches: BatchInfo[];
  options: AppendOptions;
  bytes: number;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions {
  maxDelayMs: number;
  maxTransactionBytes: number;
  maxStatementBytes: number;
  /** Independent commit lanes per shard; default 1. */
  lanes?: number;
  /**
   * Transactions in flight per lane (one connection each); default 1. With 2, a lane BEGINs and
   * INSERTs transaction N+1 while N's COMMIT (its fsync) is in flight; N+1 COMMITs only after N did.
   */
  pipelineDepth?: number;
  /** Which driver writes the log rows: 'auto' (mariadb on MariaDB, else mysql2), 'mysql2' or 'mariadb'. */
  logInsertDriver?: LogInsertDriver;
  logger?: Logger;
}

export type LogInsertDriver = 'auto' | 'mysql2' | 'mariadb';

export interface CommitStats {
  /** Transactions committed. */
  transactions: number;
  /** Transactions that failed (rolled back). */
  failedTransactions: number;
  /** Transactions rolled back because the one before them in the pipeline did not commit (their appends run again). */
  abortedTransactions: number;
  /** Transactions started while another of their lane was in flight. */
  pipelinedTransactions: number;
  appends: number;
  batches: number;
  bytes: number;
  /** Largest number of appends in one transaction. */
  maxAppendsPerTransaction: number;
}

/** Multi-row INSERT sizes; a fixed few keep the number of prepared statements per table small. */
const ROW_CHUNKS = [64, 16, 4, 1];
const STATEMENT_TIMEOUT_MS = 60_000;

interface Row {
  /** In LOG_INSERT_COLUMNS order; int64 columns as bigint. */
  values: Array<number | bigint | Buffer>;
  bytes: number;
}

/** The committer's connection, whichever driver is behind it. */
interface LogConnection {
  readonly driver: 'mysql2' | 'mariadb';
  /** BEGIN, COMMIT, ROLLBACK. */
  run(sql: string): Promise<void>;
  insertRows(table: string, rows: Row[]): Promise<void>;
  /** For CommitTarget.reload: mysql2's query shape ([rows, fields]). */
  readonly queryConn: Pick<Connection, 'query'>;
  destroy(): void;
  end(): Promise<void>;
}

/**
 * A shard's committer: `lanes` independent lanes, each with `pipelineDepth` connections and at
 * most that many transactions in flight. A partition always goes to the same lane (by a hash of topic id and
 * partition), so its appends stay in order and its offsets are assigned by one lane only;
 * partitions on different lanes commit in parallel, letting MySQL overlap their fsyncs and
 * use more than one server thread (the binlog's group commit then shares the fsyncs).
 */
export class GroupCommitter {
  private readonly lanes: CommitLane[];
  private readonly laneOf = new WeakMap<CommitTarget, CommitLane>();

  constructor(
    readonly shard: number,
    url: string,
    options: GroupCommitOptions,
  ) {
    const n = Math.max(1, Math.floor(options.lanes ?? 1));
    this.lanes = Array.from({ length: n }, () => new CommitLane(shard, url, options));
  }

  /** Totals over the lanes. */
  get stats(): CommitStats {
    const total: CommitStats = {
      transactions: 0,
      failedTransactions: 0,
      abortedTransactions: 0,
      pipelinedTransactions: 0,
      appends: 0,
      batches: 0,
      bytes: 0,
      maxAppendsPerTransaction: 0,
    };
    for (const l of this.lanes) {
      total.transactions += l.stats.transactions;
      total.failedTransactions += l.stats.failedTransactions;
      total.abortedTransactions += l.stats.abortedTransactions;
      total.pipelinedTransactions += l.stats.pipelinedTransactions;
      total.appends += l.stats.appends;
      total.batches += l.stats.batches;
      total.bytes += l.stats.bytes;
      total.maxAppendsPerTransaction = Math.max(total.maxAppendsPerTransaction, l.stats.maxAppendsPerTransaction);
    }
    return total;
  }

  enqueue(p: PendingAppend): void {
    let lane = this.laneOf.get(p.target);
    if (!lane) {
      lane = this.lanes[laneIndex(p.target.topicId, p.target.partition, this.lanes.length)]!;
      this.laneOf.set(p.target, lane);
    }
    lane.enqueue(p);
  }

  /** Stops accepting appends, finishes queued and in-flight ones, closes the connections. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

function laneIndex(topicId: string, partition: number, lanes: number): number {
  if (lanes === 1) return 0;
  let h = partition | 0;
  for (let i = 0; i < topicId.length; i++) h = (Math.imul(h, 31) + topicId.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}

/** One connection of a lane; a transaction holds it from BEGIN to COMMIT/ROLLBACK. */
interface Slot {
  conn: LogConnection | undefined;
  busy: boolean;
}

/** A transaction of a lane, from its offset assignment until it committed or rolled back. */
interface Txn {
  /** true once COMMIT succeeded and the appends were resolved; false when it rolled back. */
  readonly done: Promise<boolean>;
  /** Next offset per partition after this transaction (tentative until it commits). */
  next: Map<CommitTarget, bigint>;
}

class CommitLane {
  readonly stats: CommitStats = {
    transactions: 0,
    failedTransactions: 0,
    abortedTransactions: 0,
    pipelinedTransactions: 0,
    appends: 0,
    batches: 0,
    bytes: 0,
    maxAppendsPerTransaction: 0,
  };
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  /** Appends of rolled-back transactions to run again, in order, ahead of the queue. */
  private retry: PendingAppend[] = [];
  /** A transaction failed: start nothing new until every transaction in flight has ended. */
  private broken = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly depth: number;
  private readonly slots: Slot[];
  /** Transactions in flight, oldest first; each COMMITs only after the one before it. */
  private readonly inflight: Txn[] = [];
  /** Next offset per partition assuming every transaction in flight commits. */
  private readonly tentative = new Map<CommitTarget, { next: bigint; owner: Txn }>();
  /** Learnt from SELECT VERSION() on the first connection. */
  private serverIsMariadb: boolean | undefined;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    readonly shard: number,
    private readonly url: string,
    private readonly options: GroupCommitOptions,
  ) {
    this.depth = Math.max(1, Math.floor(options.pipelineDepth ?? 1));
    this.slots = Array.from({ length: this.depth }, () => ({ conn: undefined, busy: false }));
  }

  enqueue(p: PendingAppend): void {
    if (this.closed) {
      p.reject(KafkaError.of('KAFKA_STORAGE_ERROR', 'storage is shutting down'));
      return;
    }
    this.queue.push(p);
    this.queuedBytes += p.bytes;
    this.schedule();
  }

  /** Stops accepting appends, finishes queued and in-flight ones, closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.running) this.start(false);
    }
    for (;;) {
      await this.idle;
      if (this.inflight.length > 0) await Promise.all(this.inflight.map((t) => t.done));
      else if (!this.running) break;
    }
    await Promise.all(
      this.slots.map(async (s) => {
        const c = s.conn;
        s.conn = undefined;
        await c?.end().catch(() => undefined);
      }),
    );
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.queuedBytes >= this.options.maxTransactionBytes || this.options.maxDelayMs <= 0 || this.closed) {
      // Still yield once so appends issued in the same tick share the transaction.
      this.start(true);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running) this.start(false);
    }, this.options.maxDelayMs);
  }

  /** Marks the committer busy (synchronously, so close() sees it) and runs the flush loop. */
  private start(deferred: boolean): void {
    this.running = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    if (deferred) setImmediate(() => void this.loop());
    else void this.loop();
  }

  /**
   * Starts transactions while appends are queued and a connection is free. The loop stays
   * while all connections are busy (appends queue up meanwhile and go in the next transaction)
   * and ends when the queue is empty; transactions in flight then finish on their own.
   */
  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.broken) {
          // Transactions after a failed one roll back; once none is in flight, the appends to
          // run again go first, and partitions that failed reload their end from MySQL.
          while (this.inflight.length > 0) await Promise.all(this.inflight.map((t) => t.done));
          this.broken = false;
          if (this.retry.length > 0) {
            for (const p of this.retry) this.queuedBytes += p.bytes;
            this.queue = this.retry.concat(this.queue);
            this.retry = [];
          }
        }
        if (this.inflight.length >= this.depth) {
          await this.inflight[0]!.done;
          continue;
        }
        if (this.queue.length === 0) break;
        const n = this.takeCount();
        if (this.inflight.length > 0 && this.anyNeedsReload(n)) {
          // A partition's end must be re-read from MySQL with nothing of it in flight.
          await Promise.all(this.inflight.map((t) => t.done));
          continue;
        }
        await this.begin(this.take(n));
      }
    } finally {
      this.running = false;
      this.markIdle();
    }
  }

  /** How many queued appends the next transaction takes: as many as fit in maxTransactionBytes (at least one). */
  private takeCount(): number {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const b = this.queue[n]!.bytes;
      if (n > 0 && bytes + b > this.options.maxTransactionBytes) break;
      bytes += b;
      n++;
    }
    return n;
  }

  private anyNeedsReload(n: number): boolean {
    for (let i = 0; i < n; i++) if (this.queue[i]!.target.needsReload()) return true;
    return false;
  }

  private take(n: number): PendingAppend[] {
    const group = this.queue.splice(0, n);
    for (const p of group) this.queuedBytes -= p.bytes;
    return group;
  }

  /** Puts appends of a rolled-back transaction back, to run again once nothing is in flight. */
  private requeue(group: PendingAppend[]): void {
    if (group.length === 0) return;
    this.broken = true;
    for (const p of group) this.retry.push(p);
    this.schedule();
  }

  /**
   * Starts a transaction on a free connection; resolves once its offsets are assigned (or it
   * ended), so the next transaction continues from its tentative next offsets.
   */
  private begin(group: PendingAppend[]): Promise<void> {
    const slot = this.slots.find((s) => !s.busy)!;
    slot.busy = true;
    const prev = this.inflight.length > 0 ? this.inflight[this.inflight.length - 1]!.done : Promise.resolve(true);
    if (this.inflight.length > 0) this.stats.pipelinedTransactions++;
    let settle!: (ok: boolean) => void;
    const txn: Txn = { done: new Promise<boolean>((r) => (settle = r)), next: new Map() };
    this.inflight.push(txn);
    let assigned!: () => void;
    const offsetsAssigned = new Promise<void>((r) => (assigned = r));
    void (async () => {
      let ok = false;
      try {
        ok = await this.run(txn, slot, group, prev, assigned);
      } catch (err) {
        // run() settles every append itself; this is a last line of defence.
        this.broken = true;
        this.fail(group, err);
      } finally {
        for (const t of txn.next.keys()) if (this.tentative.get(t)?.owner === txn) this.tentative.delete(t);
        slot.busy = false;
        this.inflight.splice(this.inflight.indexOf(txn), 1);
        assigned();
        settle(ok);
      }
    })();
    return offsetsAssigned;
  }

  private async connection(slot: Slot): Promise<LogConnection> {
    if (slot.conn) return slot.conn;
    const wanted = this.options.logInsertDriver ?? 'auto';
    const m2 = await mysql.createConnection({ ...connectionOptions(parseMysqlUrl(this.url)), maxPreparedStatements: 256 });
    let conn: LogConnection;
    try {
      if (wanted === 'auto' && this.serverIsMariadb === undefined) {
        const [rows] = await m2.query<RowDataPacket[]>('SELECT VERSION() AS v');
        this.serverIsMariadb = /mariadb/i.test(String(rows[0]?.v ?? ''));
        this.options.logger?.info({ shard: this.shard, version: rows[0]?.v, driver: this.serverIsMariadb ? 'mariadb' : 'mysql2' }, 'log insert driver');
      }
      const useMariadb = wanted === 'mariadb' || (wanted === 'auto' && this.serverIsMariadb === true);
      if (useMariadb) {
        await m2.end().catch(() => undefined);
        conn = await this.openMariadb(slot);
      } else conn = this.wrapMysql2(m2, slot);
    } catch (err) {
      m2.destroy();
      throw err;
    }
    slot.conn = conn;
    return conn;
  }

  private wrapMysql2(m2: Connection, slot: Slot): LogConnection {
    const conn: LogConnection = {
      driver: 'mysql2',
      run: async (sql) => {
        await m2.query(sql);
      },
      insertRows: (table, rows) => this.insertRowsMysql2(m2, table, rows),
      queryConn: m2,
      destroy: () => m2.destroy(),
      end: () => m2.end(),
    };
    m2.on('error', () => {
      if (slot.conn === conn) slot.conn = undefined;
    });
    return conn;
  }

  private async openMariadb(slot: Slot): Promise<LogConnection> {
    const loc = parseMysqlUrl(this.url);
    const mc = await mariadb.createConnection({
      ...(loc.socketPath ? { socketPath: loc.socketPath } : { host: loc.host, port: loc.port }),
      user: loc.user,
      password: loc.password,
      database: loc.database,
      connectTimeout: 10_000,
      // Bulk commands are split at this size; the statement limit keeps them under the server's.
      maxAllowedPacket: this.options.maxStatementBytes + 65536,
    });
    const conn: LogConnection = {
      driver: 'mariadb',
      run: async (sql) => {
        await mc.query(sql);
      },
      insertRows: async (table, rows) => {
        const values: Array<Array<number | bigint | Buffer>> = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) values[i] = rows[i]!.values;
        await mc.batch(singleRowInsertSql(table), values);
      },
      queryConn: {
        query: (async (sql: string, params?: unknown[]) => [await mc.query(sql, params), []]) as unknown as Connection['query'],
      },
      destroy: () => mc.destroy(),
      end: () => mc.end(),
    };
    mc.on('error', () => {
      if (slot.conn === conn) slot.conn = undefined;
    });
    return conn;
  }

  private dropConnection(slot: Slot): void {
    const c = slot.conn;
    slot.conn = undefined;
    c?.destroy();
  }

  /**
   * One transaction: reloads, BEGIN, offsets (from the tentative ends of the transactions in
   * flight before it), INSERTs; then waits for the previous transaction: COMMIT only if that
   * one committed, else ROLLBACK and run the appends again. Resolves true when committed.
   */
  private async run(txn: Txn, slot: Slot, input: PendingAppend[], prev: Promise<boolean>, assigned: () => void): Promise<boolean> {
    let conn: LogConnection;
    let group: PendingAppend[];
    for (let attempt = 0; ; attempt++) {
      try {
        conn = await this.connection(slot);
        for (const t of new Set(input.map((p) => p.target))) {
          if (t.isDeleted() || !t.needsReload()) continue;
          try {
            await t.reload(conn.queryConn);
          } catch (err) {
            if ((err as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw err;
            t.markDeleted();
          }
        }
        group = [];
        for (const p of input) {
          if (p.target.isDeleted()) p.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
          else group.push(p);
        }
        // Nothing to write: this transaction stands for its predecessor's outcome.
        if (group.length === 0) return await prev;
        await conn.run('BEGIN');
        break;
      } catch (err) {
        this.dropConnection(slot);
        // A connection that died while idle (server restarted, network cut) is only noticed
        // now, before anything was written: try once more on a fresh one.
        if ((err as { fatal?: boolean }).fatal && attempt === 0) {
          this.options.logger?.warn({ shard: this.shard, err: (err as Error).message }, 'reconnecting the group-commit connection');
          continue;
        }
        this.broken = true;
        this.fail(input, err);
        return false;
      }
    }

    // Assign offsets from each partition's next offset: the committed one, or the tentative one
    // of the transaction in flight before this one (assumed to commit; if it does not, this one
    // rolls back too).
    const now = BigInt(Date.now());
    const next = txn.next;
    const results: AppendResult[] = [];
    const rowsByTable = new Map<string, Row[]>();
    const cached = new Map<CommitTarget, CachedBatch[]>();
    for (const p of group) {
      let offset = next.get(p.target) ?? this.tentative.get(p.target)?.next ?? p.target.nextOffset();
      const appendTime = p.options.logAppendTime ? now : -1n;
      results.push({ baseOffset: offset, logAppendTimeMs: appendTime, logStartOffset: p.target.logStartOffset() });
      let rows = rowsByTable.get(p.target.table);
      if (!rows) rowsByTable.set(p.target.table, (rows = []));
      let list = cached.get(p.target);
      if (!list) cached.set(p.target, (list = []));
      for (const b of p.batches) {
        const view = p.records.subarray(b.position, b.position + b.size);
        assignBatchOffsets(view, offset, p.options.leaderEpoch);
        if (p.options.logAppendTime) setLogAppendTime(view, now);
        const last = offset + BigInt(b.lastOffsetDelta);
        rows.push({
          values: [
            p.target.partition,
            offset,
            last,
            b.recordCount,
            p.options.logAppendTime ? now : b.baseTimestamp,
            p.options.logAppendTime ? now : b.maxTimestamp,
            b.producerId,
            b.producerEpoch,
            b.baseSequence,
            b.isTransactional ? 1 : 0,
            b.isControl ? 1 : 0,
            b.size,
            view,
          ],
          bytes: b.size,
        });
        list.push({ baseOffset: offset, lastOffset: last, bytes: view });
        offset = last + 1n;
      }
      next.set(p.target, offset);
    }
    for (const [t, offset] of next) this.tentative.set(t, { next: offset, owner: txn });
    assigned();

    let failedTable: string | undefined;
    let prevOk: boolean | undefined;
    try {
      for (const [table, rows] of rowsByTable) {
        failedTable = table;
        await conn.insertRows(table, rows);
      }
      failedTable = undefined;
      // COMMITs go in order: this one only after the previous transaction committed.
      prevOk = await prev;
      if (!prevOk) {
        this.stats.abortedTransactions++;
        await conn.run('ROLLBACK').catch(() => this.dropConnection(slot));
        this.requeue(group);
        return false;
      }
      await conn.run('COMMIT');
    } catch (err) {
      this.stats.failedTransactions++;
      const code = (err as { code?: string }).code;
      // Settle in order: the previous transaction's outcome first.
      if (prevOk === undefined) prevOk = await prev;
      await conn.run('ROLLBACK').catch(() => this.dropConnection(slot));
      if (!prevOk) {
        // Offsets were assigned after a transaction that did not commit: run again.
        this.requeue(group);
        return false;
      }
      this.broken = true;
      if (failedTable !== undefined && (code === 'ER_DUP_ENTRY' || code === 'ER_NO_SUCH_TABLE')) {
        const bad = group.filter((p) => p.target.table === failedTable);
        const rest = group.filter((p) => p.target.table !== failedTable);
        for (const p of bad) {
          if (code === 'ER_NO_SUCH_TABLE') {
            p.target.markDeleted();
            p.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
          } else {
            p.target.markNeedsReload();
            p.reject(KafkaError.of('NOT_LEADER_OR_FOLLOWER', 'offsets already written by another writer; reloading the partition'));
          }
        }
        this.options.logger?.warn({ shard: this.shard, table: failedTable, code }, 'append conflict; retrying the other appends');
        this.requeue(rest);
        return false;
      }
      this.dropConnection(slot);
      this.fail(group, err);
      return false;
    }

    this.stats.transactions++;
    this.stats.appends += group.length;
    this.stats.maxAppendsPerTransaction = Math.max(this.stats.maxAppendsPerTransaction, group.length);
    for (const rows of rowsByTable.values()) {
      this.stats.batches += rows.length;
      for (const r of rows) this.stats.bytes += r.bytes;
    }
    for (const [target, offset] of next) target.committed(offset, cached.get(target) ?? []);
    group.forEach((p, i) => p.resolve(results[i]!));
    return true;
  }

  private fail(group: PendingAppend[], err: unknown): void {
    this.options.logger?.error(
      { shard: this.shard, url: redactUrl(this.url), err: (err as Error).message, appends: group.length },
      'group commit failed',
    );
    for (const p of group) {
      p.target.markNeedsReload();
      p.reject(err instanceof KafkaError ? err : KafkaError.of('KAFKA_STORAGE_ERROR', `storage error: ${(err as Error).message}`));
    }
  }

  /** Multi-row INSERTs of fixed row counts, each statement under maxStatementBytes. */
  private async insertRowsMysql2(conn: Connection, table: string, rows: Row[]): Promise<void> {
    let i = 0;
    while (i < rows.length) {
      const remaining = rows.length - i;
      let size = ROW_CHUNKS.find((c) => c <= remaining) ?? 1;
      while (size > 1 && chunkBytes(rows, i, size) > this.options.maxStatementBytes) {
        size = ROW_CHUNKS[ROW_CHUNKS.indexOf(size) + 1] ?? 1;
      }
      const params: Array<string | number | Buffer> = [];
      for (let k = 0; k < size; k++) {
        for (const v of rows[i + k]!.values) params.push(typeof v === 'bigint' ? v.toString() : v);
      }
      await conn.execute({ sql: insertSql(table, size), timeout: STATEMENT_TIMEOUT_MS }, params);
      i += size;
    }
  }
}

function chunkBytes(rows: Row[], start: number, n: number): number {
  let total = 0;
  for (let k = start; k < start + n; k++) total += rows[k]!.bytes;
  return total;
}

const sqlCache = new Map<string, string>();
function insertSql(table: string, rows: number): string {
  const key = `${table}:${rows}`;
  let sql = sqlCache.get(key);
  if (!sql) {
    const tuple = `(${LOG_INSERT_COLUMNS.map(() => '?').join(',')})`;
    sql = `INSERT INTO ${quoteIdent(table)} (${LOG_INSERT_COLUMNS.join(',')}) VALUES ${Array(rows).fill(tuple).join(',')}`;
    if (sqlCache.size > 10_000) sqlCache.clear();
    sqlCache.set(key, sql);
  }
  return sql;
}

function singleRowInsertSql(table: string): string {
  return insertSql(table, 1);
}

export type { RowDataPacket };
