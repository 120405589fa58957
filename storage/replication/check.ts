import type { Logger } from 'pino';
import type { RowDataPacket } from 'mysql2/promise';
import { connect, redactUrl, withDatabase } from '../mysql.js';
import { serverAddress } from './topology.js';

/**
 * The start-up check of a shard with replicas: every server setting the guarantee needs
 * (docs/operations.md, "Shards with replicas"), one message per wrong setting. A wrong
 * setting on the primary, or on a replica that answers, stops the start with all of them
 * listed; a replica that does not answer is only logged (the shard works without it:
 * min.insync.replicas=1 topics keep going, acks=-1 with 2 gets NOT_ENOUGH_REPLICAS).
 */
export async function checkReplicatedShard(name: string, primary: string, replicas: string[], logger?: Logger): Promise<void> {
  const problems: string[] = [];
  let p;
  try {
    p = await connect(withDatabase(primary, ''));
  } catch (err) {
    // A dead old primary: name a writable replica, if one is, as the likely new primary.
    const hint = await writableReplica(replicas);
    throw new Error(
      `cannot reach the ${name} primary ${serverAddress(primary)}: ${(err as Error).message}` +
        (hint ? `\n  ${hint} is writable and not replicating: a failover probably made it the primary; name it in mysql.url / mysql.shards (docs/operations.md, "Failover runbook")` : ''),
    );
  }
  let primaryId: number;
  let primaryReadOnly = false;
  try {
    const v = await variables(p, [
      'server_id', 'log_bin', 'binlog_format', 'read_only', 'gtid_strict_mode', 'sync_binlog', 'innodb_flush_log_at_trx_commit',
      'rpl_semi_sync_master_enabled', 'rpl_semi_sync_master_wait_point', 'rpl_semi_sync_master_timeout',
    ]);
    primaryId = Number(v.get('server_id'));
    primaryReadOnly = v.get('read_only')?.toUpperCase() === 'ON';
    const at = `${name} primary ${serverAddress(primary)}`;
    expect(problems, at, v, 'log_bin', 'ON', 'binary log off: nothing to replicate (start with --log-bin)');
    expect(problems, at, v, 'binlog_format', 'ROW', 'set binlog_format=ROW');
    expect(problems, at, v, 'read_only', 'OFF', 'the primary is read-only (a fenced old primary? see docs/operations.md, rejoin)');
    expect(problems, at, v, 'gtid_strict_mode', 'ON', 'set gtid_strict_mode=ON so a diverged server stops instead of replicating around the gap');
    expect(problems, at, v, 'sync_binlog', '1', 'set sync_binlog=1: the binlog must be on disk before a replica acknowledges');
    expect(problems, at, v, 'innodb_flush_log_at_trx_commit', '1', 'set innodb_flush_log_at_trx_commit=1');
    expect(problems, at, v, 'rpl_semi_sync_master_enabled', 'ON', 'set rpl_semi_sync_master_enabled=ON (semi-synchronous replication)');
    expect(problems, at, v, 'rpl_semi_sync_master_wait_point', 'AFTER_SYNC', 'set rpl_semi_sync_master_wait_point=AFTER_SYNC: other sessions must not see a commit before a replica has it');
  } finally {
    await p.end().catch(() => undefined);
  }
  const ids = new Set<number>([primaryId]);
  /** Replicas that are writable and replicate from nothing: after a failover, the new primary. */
  const writable: string[] = [];
  for (const r of replicas) {
    const at = `${name} replica ${serverAddress(r)}`;
    let c;
    try {
      c = await connect(withDatabase(r, ''));
    } catch (err) {
      logger?.warn({ shard: name, replica: redactUrl(r), err: (err as Error).message }, 'replica not reachable at start-up');
      continue;
    }
    try {
      const v = await variables(c, ['server_id', 'log_bin', 'log_slave_updates', 'read_only', 'gtid_strict_mode', 'rpl_semi_sync_slave_enabled']);
      const id = Number(v.get('server_id'));
      if (ids.has(id)) problems.push(`${at}: server_id ${id} is used by another server of the shard`);
      ids.add(id);
      expect(problems, at, v, 'read_only', 'ON', 'set read_only=ON on replicas: only the primary may be written');
      expect(problems, at, v, 'rpl_semi_sync_slave_enabled', 'ON', 'set rpl_semi_sync_slave_enabled=ON, or it never acknowledges');
      expect(problems, at, v, 'log_bin', 'ON', 'binary log off: the replica cannot be promoted (start with --log-bin)');
      expect(problems, at, v, 'log_slave_updates', 'ON', 'set log_slave_updates=ON so a promoted replica serves everything it applied');
      expect(problems, at, v, 'gtid_strict_mode', 'ON', 'set gtid_strict_mode=ON');
      const [rows] = await c.query<RowDataPacket[]>('SHOW SLAVE STATUS');
      const s = rows[0];
      if (!s && v.get('read_only')?.toUpperCase() === 'OFF') writable.push(serverAddress(r));
      if (!s) problems.push(`${at}: not a replica (CHANGE MASTER TO MASTER_HOST=..., MASTER_USE_GTID=slave_pos; START SLAVE)`);
      else {
        if (String(s.Using_Gtid) === 'No') problems.push(`${at}: replicates by binlog position; set MASTER_USE_GTID=slave_pos`);
        if (Number(s.Master_Server_Id) !== 0 && Number(s.Master_Server_Id) !== primaryId) {
          problems.push(`${at}: replicates from server_id ${s.Master_Server_Id}, not from the primary (server_id ${primaryId})`);
        }
        if (s.Slave_SQL_Running !== 'Yes') problems.push(`${at}: the applier (SQL thread) is stopped: ${String(s.Last_SQL_Error || 'START SLAVE')}`);
        else if (s.Slave_IO_Running !== 'Yes') logger?.warn({ shard: name, replica: serverAddress(r), error: s.Last_IO_Error }, 'replica is not connected to the primary');
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  if (primaryReadOnly && writable.length === 1) {
    // Without ZooKeeper nothing records a failover but the servers: name the likely new primary.
    problems.unshift(
      `${name}: the configured primary ${serverAddress(primary)} is read-only and ${writable[0]} is writable and not replicating: ` +
        `a failover probably made ${writable[0]} the primary. Name it in mysql.url / mysql.shards (the other servers as replica=host:port), ` +
        `then make ${serverAddress(primary)} a replica with kafka-mysql shards rejoin (docs/operations.md, "Failover runbook")`,
    );
  }
  if (problems.length > 0) throw new Error(`replication settings of ${name} are wrong:\n  - ${problems.join('\n  - ')}`);
}

/** The one configured replica that answers writable and replicates from nothing, if exactly one does. */
async function writableReplica(replicas: string[]): Promise<string | null> {
  const found: string[] = [];
  for (const r of replicas) {
    let c;
    try {
      c = await connect(withDatabase(r, ''));
      const [ro] = await c.query<RowDataPacket[]>('SELECT @@read_only AS ro');
      const [slave] = await c.query<RowDataPacket[]>('SHOW SLAVE STATUS');
      if (Number(ro[0]?.ro) === 0 && slave.length === 0) found.push(serverAddress(r));
    } catch {
      /* not answering: not the primary */
    } finally {
      await c?.end().catch(() => undefined);
    }
  }
  return found.length === 1 ? found[0]! : null;
}

async function variables(conn: Awaited<ReturnType<typeof connect>>, names: string[]): Promise<Map<string, string>> {
  const [rows] = await conn.query<RowDataPacket[]>(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`, names);
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}

function expect(problems: string[], at: string, v: Map<string, string>, name: string, wanted: string, why: string): void {
  const got = v.get(name);
  if (got === undefined) problems.push(`${at}: ${name} is not a setting of this server (MariaDB 10.3+ has semi-sync built in): ${why}`);
  else if (got.toUpperCase() !== wanted) problems.push(`${at}: ${name} is ${got}, needs ${wanted}: ${why}`);
}
