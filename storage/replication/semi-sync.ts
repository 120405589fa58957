import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
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

/** An end waiting for a confirmation (see SemiSyncMonitor.pending). */
interface PendingEnd {
  ticket: number;
  probe?: number;
  target: ConfirmTarget;
  end: bigint;
}

/** A partition whose high watermark waits for a replica to confirm a commit (see SemiSyncMonitor). */
export interface ConfirmTarget {
  /** Moves the high watermark up to `offset` (never down, never past the log end). */
  confirmUpTo(offset: bigint): void;
}

/**
 * One shard's semi-sync state, shared by its commit lanes.
 *
 * High watermark: every commit on a shard with replicas is bracketed by the counters
 * (transaction.ts), and a partition's high watermark moves over a commit only once a replica
 * confirmed it, so no consumer reads what a failover could lose. An unconfirmed commit leaves
 * its partitions' ends pending here. A replica receives the binlog in order, so a later
 * confirmed commit confirms every commit that had completed before it was sent: each commit
 * takes a ticket (`commitsNoted`) when it sends COMMIT, and a confirmation releases the
 * pending ends noted up to that ticket. While ends are pending, `probe` (a small write
 * bracketed the same way, every `probeIntervalMs`) confirms them on an idle shard once a
 * replica acknowledges again.
 *
 * An end read from the primary (a partition loaded or reloaded, a follower's read) may hold
 * commits no replica confirmed: awaitConfirmation keeps it pending until a commit or a probe
 * sent after that read is confirmed, and asks for a probe at once (at most one per interval).
 *
 * Standalone: while the shard's current topology has no replica at all (a failover promoted
 * the last one; `hasReplica` says false), there is nothing to confirm and no server a failover
 * could move to, so nothing the primary holds can be lost by one. As Kafka does when the ISR
 * shrinks to the leader, the high watermark then follows the committed ends (transaction.ts
 * does not bracket such commits; awaitConfirmation moves its target at once) and appends
 * needing a replica are refused before anything is written. Once a replica is back in the
 * topology (`shards rejoin`, a restart with replicas), commits decided from then on are
 * bracketed again. This differs from `degraded` (replicas configured but not answering), where
 * the high watermark waits: such a replica may come back holding less, and be promoted.
 */
export class SemiSyncMonitor {
  degraded = false;
  /** Commits confirmed / not confirmed (metrics). */
  confirmed = 0;
  unconfirmed = 0;
  /** Commits noted so far (the ticket of a commit is the value when it is sent). */
  private noted = 0;
  /**
   * Ends waiting: released by a confirmed commit sent with a ticket >= `ticket`, or (ends read
   * from the primary) by a confirmed probe started after probe number `probe`.
   */
  private pending: PendingEnd[] = [];
  /** Per target, its newest end read from the primary, and whether an older one waits too. */
  private readonly newestRead = new Map<ConfirmTarget, { entry: PendingEnd; older: boolean }>();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeDue = 0;
  private probing = false;
  /** Probes started so far, and when the last one started (ms). */
  private probesStarted = 0;
  private lastProbeAt = 0;
  /** Tickets below this were sent to a primary the shard has since moved away from (forgetPending). */
  private forgottenBelow = 0;
  /** What `standalone` last answered (its changes are logged). */
  private wasStandalone = false;

  constructor(
    readonly shard: number,
    private readonly logger?: Logger,
    /** A write bracketed by the counters: true when a replica confirmed it. */
    private readonly probe?: () => Promise<boolean>,
    private readonly probeIntervalMs = 500,
    /** Whether the shard's current topology has a replica (absent: always). */
    private readonly hasReplica: () => boolean = () => true,
  ) {}

  /** No replica in the shard's current topology: commits need no confirmation (see the class comment). */
  get standalone(): boolean {
    const alone = !this.hasReplica();
    if (alone !== this.wasStandalone) {
      this.wasStandalone = alone;
      if (alone) {
        this.logger?.warn({ shard: this.shard }, 'shard has no replica left: the high watermark follows the primary alone; acks=-1 appends needing min.insync.replicas >= 2 get NOT_ENOUGH_REPLICAS');
      } else this.logger?.info({ shard: this.shard }, 'shard has a replica again: commits from now on are visible once a replica confirmed them');
    }
    return alone;
  }

  /** The ticket of a commit about to be sent. */
  get commitsNoted(): number {
    return this.noted;
  }

