import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { connectionOptions, parseMysqlUrl, withDatabase } from '../mysql.js';
import type { ServerGroup } from '../shards.js';
import { serverAddress } from './topology.js';

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
