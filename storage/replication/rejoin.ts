import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlUrl, withDatabase } from '../mysql.js';
import { gtidsMissingFrom, transactionsBehind } from './status.js';
import { serverAddress } from './topology.js';

/**
 * `kafka-mysql shards rejoin`: a former primary (promoted away from by a failover) becomes a
 * replica of the current primary. In order:
 *
 * 1. The current primary must answer, be writable and not replicate itself.
 * 2. The server is set read_only first, so nothing is written to it while it is examined.
 * 3. Its history must be a prefix of the primary's: every GTID of its @@gtid_binlog_state
 *    must be in the primary's (gtidsMissingFrom). An old primary killed after writing a commit
 *    to its binlog and before a replica acknowledged it holds such a transaction (never
 *    acknowledged to a producer, so nothing is lost by dropping it); replicating on top of it
 *    would mix two histories, so it is refused: RejoinRefused says what to do.
 * 4. STOP SLAVE, gtid_slave_pos = its own @@gtid_binlog_pos (what it holds, so it asks the
 *    primary for what follows), semi-sync replica side ON (so it acknowledges and counts for
 *    min.insync.replicas), CHANGE MASTER TO the primary (same user and password as the URL,
 *    MASTER_USE_GTID=slave_pos), START SLAVE.
 * 5. Waits until both replication threads run and it has applied what the primary had at
 *    step 1 (or `waitMs` passed); a replication error (e.g. the primary purged binlogs it needs)
 *    is reported.
 */
export class RejoinRefused extends Error {
  override name = 'RejoinRefused';
}

export interface RejoinResult {
  server: string;
  primary: string;
  /** Already a running replica of the primary: nothing was changed but read_only. */
  alreadyReplica: boolean;
  /** Applied everything the primary had when the rejoin started, within waitMs. */
  caughtUp: boolean;
  /** Transactions still to apply when the command returned. */
  behind: number;
  secondsBehindMaster: number | null;
}

async function open(url: string): Promise<mysql.Connection> {
  const opts = connectionOptions(parseMysqlUrl(withDatabase(url, '')));
  delete opts.stream;
  return mysql.createConnection({ ...opts, connectTimeout: 3000 });
}

async function one(c: mysql.Connection, sql: string): Promise<RowDataPacket | undefined> {
  const [rows] = await c.query<RowDataPacket[]>({ sql, timeout: 10_000 });
  return rows[0];
}

export async function rejoinAsReplica(serverUrl: string, primaryUrl: string, options: { waitMs?: number } = {}): Promise<RejoinResult> {
  const server = serverAddress(serverUrl);
  const primaryAt = serverAddress(primaryUrl);
  if (server === primaryAt) throw new RejoinRefused(`${server} is the current primary; rejoin makes a former primary a replica of it`);
  let p: mysql.Connection;
  try {
    p = await open(primaryUrl);
  } catch (err) {
    throw new RejoinRefused(`the current primary ${primaryAt} does not answer (${(err as Error).message}); rejoin needs it`);
  }
  let s: mysql.Connection | undefined;
  try {
    const pv = (await one(p, 'SELECT @@server_id AS id, @@read_only AS ro, @@gtid_binlog_pos AS pos, @@gtid_binlog_state AS state'))!;
    if (Number(pv.ro) === 1) throw new RejoinRefused(`${primaryAt} is read-only: not a primary (see kafka-mysql shards status)`);
    if (await one(p, 'SHOW SLAVE STATUS')) throw new RejoinRefused(`${primaryAt} replicates from another server: not a primary (see kafka-mysql shards status)`);
    try {
      s = await open(serverUrl);
    } catch (err) {
      throw new RejoinRefused(`${server} does not answer (${(err as Error).message}): start it first (it is fenced: read_only is set before anything else)`);
    }
    const sv0 = (await one(s, 'SELECT @@server_id AS id'))!;
    if (Number(sv0.id) === Number(pv.id)) throw new RejoinRefused(`${server} and the primary ${primaryAt} have the same server_id ${sv0.id}: give each server its own`);
    // 2. Fence before looking: a writable old primary must not take writes while examined.
    await s.query({ sql: 'SET GLOBAL read_only = ON', timeout: 10_000 });
    const st = await one(s, 'SHOW SLAVE STATUS');
    const target = parseMysqlUrl(primaryUrl);
    const fromPrimary = st && String(st.Master_Host) === target.host && Number(st.Master_Port) === target.port;
    if (fromPrimary && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes') {
      const sv = (await one(s, 'SELECT @@gtid_slave_pos AS pos'))!;
      return {
        server, primary: primaryAt, alreadyReplica: true, caughtUp: transactionsBehind(String(pv.pos), String(sv.pos)) === 0,
        behind: transactionsBehind(String(pv.pos), String(sv.pos)),
        secondsBehindMaster: st.Seconds_Behind_Master === null ? null : Number(st.Seconds_Behind_Master),
      };
    }
    // 3. Diverged history?
    if (st) await s.query({ sql: 'STOP SLAVE', timeout: 30_000 });
    const sv = (await one(s, 'SELECT @@gtid_binlog_pos AS pos, @@gtid_binlog_state AS state'))!;
    const missing = gtidsMissingFrom(String(sv.state ?? ''), String(pv.state ?? ''));
    if (missing.length > 0) {
      throw new RejoinRefused(
        `${server} has transactions the primary ${primaryAt} lacks: ${missing.join('; ')}.\n` +
          `Its history diverged (commits written to its binlog that no replica acknowledged before it failed: no producer was answered for them). ` +
          `It stays read-only and is not replicating. To make it a replica, rebuild it from the current primary: ` +
          `take a backup of ${primaryAt} (mariadb-backup --backup --slave-info, or mariadb-dump --all-databases --gtid --master-data=1), ` +
          `restore it on ${server} in place of its data, then run shards rejoin again. docs/operations.md, "Rejoining an old primary".`,
      );
    }
    // 4. Replicate from where its own binlog ends.
    await s.query({ sql: 'SET GLOBAL gtid_slave_pos = ?', values: [String(sv.pos ?? '')], timeout: 10_000 });
    await s.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
    await s.query({
      sql: 'CHANGE MASTER TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1',
      values: [target.host, target.port, target.user, target.password],
      timeout: 10_000,
    });
    await s.query({ sql: 'START SLAVE', timeout: 10_000 });
    // 5. Running and caught up with what the primary had at the start?
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    for (;;) {
      const now = await one(s, 'SHOW SLAVE STATUS');
      const pos = String((await one(s, 'SELECT @@gtid_slave_pos AS pos'))!.pos ?? '');
      const behind = transactionsBehind(String(pv.pos), pos);
      const error = String(now?.Last_IO_Error || now?.Last_SQL_Error || '');
      if (now?.Slave_SQL_Running === 'No' || (error !== '' && now?.Slave_IO_Running !== 'Yes')) {
        throw new Error(`${server} was pointed at ${primaryAt} but replication stopped: ${error || 'applier stopped'} (fix it, then START SLAVE or run rejoin again)`);
      }
      const running = now?.Slave_IO_Running === 'Yes' && now?.Slave_SQL_Running === 'Yes';
      if ((running && behind === 0) || Date.now() > deadline) {
        return {
          server, primary: primaryAt, alreadyReplica: false, caughtUp: running && behind === 0, behind,
          secondsBehindMaster: now?.Seconds_Behind_Master === null || now?.Seconds_Behind_Master === undefined ? null : Number(now.Seconds_Behind_Master),
        };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    p.destroy();
    s?.destroy();
  }
}
