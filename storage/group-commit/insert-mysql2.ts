import type { Connection } from 'mysql2/promise';
import { quoteIdent } from '../mysql.js';
import { LOG_INSERT_COLUMNS } from '../schema.js';
import type { LogConnection, Row } from './log-connection.js';

/**
 * The mysql2 insert driver (MySQL, or logInsertDriver 'mysql2'): a table's rows go in
 * multi-row prepared INSERTs of a fixed few row counts, each statement under
 * maxStatementBytes. Binary protocol: payloads are not escaped.
 */

/** Multi-row INSERT sizes; a fixed few keep the number of prepared statements per table small. */
const ROW_CHUNKS = [64, 16, 4, 1];
const STATEMENT_TIMEOUT_MS = 60_000;

export function wrapMysql2LogConnection(
  m2: Connection,
  maxStatementBytes: number,
  onError: (conn: LogConnection) => void,
): LogConnection {
  const conn: LogConnection = {
    driver: 'mysql2',
    run: async (sql) => {
      await m2.query(sql);
    },
    insertRows: (table, rows) => insertRowsMysql2(m2, table, rows, maxStatementBytes),
    queryConn: m2,
    // mysql2's destroy() only half-closes: a command in flight on a paused server would never fail.
    // (Not ECONNRESET, which mysql2 ignores on a closing connection.)
    destroy: () => {
      const stream = (m2 as unknown as { connection?: { stream?: { destroyed: boolean; destroy(e: Error): void } } }).connection?.stream;
      if (stream && !stream.destroyed) stream.destroy(Object.assign(new Error('log connection closed'), { code: 'ECONNABORTED' }));
      else m2.destroy();
    },
    end: () => m2.end(),
  };
  m2.on('error', () => onError(conn));
  return conn;
}

/** Multi-row INSERTs of fixed row counts, each statement under maxStatementBytes. */
async function insertRowsMysql2(conn: Connection, table: string, rows: Row[], maxStatementBytes: number): Promise<void> {
  let i = 0;
  while (i < rows.length) {
    const remaining = rows.length - i;
    let size = ROW_CHUNKS.find((c) => c <= remaining) ?? 1;
    while (size > 1 && chunkBytes(rows, i, size) > maxStatementBytes) {
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

function chunkBytes(rows: Row[], start: number, n: number): number {
  let total = 0;
  for (let k = start; k < start + n; k++) total += rows[k]!.bytes;
  return total;
}

const sqlCache = new Map<string, string>();

/** `INSERT INTO <table> (columns) VALUES (?,…),…` with `rows` tuples; cached per table and row count. */
export function insertSql(table: string, rows: number): string {
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