  /** Partitions whose high watermark waits for a confirmation. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * After a commit sent with `ticket`: a confirmation releases every end noted before it was
   * sent; an unconfirmed commit's ends wait (the probe runs until they are confirmed).
   */
  settle(ok: boolean, ticket: number, ends: Iterable<[ConfirmTarget, bigint]>): void {
    this.noted++;
    // Sent to the previous primary: its partitions reload their ends from the new one.
    if (ticket < this.forgottenBelow) return;
    if (ok) {
      this.release(ticket);
      return;
    }
    for (const [target, end] of ends) this.pending.push({ ticket: this.noted, target, end });
    this.scheduleProbe();
  }

  /**
   * `end` was read from the primary (a load, a reload, a follower's read) and may hold commits
   * no replica confirmed: `target` moves up to it once a commit sent after this call (a ticket
   * past the commits noted now), or a probe started after it, is confirmed. Call it after the
   * read returned: what a confirmed later write confirms is what the binlog held before it.
   */
  awaitConfirmation(target: ConfirmTarget, end: bigint): void {
    // No replica to confirm, none to fail over to: what the primary holds is the shard.
    if (this.standalone) {
      target.confirmUpTo(end);
      return;
    }
    const entry: PendingEnd = { ticket: this.noted + 1, probe: this.probesStarted, target, end };
    const last = this.newestRead.get(target);
    if (last?.older) {
      // At most two per target (a follower reads its end again at every poll): the newest is
      // replaced, since whatever releases the new one releases the old one too.
      last.entry.ticket = entry.ticket;
      last.entry.probe = entry.probe;
      if (end > last.entry.end) last.entry.end = end;
    } else {
      this.pending.push(entry);
      this.newestRead.set(target, { entry, older: last !== undefined });
    }
    this.scheduleProbe(true);
  }

  /** The shard moved to another primary: its partitions reload their ends from it. */
  forgetPending(): void {
    this.pending = [];
    this.newestRead.clear();
    // A commit sent to the old primary and settled after this must not leave its end waiting
    // here (that end may hold rows the new primary lacks): its ticket is below every later one.
    this.forgottenBelow = ++this.noted;
  }

  stop(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.forgetPending();
  }

  /** `probe`: the number of the confirmed probe, when a probe is what confirmed. */
  private release(ticket: number, probe?: number): void {
    if (this.pending.length === 0) return;
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      if (p.ticket <= ticket || (probe !== undefined && p.probe !== undefined && p.probe < probe)) {
        if (p.probe !== undefined) {
          const newest = this.newestRead.get(p.target);
          if (newest?.entry === p) this.newestRead.delete(p.target);
          else if (newest) newest.older = false;
        }
        p.target.confirmUpTo(p.end);
      } else keep.push(p);
    }
    this.pending = keep;
  }

  /**
   * Runs the probe after the interval; `prompt` (an end read from the primary waits): as soon
   * as the last probe is an interval old, so a loaded partition is confirmed without waiting.
   */
  private scheduleProbe(prompt = false): void {
    if (!this.probe || this.pending.length === 0) return;
    const now = Date.now();
    const due = prompt ? Math.max(now, this.lastProbeAt + this.probeIntervalMs) : now + this.probeIntervalMs;
    if (this.probeTimer) {
      if (this.probeDue <= due) return;
      clearTimeout(this.probeTimer);
    }
    this.probeDue = due;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.runProbe();
    }, due - now);
    this.probeTimer.unref();
  }

  private async runProbe(): Promise<void> {
    if (this.probing || this.pending.length === 0) return;
    this.probing = true;
    const ticket = this.noted;
    const number = ++this.probesStarted;
    this.lastProbeAt = Date.now();
    try {
      const ok = await this.probe!();
      this.noteCommit(ok);
      this.noted++;
      if (ok) this.release(ticket, number);
    } catch (err) {
      this.logger?.debug({ shard: this.shard, err: (err as Error).message }, 'semi-sync probe failed');
    } finally {
      this.probing = false;
      // Ends read from the primary while this probe ran wait for the next one, at once.
      this.scheduleProbe(this.pending.some((p) => p.probe !== undefined && p.probe >= number));
    }
  }

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

/**
 * The probe of SemiSyncMonitor on a pool: one autocommitted write to shard_meta between two
 * counter reads on the same connection (a changed value, so the row event is binlogged).
 */
export async function probeConfirmation(pool: Pick<Pool, 'getConnection'>): Promise<boolean> {
  const conn = await pool.getConnection();
  try {
    const before = await readSemiSyncCounters(conn);
    await conn.query(
      "INSERT INTO shard_meta (meta_key, meta_value) VALUES ('semi_sync_probe', ?) ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
      [`${Date.now()}-${process.pid}-${Math.random()}`],
    );
    const after = await readSemiSyncCounters(conn);
    return confirmedBetween(before, after);
  } finally {
    conn.release();
  }
}
