import { connect as netConnect, type Socket } from 'node:net';
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
  // The connector's destroy() with a command in flight first opens another connection to KILL
  // it and only then closes; on a paused server that never completes and the command is never
  // failed. Holding the socket lets destroy() close it at once, failing what is in flight.
  let socket: Socket | undefined;
  const mc = await mariadb.createConnection({
    host: loc.host,
    port: loc.port,
    stream: (cb: (err?: Error, stream?: Socket) => void) => {
      socket = loc.socketPath ? netConnect({ path: loc.socketPath }) : netConnect({ host: loc.host, port: loc.port });
      if (!loc.socketPath) socket.setNoDelay(true);
      cb(undefined, socket);
    },
    user: loc.user,
    password: loc.password,
    database: loc.database,
    connectTimeout: 10_000,
    // Bulk commands are split at this size; the statement limit keeps them under the server's.
    maxAllowedPacket: maxStatementBytes + 65536,
  });
  // BEGIN is sent without waiting for its reply: the connector pipelines the next command
  // (the INSERT) right behind it, and that command waits for both. This saves a round trip, and
  // a wake-up of the broker, per transaction. BEGIN fails only when the connection is gone, and
  // then so does the command behind it, with BEGIN's error. A connection already known closed
  // still fails BEGIN itself, so a transaction reconnects once as before (transaction.ts step 1).
  // BEGIN is also held in the socket (corked) until the command behind it is written: both
  // leave in one write, one wake-up of the server instead of two (setImmediate sends BEGIN
  // alone if nothing follows in this turn of the event loop).
  let begun: Promise<unknown> | undefined;
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    socket?.uncork();
  };
  const afterBegin = async <T>(command: Promise<T>): Promise<T> => {
    uncork();
    const b = begun;
    begun = undefined;
    if (!b) return await command;
    const [, value] = await Promise.all([b, command]);
    return value;
  };
  const conn: LogConnection = {
    driver: 'mariadb',
    run: async (sql) => {
      if (sql === 'BEGIN' && begun === undefined && mc.isValid()) {
        if (socket && !socket.destroyed && !corked) {
          socket.cork();
          corked = true;
          setImmediate(uncork);
        }
        begun = mc.query(sql);
        // Observed by the next command; this only keeps an unawaited failure from being reported as unhandled.
        begun.catch(() => undefined);
        return;
      }
      await afterBegin(mc.query(sql));
    },
    insertRows: async (table, rows) => {
      const values: Array<Array<number | bigint | Buffer>> = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) values[i] = rows[i]!.values;
      await afterBegin(mc.batch(insertSql(table, 1), values));
    },
    queryConn: {
      query: (async (sql: string, params?: unknown[]) => [await afterBegin(mc.query(sql, params)), []]) as unknown as Connection['query'],
    },
    // Only the socket: the connector then fails what is in flight (a fatal error) and closes.
    // Its own destroy() would first mark the connection terminating, and the socket's error
    // would then be ignored while it waits for its KILL connection.
    destroy: () => {
      if (socket && !socket.destroyed) socket.destroy(Object.assign(new Error('log connection closed'), { code: 'ECONNABORTED' }));
      else mc.destroy();
    },
    end: () => mc.end(),
  };
  mc.on('error', () => onError(conn));
  return conn;
}
