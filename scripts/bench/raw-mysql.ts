/**
 * What MySQL itself can do with the same bytes, no broker in between: the ceilings.
 *
 * - insertCeiling: one row per batch into a table shaped like a log table, several
 *   connections, each looping BEGIN; INSERT rows; COMMIT with the same durability as the
 *   broker. Two drivers: mysql2 (multi-row prepared INSERT, binary protocol) and the `mariadb`
 *   connector's batch() (MariaDB's COM_STMT_BULK_EXECUTE).
 * - naiveInsert: the row-per-message queue table, multi-row INSERTs.
 * - selectCeiling: reading the stored batches back by primary-key range.
 * Every loop is bounded by a duration.
 */
import mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlUrl } from '../../storage/mysql.js';
import { createLogTableSql, LOG_INSERT_COLUMNS } from '../../storage/schema.js';

export type Driver = 'mysql2' | 'mariadb';

export interface InsertResult {
  driver: Driver;
  seconds: number;
  bytes: number;
  rows: number;
  records: number;
  transactions: number;
  /** Milliseconds of each transaction (BEGIN to COMMIT answered). */
  commitMs: number[];
}

interface RawConn {
  exec(sql: string, params?: unknown[]): Promise<void>;
  /** Inserts rows (one statement per `rowsPerStatement` rows). */
  insertRows(table: string, columns: readonly string[], rows: unknown[][], rowsPerStatement: number): Promise<void>;
  close(): Promise<void>;
}

export async function openRawConn(driver: Driver, url: string): Promise<RawConn> {
  const loc = parseMysqlUrl(url);
  if (driver === 'mysql2') {
    const conn = await mysql.createConnection({ ...connectionOptions(loc), maxPreparedStatements: 64 });
    return {
      exec: async (sql, params) => {
        await conn.query(sql, params);
      },
      insertRows: async (table, columns, rows, perStatement) => {
        for (let i = 0; i < rows.length; i += perStatement) {
          const chunk = rows.slice(i, i + perStatement);
          const tuple = `(${columns.map(() => '?').join(',')})`;
          const sql = `INSERT INTO ${table} (${columns.join(',')}) VALUES ${Array(chunk.length).fill(tuple).join(',')}`;
          await conn.execute(sql, chunk.flat() as Array<string | number | Buffer>);
        }
      },
      close: async () => {
        await conn.end();
      },
    };
  }
  const conn = await mariadb.createConnection({
    host: loc.host,
    port: loc.port,
    user: loc.user,
    password: loc.password,
    database: loc.database,
    ...(loc.socketPath ? { socketPath: loc.socketPath } : {}),
    maxAllowedPacket: 1 << 30,
    // The connector's default (1 s) is too short for 256 handshakes at once on a loaded machine.
    connectTimeout: 30_000,
  });
  return {
    exec: async (sql, params) => {
      await conn.query(sql, params);
    },
    insertRows: async (table, columns, rows, perStatement) => {
      const sql = `INSERT INTO ${table} (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')})`;
      for (let i = 0; i < rows.length; i += perStatement) await conn.batch(sql, rows.slice(i, i + perStatement));
    },
    close: async () => {
      await conn.end();
    },
  };
}

export async function createRawTables(url: string): Promise<void> {
  const c = await openRawConn('mysql2', url);
  await c.exec('DROP TABLE IF EXISTS bench_log');
  await c.exec(createLogTableSql('bench_log'));
  await c.exec('DROP TABLE IF EXISTS bench_naive');
  await c.exec(`CREATE TABLE bench_naive (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    partition_id INT NOT NULL, ts BIGINT NOT NULL, msg_key VARBINARY(255) NULL, value MEDIUMBLOB NOT NULL,
    KEY idx_part (partition_id, id)) ENGINE=InnoDB`);
  await c.close();
}

/** Creates (or replaces) an empty log-shaped table. */
export async function createLogShapedTable(url: string, table: string): Promise<void> {
  const c = await openRawConn('mysql2', url);
  await c.exec(`DROP TABLE IF EXISTS ${table}`);
  await c.exec(createLogTableSql(table));
  await c.close();
}

export async function dropRawTables(url: string, tables: readonly string[]): Promise<void> {
  const c = await openRawConn('mysql2', url);
  for (const t of tables) await c.exec(`DROP TABLE IF EXISTS ${t}`);
  await c.close();
}

export async function truncateRawTables(url: string, tables: readonly string[] = ['bench_log', 'bench_naive']): Promise<void> {
  const c = await openRawConn('mysql2', url);
  for (const t of tables) await c.exec(`TRUNCATE TABLE ${t}`);
  await c.close();
}

export interface InsertOptions {
  driver: Driver;
  url: string;
  connections: number;
  /** The stored batch (one row each). */
  batch: Buffer;
  recordsPerBatch: number;
  /** Rows per transaction and per statement. */
  rowsPerTransaction: number;
  rowsPerStatement: number;
  durationMs: number;
  /** Open loop: transactions per second over all connections (undefined = as fast as possible). */
  transactionsPerSecond?: number;
  /** The table written (default bench_log). */
  table?: string;
  /** Connection c writes partition_id partitionBase + c (default 0): runs between truncations use different bases. */
  partitionBase?: number;
  /** Stops the run before durationMs (the transaction in progress finishes). */
  signal?: AbortSignal;
}

