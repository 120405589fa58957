import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';

/**
 * Whether a shard's commits are confirmed by a replica (semi-synchronous replication,
 * AFTER_SYNC), from the primary's status counters.
 *
 * MySQL and MariaDB fall back to asynchronous replication when no replica acknowledges a
 * commit within rpl_semi_sync_master_timeout, and COMMIT then succeeds all the same. To never
 * acknowledge such a commit to an acks=-1 producer, a group-commit transaction holding appends
 * that need a replica (min.insync.replicas >= 2) reads the counters right before and right
 * after its COMMIT, on the same connection: the commit is confirmed only when
 * Rpl_semi_sync_master_no_tx did not move, yes_tx did, and the status is ON afterwards. A
 * no_tx step of any other transaction in between also counts against it (global counters):
 * that errs towards a retriable error, never towards an unconfirmed acknowledgement.
 *
 * The three statements are sent without waiting for each other; the `mariadb` connector
 * pipelines them, so a healthy shard pays the two reads' execution, not two round trips
 * (mysql2, on MySQL, sends them one after the other).
 *
 * Once a commit was not confirmed the shard is degraded: appends needing a replica are refused
 * before anything is written (NOT_ENOUGH_REPLICAS), and each transaction first reads the
 * status again (one round trip, only while degraded) until it is ON.
 */
export interface SemiSyncCounters {
  on: boolean;
  yesTx: bigint;
  noTx: bigint;
}

const STATUS_SQL =
  "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_yes_tx', 'Rpl_semi_sync_master_no_tx', " +
  "'Rpl_semi_sync_source_status', 'Rpl_semi_sync_source_yes_tx', 'Rpl_semi_sync_source_no_tx')";

export async function readSemiSyncCounters(conn: Pick<Connection, 'query'>): Promise<SemiSyncCounters> {
  const [rows] = await conn.query<RowDataPacket[]>(STATUS_SQL);
  const v = new Map<string, string>();
  for (const r of rows) v.set(String(r.Variable_name).toLowerCase().replace('_source_', '_master_'), String(r.Value));
  const status = v.get('rpl_semi_sync_master_status');
  if (status === undefined) throw new Error('semi-synchronous replication is not available on this server');
  return {
    on: status === 'ON',
    yesTx: BigInt(v.get('rpl_semi_sync_master_yes_tx') ?? '0'),
    noTx: BigInt(v.get('rpl_semi_sync_master_no_tx') ?? '0'),
  };
}

/** True when a commit between `before` and `after` was acknowledged by a replica. */
export function confirmedBetween(before: SemiSyncCounters, after: SemiSyncCounters): boolean {
  return after.on && after.noTx === before.noTx && after.yesTx > before.yesTx;
}

/** One shard's semi-sync state, shared by its commit lanes. */
export class SemiSyncMonitor {
  degraded = false;
  /** Commits confirmed / not confirmed (metrics). */
  confirmed = 0;
  unconfirmed = 0;

  constructor(
    readonly shard: number,
    private readonly logger?: Logger,
  ) {}

  noteCommit(ok: boolean): void {
    if (ok) {
      this.confirmed++;
      if (this.degraded) this.logger?.info({ shard: this.shard }, 'semi-synchronous replication confirmed again');
      this.degraded = false;
      return;
    }
    this.unconfirmed++;
    if (!this.degraded) this.logger?.warn({ shard: this.shard }, 'a commit was not confirmed by a replica: acks=-1 appends needing min.insync.replicas >= 2 get NOT_ENOUGH_REPLICAS');
    this.degraded = true;
  }

  /** While degraded: reads the status again; the shard is healthy once it is ON. */
  async recheck(conn: Pick<Connection, 'query'>): Promise<boolean> {
    if (!this.degraded) return true;
    const c = await readSemiSyncCounters(conn);
    if (c.on) {
      this.degraded = false;
      this.logger?.info({ shard: this.shard }, 'semi-synchronous replication is ON again');
    }
    return c.on;
  }
}

/** Servers an append must reach before it is acknowledged (1 unless acks=-1 with min.insync.replicas >= 2). */
export function needsReplica(minInsyncReplicas: number | undefined): boolean {
  return (minInsyncReplicas ?? 1) >= 2;
}
