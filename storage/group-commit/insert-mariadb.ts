import mariadb from 'mariadb';
import type { Connection } from 'mysql2/promise';
import type { MysqlLocation } from '../mysql.js';
import type { LogConnection } from './log-connection.js';
import { insertSql } from './insert-mysql2.js';

/**
 * The mariadb insert driver (MariaDB): a table's rows go in one `batch()` of the `mariadb`
 * connector, i.e. MariaDB's bulk execute (COM_STMT_BULK_EXECUTE): one prepared single-row
 * INSERT, all rows in one command, payloads sent as binary. With the binlog on this costs the
 * server far less CPU per byte than mysql2's multi-row prepared INSERTs (docs/storage.md,
 * "INSERT driver").
 *
 * The connector is patched (patches/mariadb+3.5.4.patch): a bulk command sizes its buffer for
 * its rows and reuses the last command's big buffer once the socket has written it. The rows'
 * value arrays are handed to batch() as they are, so the patch sees the payload Buffers.
 */
export async function openMariadbLogConnection(
  loc: MysqlLocation,
  maxStatementBytes: number,
  onError: (conn: LogConnection) => void,
): Promise<LogConnection> {
  const mc = await mariadb.createConnection({
    ...(loc.socketPath ? { socketPath: loc.socketPath } : { host: loc.host, port: loc.port }),
    user: loc.user,
    password: loc.password,
    database: loc.database,
    connectTimeout: 10_000,
    // Bulk commands are split at this size; the statement limit keeps them under the server's.
    maxAllowedPacket: maxStatementBytes + 65536,
  });
  const conn: LogConnection = {
    driver: 'mariadb',
    run: async (sql) => {
      await mc.query(sql);
    },
    insertRows: async (table, rows) => {
      const values: Array<Array<number | bigint | Buffer>> = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) values[i] = rows[i]!.values;
      await mc.batch(insertSql(table, 1), values);
    },
    queryConn: {
      query: (async (sql: string, params?: unknown[]) => [await mc.query(sql, params), []]) as unknown as Connection['query'],
    },
    destroy: () => mc.destroy(),
    end: () => mc.end(),
  };
  mc.on('error', () => onError(conn));
  return conn;
}
