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
 * Group commit, one committer per shard. A shard has at most ONE transaction in flight; appends
 * that arrive meanwhile queue up and all go in the next transaction (multi-row INSERTs, one
 * COMMIT, one fsync). An idle committer waits `maxDelayMs` after the first append before it
 * starts, to gather more. Offsets are assigned at flush time from each partition's committed
 * next offset, so a failed transaction advances nothing and the offsets are reused.
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
  /** Independent commit lanes (connections, transactions in flight) per shard; default 1. */
  lanes?: number;
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
 * A shard's committer: `lanes` independent lanes, each with its own connection and at most one
 * transaction in flight. A partition always goes to the same lane (by a hash of topic id and
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
    const total: CommitStats = { transactions: 0, failedTransactions: 0, appends: 0, batches: 0, bytes: 0, maxAppendsPerTransaction: 0 };
    for (const l of this.lanes) {
      total.transactions += l.stats.transactions;
      total.failedTransactions += l.stats.failedTransactions;
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

class CommitLane {
  readonly stats: CommitStats = {
    transactions: 0,
    failedTransactions: 0,
    appends: 0,
    batches: 0,
    bytes: 0,
    maxAppendsPerTransaction: 0,
  };
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private conn: LogConnection | undefined;
  /** Learnt from SELECT VERSION() on the first connection. */
  private serverIsMariadb: boolean | undefined;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    readonly shard: number,
    private readonly url: string,
    private readonly options: GroupCommitOptions,
  ) {}

  enqueue(p: PendingAppend): void {
    if (this.closed) {
      p.reject(KafkaError.of('KAFKA_STORAGE_ERROR', 'storage is shutting down'));
      return;
    }
    this.queue.push(p);
    this.queuedBytes += p.bytes;
    this.schedule();
  }

  /** Stops accepting appends, finishes queued and in-flight ones, closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.running) this.start(false);
    }
    await this.idle;
    const c = this.conn;
    this.conn = undefined;
    await c?.end().catch(() => undefined);
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

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.take();
        try {
          await this.commitGroup(group, 0);
        } catch (err) {
          // commitGroup settles every append itself; this is a last line of defence.
          this.fail(group, err);
        }
      }
    } finally {
      this.running = false;
      this.markIdle();
    }
  }

  /** The next transaction's appends: as many queued as fit in maxTransactionBytes (at least one). */
  private take(): PendingAppend[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const b = this.queue[n]!.bytes;
      if (n > 0 && bytes + b > this.options.maxTransactionBytes) break;
      bytes += b;
      n++;
    }
    const group = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    return group;
  }

  private async connection(): Promise<LogConnection> {
    if (this.conn) return this.conn;
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
        conn = await this.openMariadb();
      } else conn = this.wrapMysql2(m2);
    } catch (err) {
      m2.destroy();
      throw err;
    }
    this.conn = conn;
    return conn;
  }

  private wrapMysql2(m2: Connection): LogConnection {
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
      if (this.conn === conn) this.conn = undefined;
    });
    return conn;
  }

  private async openMariadb(): Promise<LogConnection> {
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
      if (this.conn === conn) this.conn = undefined;
    });
    return conn;
  }

  private dropConnection(): void {
    const c = this.conn;
    this.conn = undefined;
    c?.destroy();
  }

  private async commitGroup(input: PendingAppend[], attempt: number): Promise<void> {
    let conn: LogConnection;
    let group: PendingAppend[];
    try {
      conn = await this.connection();
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
      if (group.length === 0) return;
      await conn.run('BEGIN');
    } catch (err) {
      this.dropConnection();
      // A connection that died while idle (server restarted, network cut) is only noticed
      // now, before anything was written: try once more on a fresh one.
      if ((err as { fatal?: boolean }).fatal && attempt === 0) {
        this.options.logger?.warn({ shard: this.shard, err: (err as Error).message }, 'reconnecting the group-commit connection');
        await this.commitGroup(input, attempt + 1);
        return;
      }
      this.fail(input, err);
      return;
    }

    // Assign offsets from each partition's committed next offset.
    const now = BigInt(Date.now());
    const next = new Map<CommitTarget, bigint>();
    const results: AppendResult[] = [];
    const rowsByTable = new Map<string, Row[]>();
    const cached = new Map<CommitTarget, CachedBatch[]>();
    for (const p of group) {
      let offset = next.get(p.target) ?? p.target.nextOffset();
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

    let failedTable: string | undefined;
    try {
      for (const [table, rows] of rowsByTable) {
        failedTable = table;
        await conn.insertRows(table, rows);
      }
      failedTable = undefined;
      await conn.run('COMMIT');
    } catch (err) {
      this.stats.failedTransactions++;
      const code = (err as { code?: string }).code;
      await conn.run('ROLLBACK').catch(() => this.dropConnection());
      if (failedTable !== undefined && (code === 'ER_DUP_ENTRY' || code === 'ER_NO_SUCH_TABLE') && attempt < 3) {
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
        await this.commitGroup(rest, attempt + 1);
        return;
      }
      this.dropConnection();
      this.fail(group, err);
      return;
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