/** Log-table inserts, one row per batch: the ceiling the broker is held against. */
export async function insertCeiling(o: InsertOptions): Promise<InsertResult> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => openRawConn(o.driver, o.url)));
  const result: InsertResult = { driver: o.driver, seconds: 0, bytes: 0, rows: 0, records: 0, transactions: 0, commitMs: [] };
  const start = performance.now();
  const deadline = start + o.durationMs;
  const interval = o.transactionsPerSecond ? (1000 * o.connections) / o.transactionsPerSecond : 0;
  await Promise.all(
    conns.map(async (conn, c) => {
      let offset = 0n;
      let due = start + (interval * c) / o.connections;
      const running = () => performance.now() < deadline && !o.signal?.aborted;
      while (running()) {
        if (interval > 0) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          due += interval;
          if (!running()) break;
        }
        const rows: unknown[][] = [];
        for (let i = 0; i < o.rowsPerTransaction; i++) {
          const last = offset + BigInt(o.recordsPerBatch - 1);
          rows.push([(o.partitionBase ?? 0) + c, offset.toString(), last.toString(), o.recordsPerBatch, '0', '0', '-1', -1, -1, 0, 0, o.batch.length, o.batch]);
          offset = last + 1n;
        }
        const t0 = performance.now();
        await conn.exec('BEGIN');
        await conn.insertRows(o.table ?? 'bench_log', LOG_INSERT_COLUMNS, rows, o.rowsPerStatement);
        await conn.exec('COMMIT');
        result.commitMs.push(performance.now() - t0);
        result.transactions++;
        result.rows += rows.length;
        result.records += rows.length * o.recordsPerBatch;
        result.bytes += rows.length * o.batch.length;
      }
    }),
  );
  result.seconds = (performance.now() - start) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  return result;
}

export interface NaiveOptions {
  driver: Driver;
  url: string;
  connections: number;
  value: Buffer;
  /** Messages per transaction (one multi-row statement of this many rows, or a bulk batch). */
  rowsPerTransaction: number;
  durationMs: number;
}

/** The hand-rolled queue table: one row per message. */
export async function naiveInsert(o: NaiveOptions): Promise<InsertResult> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => openRawConn(o.driver, o.url)));
  const result: InsertResult = { driver: o.driver, seconds: 0, bytes: 0, rows: 0, records: 0, transactions: 0, commitMs: [] };
  const start = performance.now();
  const deadline = start + o.durationMs;
  const columns = ['partition_id', 'ts', 'msg_key', 'value'];
  await Promise.all(
    conns.map(async (conn, c) => {
      while (performance.now() < deadline) {
        const now = Date.now();
        const rows: unknown[][] = [];
        for (let i = 0; i < o.rowsPerTransaction; i++) rows.push([c, now, null, o.value]);
        const t0 = performance.now();
        await conn.exec('BEGIN');
        await conn.insertRows('bench_naive', columns, rows, o.rowsPerTransaction);
        await conn.exec('COMMIT');
        result.commitMs.push(performance.now() - t0);
        result.transactions++;
        result.rows += rows.length;
        result.records += rows.length;
        result.bytes += rows.length * o.value.length;
      }
    }),
  );
  result.seconds = (performance.now() - start) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  return result;
}

export interface SelectResult {
  seconds: number;
  bytes: number;
  rows: number;
}

/**
 * Reads back what insertCeiling wrote (partition c on connection c), by primary-key range in
 * chunks of `rowsPerQuery` batches, as the broker's MySQL reads do: the raw read ceiling.
 * At the end of a partition a connection starts again from its first row, so the phase lasts
 * `durationMs` whatever the table holds.
 */
export async function selectCeiling(url: string, connections: number, rowsPerQuery: number, durationMs: number): Promise<SelectResult> {
  const loc = parseMysqlUrl(url);
  const conns = await Promise.all(Array.from({ length: connections }, () => mysql.createConnection(connectionOptions(loc))));
  const result: SelectResult = { seconds: 0, bytes: 0, rows: 0 };
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    conns.map(async (conn, c) => {
      let from = '0';
      while (performance.now() < deadline) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          'SELECT base_offset, last_offset, payload FROM bench_log WHERE partition_id = ? AND base_offset >= ? ORDER BY base_offset LIMIT ?',
          [c, from, rowsPerQuery],
        );
        if (rows.length === 0) {
          if (from === '0') break; // nothing stored for this partition
          from = '0';
          continue;
        }
        for (const r of rows) {
          result.bytes += (r.payload as Buffer).length;
          result.rows++;
        }
        from = (BigInt(rows[rows.length - 1]!.last_offset as string | number) + 1n).toString();
      }
    }),
  );
  result.seconds = (performance.now() - start) / 1000;
  await Promise.all(conns.map((c) => c.end()));
  return result;
}
