import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlUrl, withDatabase } from '../mysql.js';
import type { ServerGroup } from '../shards.js';
import { parseShardServers, serverAddress } from './topology.js';

/** One server with replicas as `kafka-mysql shards status` shows it; no credentials. */
export interface ServerGroupStatus {
  name: string;
  shards: number[];
  epoch: number;
  primary: { address: string; reachable: boolean; readOnly: boolean | null; semiSync: string | null; semiSyncClients: number | null; gtid: string | null };
  replicas: Array<{
    address: string;
    reachable: boolean;
    ioRunning: string | null;
    sqlRunning: string | null;
    /** Seconds_Behind_Master (null when not replicating). */
    lagSeconds: number | null;
    received: string | null;
    applied: string | null;
    error: string | null;
  }>;
  fenced: string[];
}

async function open(url: string): Promise<mysql.Connection> {
  const opts = connectionOptions(parseMysqlUrl(withDatabase(url, '')));
  delete opts.stream;
  return mysql.createConnection({ ...opts, connectTimeout: 2000 });
}

export async function readGroupStatus(g: ServerGroup): Promise<ServerGroupStatus> {
  const out: ServerGroupStatus = {
    name: g.name,
    shards: [...g.shards],
    epoch: g.epoch,
    primary: { address: serverAddress(g.primary), reachable: false, readOnly: null, semiSync: null, semiSyncClients: null, gtid: null },
    replicas: [],
    fenced: g.fenced.map(serverAddress),
  };
  try {
    const c = await open(g.primary);
    try {
      const [v] = await c.query<RowDataPacket[]>('SELECT @@read_only AS ro, @@gtid_binlog_pos AS g');
      const [s] = await c.query<RowDataPacket[]>("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')");
      const st = new Map(s.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
      out.primary = {
        address: out.primary.address,
        reachable: true,
        readOnly: Number(v[0]?.ro) === 1,
        semiSync: st.get('rpl_semi_sync_master_status') ?? null,
        semiSyncClients: st.has('rpl_semi_sync_master_clients') ? Number(st.get('rpl_semi_sync_master_clients')) : null,
        gtid: String(v[0]?.g ?? ''),
      };
    } finally {
      c.destroy();
    }
  } catch {
    /* unreachable: reported as such */
  }
  for (const r of g.replicas) {
    const entry: ServerGroupStatus['replicas'][number] = {
      address: serverAddress(r), reachable: false, ioRunning: null, sqlRunning: null, lagSeconds: null, received: null, applied: null, error: null,
    };
    try {
      const c = await open(r);
      try {
        const [rows] = await c.query<RowDataPacket[]>('SHOW SLAVE STATUS');
        const [pos] = await c.query<RowDataPacket[]>('SELECT @@gtid_slave_pos AS s');
        const s = rows[0];
        entry.reachable = true;
        entry.applied = String(pos[0]?.s ?? '');
        if (s) {
          entry.ioRunning = String(s.Slave_IO_Running);
          entry.sqlRunning = String(s.Slave_SQL_Running);
          entry.lagSeconds = s.Seconds_Behind_Master === null ? null : Number(s.Seconds_Behind_Master);
          entry.received = String(s.Gtid_IO_Pos ?? '');
          entry.error = String(s.Last_SQL_Error || s.Last_IO_Error || '') || null;
        } else entry.error = 'not replicating';
      } finally {
        c.destroy();
      }
    } catch (err) {
      entry.error = (err as Error).message;
    }
    out.replicas.push(entry);
  }
  return out;
}

/**
 * One server as `kafka-mysql shards status` shows it, whatever the broker thinks of it: the
 * role comes from the server itself (replicating = replica; not replicating and writable =
 * primary; not replicating and read-only = a fenced old primary or a stopped replica).
 */
export interface ServerStatus {
  address: string;
  reachable: boolean;
  error: string | null;
  role: 'primary' | 'replica' | 'read-only' | 'unreachable';
  serverId: number | null;
  readOnly: boolean | null;
  /** Last GTID of each replication domain in the binlog (what this server holds). */
  gtidBinlogPos: string | null;
  /** Last GTID per domain and originating server (used to find diverged histories). */
  gtidBinlogState: string | null;
  /** What the applier has applied (replicas). */
  gtidSlavePos: string | null;
  semiSync: {
    masterEnabled: boolean | null;
    /** Rpl_semi_sync_master_status: ON while commits wait for a replica's acknowledgement. */
    masterStatus: string | null;
    clients: number | null;
    /** Commits a replica acknowledged / that went ahead without (timeout). */
    yesTx: number | null;
    noTx: number | null;
    /** Sessions waiting for an acknowledgement now; commits that waited so far; their mean wait. */
    waitSessions: number | null;
    txWaits: number | null;
    txAvgWaitUs: number | null;
    slaveEnabled: boolean | null;
    slaveStatus: string | null;
  };
  /** SHOW SLAVE STATUS of a replica (null when the server does not replicate). */
  replication: {
    source: string;
    ioRunning: string;
    sqlRunning: string;
    secondsBehindMaster: number | null;
    gtidIoPos: string;
    usingGtid: string;
    lastError: string | null;
  } | null;
}

const SEMI_SYNC_STATUS = [
  'Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_yes_tx', 'Rpl_semi_sync_master_no_tx',
  'Rpl_semi_sync_master_wait_sessions', 'Rpl_semi_sync_master_tx_waits', 'Rpl_semi_sync_master_tx_avg_wait_time', 'Rpl_semi_sync_slave_status',
];

export async function readServerStatus(url: string): Promise<ServerStatus> {
  const out: ServerStatus = {
    address: serverAddress(url), reachable: false, error: null, role: 'unreachable', serverId: null, readOnly: null,
    gtidBinlogPos: null, gtidBinlogState: null, gtidSlavePos: null,
    semiSync: { masterEnabled: null, masterStatus: null, clients: null, yesTx: null, noTx: null, waitSessions: null, txWaits: null, txAvgWaitUs: null, slaveEnabled: null, slaveStatus: null },
    replication: null,
  };
  let c: mysql.Connection;
  try {
    c = await open(url);
  } catch (err) {
    out.error = (err as Error).message;
    return out;
  }
  try {
    const [v] = await c.query<RowDataPacket[]>({
      sql: `SELECT @@server_id AS id, @@read_only AS ro, @@gtid_binlog_pos AS pos, @@gtid_binlog_state AS state, @@gtid_slave_pos AS slave,
              @@rpl_semi_sync_master_enabled AS me, @@rpl_semi_sync_slave_enabled AS se`,
      timeout: 5000,
    });
    const [s] = await c.query<RowDataPacket[]>({ sql: `SHOW GLOBAL STATUS WHERE Variable_name IN (${SEMI_SYNC_STATUS.map(() => '?').join(', ')})`, values: SEMI_SYNC_STATUS, timeout: 5000 });
    const [rows] = await c.query<RowDataPacket[]>({ sql: 'SHOW SLAVE STATUS', timeout: 5000 });
    const st = new Map(s.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
    const num = (k: string) => (st.has(k) ? Number(st.get(k)) : null);
    const row = v[0]!;
    out.reachable = true;
    out.serverId = Number(row.id);
    out.readOnly = Number(row.ro) === 1;
    out.gtidBinlogPos = String(row.pos ?? '');
    out.gtidBinlogState = String(row.state ?? '');
    out.gtidSlavePos = String(row.slave ?? '');
    out.semiSync = {
      masterEnabled: Number(row.me) === 1,
      masterStatus: st.get('rpl_semi_sync_master_status') ?? null,
      clients: num('rpl_semi_sync_master_clients'),
      yesTx: num('rpl_semi_sync_master_yes_tx'),
      noTx: num('rpl_semi_sync_master_no_tx'),
      waitSessions: num('rpl_semi_sync_master_wait_sessions'),
      txWaits: num('rpl_semi_sync_master_tx_waits'),
      txAvgWaitUs: num('rpl_semi_sync_master_tx_avg_wait_time'),
      slaveEnabled: Number(row.se) === 1,
      slaveStatus: st.get('rpl_semi_sync_slave_status') ?? null,
    };
    const r = rows[0];
    if (r) {
      out.replication = {
        source: `${String(r.Master_Host)}:${String(r.Master_Port)}`,
        ioRunning: String(r.Slave_IO_Running),
        sqlRunning: String(r.Slave_SQL_Running),
        secondsBehindMaster: r.Seconds_Behind_Master === null ? null : Number(r.Seconds_Behind_Master),
        gtidIoPos: String(r.Gtid_IO_Pos ?? ''),
        usingGtid: String(r.Using_Gtid ?? ''),
        lastError: String(r.Last_SQL_Error || r.Last_IO_Error || '') || null,
      };
    }
    out.role = out.replication ? 'replica' : out.readOnly ? 'read-only' : 'primary';
  } catch (err) {
    out.error = (err as Error).message;
  } finally {
    c.destroy();
  }
  return out;
}

/** A server group as configured (mysql.url, mysql.shards with replica= parameters), before any failover. */
export interface ConfiguredGroup {
  name: string;
  shards: number[];
  primary: string;
  replicas: string[];
}

/** The configured servers, grouped by primary as the broker's shard map groups them (storage/shards.ts). */
export function configuredServerGroups(metadataUrl: string, shardUrls: string[]): ConfiguredGroup[] {
  const groups: ConfiguredGroup[] = [];
  const add = (url: string, name: string, shard: number | null) => {
    const { primary, replicas } = parseShardServers(url);
    let g = groups.find((x) => serverAddress(x.primary) === serverAddress(primary));
    if (!g) groups.push((g = { name, shards: [], primary, replicas }));
    else if (g.replicas.length === 0) g.replicas = replicas;
    if (shard !== null) g.shards.push(shard);
  };
  add(metadataUrl, 'metadata database', null);
  shardUrls.forEach((u, i) => add(u, `shard ${i}`, i));
  return groups;
}

/** `url` with its host and port replaced by `address` (host:port): the same user, password and database. */
export function urlAt(url: string, address: string): string {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`expected host:port, got '${address}'`);
  const u = new URL(url);
  u.hostname = m[1]!;
  u.port = m[2]!;
  u.searchParams.delete('socket');
  u.searchParams.delete('replica');
  return u.toString();
}

type GtidMap = Map<string, bigint>;

/** `0-1-42,0-2-50,1-3-7` into domain-server -> seq (the largest when repeated). */
function parseGtids(list: string | null | undefined): GtidMap {
  const out: GtidMap = new Map();
  for (const g of (list ?? '').split(',')) {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(g);
    if (!m) continue;
    const key = `${m[1]}-${m[2]}`;
    const seq = BigInt(m[3]!);
    if ((out.get(key) ?? -1n) < seq) out.set(key, seq);
  }
  return out;
}

/**
 * Transactions a server has that the primary lacks, from both servers' @@gtid_binlog_state
 * (the last GTID of each domain and originating server): for each domain-server pair, a
 * sequence number beyond the primary's is a transaction the primary never received (typically
 * an old primary's last commits that no replica acknowledged, so no producer was answered
 * for them). Returns one description per pair, e.g. `0-1-100 (the primary has 0-1 up to 0-1-95)`.
 */
export function gtidsMissingFrom(serverState: string, primaryState: string): string[] {
  const primary = parseGtids(primaryState);
  const missing: string[] = [];
  for (const [key, seq] of parseGtids(serverState)) {
    const has = primary.get(key);
    if (has === undefined) missing.push(`${key}-${seq} (the primary has nothing from server ${key.split('-')[1]} in domain ${key.split('-')[0]})`);
    else if (seq > has) missing.push(`${key}-${seq} (the primary has ${key} up to ${key}-${has})`);
  }
  return missing;
}

/** Transactions a replica has yet to apply: per domain, the primary's last sequence number minus the replica's (0 when level). */
export function transactionsBehind(primaryPos: string | null, replicaPos: string | null): number {
  const perDomain = (list: string | null) => {
    const m = new Map<string, bigint>();
    for (const [key, seq] of parseGtids(list)) {
      const d = key.split('-')[0]!;
      if ((m.get(d) ?? -1n) < seq) m.set(d, seq);
    }
    return m;
  };
  const p = perDomain(primaryPos);
  const r = perDomain(replicaPos);
  let behind = 0n;
  for (const [d, seq] of p) behind += seq > (r.get(d) ?? 0n) ? seq - (r.get(d) ?? 0n) : 0n;
  return Number(behind);
}
