import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connectionOptions, parseMysqlUrl, redactUrl } from '../mysql.js';
import { replyTimeoutError } from '../mysql-socket.js';
import { openMariadbLogConnection } from './insert-mariadb.js';
import { wrapMysql2LogConnection } from './insert-mysql2.js';
import type { GroupCommitOptions } from './types.js';

/**
 * The connection a lane writes a transaction on, whichever insert driver is behind it:
 * insert-mariadb.ts (the `mariadb` connector's bulk execute, used on MariaDB) or
 * insert-mysql2.ts (mysql2's multi-row prepared INSERTs, used on MySQL). Both report errors
 * with the same `code` / `fatal` fields, so the transaction handles them alike.
 */
export interface LogConnection {
  readonly driver: 'mysql2' | 'mariadb';
  /** BEGIN, COMMIT, ROLLBACK. */
  run(sql: string): Promise<void>;
  insertRows(table: string, rows: Row[]): Promise<void>;
  /** For CommitTarget.reload: mysql2's query shape ([rows, fields]). */
  readonly queryConn: Pick<Connection, 'query'>;
  destroy(): void;
  end(): Promise<void>;
}

/** One log row (one batch). */
export interface Row {
  /** In LOG_INSERT_COLUMNS order; int64 columns as bigint. */
  values: Array<number | bigint | Buffer>;
  bytes: number;
}

/** Opens a lane's connections. */
export interface LogConnector {
  /** Where the connections go (credentials removed), for logs. */
  readonly label: string;
  /** A new connection; `onError` runs when the driver reports it broken. */
  open(onError: (conn: LogConnection) => void): Promise<LogConnection>;
}

/**
 * Connects with mysql2, and with logInsertDriver 'auto' asks the server what it is
 * (SELECT VERSION(), once per connector): on MariaDB that connection is closed and a `mariadb`
 * connector connection opened instead.
 */
export class MysqlLogConnector implements LogConnector {
  label: string;
  /** Learnt from SELECT VERSION() on the first connection. */
  private serverIsMariadb: boolean | undefined;

  constructor(
    private readonly shard: number,
    private url: string,
    private readonly options: GroupCommitOptions,
  ) {
    this.label = redactUrl(url);
  }

  /** New connections go to `url` (a promoted replica: storage/replication/failover.ts). */
  repoint(url: string): void {
    this.url = url;
    this.label = redactUrl(url);
  }

  async open(onError: (conn: LogConnection) => void): Promise<LogConnection> {
    // The driver reports the connection it made; the lane holds the bounded wrapper.
    let outer: LogConnection | undefined;
    const inner = await this.openDriver((c) => onError(outer ?? c));
    outer = withDeadlines(inner, this.options.queryTimeoutMs ?? 0);
    return outer;
  }

  private async openDriver(onError: (conn: LogConnection) => void): Promise<LogConnection> {
    const wanted = this.options.logInsertDriver ?? 'auto';
    const m2 = await mysql.createConnection({ ...connectionOptions(parseMysqlUrl(this.url)), maxPreparedStatements: 256 });
    try {
      if (wanted === 'auto' && this.serverIsMariadb === undefined) {
        const [rows] = await m2.query<RowDataPacket[]>('SELECT VERSION() AS v');
        this.serverIsMariadb = /mariadb/i.test(String(rows[0]?.v ?? ''));
        this.options.logger?.info(
          { shard: this.shard, version: rows[0]?.v, driver: this.serverIsMariadb ? 'mariadb' : 'mysql2' },
          'log insert driver',
        );
      }
      const useMariadb = wanted === 'mariadb' || (wanted === 'auto' && this.serverIsMariadb === true);
      if (!useMariadb) return wrapMysql2LogConnection(m2, this.options.maxStatementBytes, onError);
      await m2.end().catch(() => undefined);
      return await openMariadbLogConnection(parseMysqlUrl(this.url), this.options.maxStatementBytes, onError);
    } catch (err) {
      m2.destroy();
      throw err;
    }
  }
}

/**
 * Bounds every statement of a log connection: one not answered within `ms` destroys the
 * connection and fails with a fatal error (a paused primary never answers, so without this a
 * lane would wait forever and every append queued behind it with it). 0: unchanged.
 */
export function withDeadlines(conn: LogConnection, ms: number): LogConnection {
  if (ms <= 0) return conn;
  const bound = <T>(op: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.destroy();
        reject(replyTimeoutError(ms));
      }, ms);
      op().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  const query = conn.queryConn.query.bind(conn.queryConn) as (...a: unknown[]) => Promise<unknown>;
  return {
    driver: conn.driver,
    run: (sql) => bound(() => conn.run(sql)),
    insertRows: (table, rows) => bound(() => conn.insertRows(table, rows)),
    queryConn: { query: ((...a: unknown[]) => bound(() => query(...a))) as unknown as Connection['query'] },
    destroy: () => conn.destroy(),
    end: () => bound(() => conn.end()).catch(() => conn.destroy()),
  };
}
