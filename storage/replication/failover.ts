import { exec } from 'node:child_process';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { connectionOptions, parseMysqlUrl, redactUrl, withDatabase } from '../mysql.js';
import type { ServerGroup, ShardMap } from '../shards.js';
import { transactionsBehind } from './status.js';
import { serverAddress } from './topology.js';

/**
 * Automatic failover of the servers with replicas (one broker in charge: the lone broker, or
 * the controller). Every `checkIntervalMs` the watcher opens a connection to each primary and
 * reads @@read_only. Once a primary has not answered (or answers read-only) for `timeoutMs`:
 *
 * 1. Pick the most advanced replica: the largest GTID sequence it has received (Gtid_IO_Pos),
 *    which holds every commit a replica acknowledged (AFTER_SYNC: the primary waits for the
 *    replica to have the event in its relay log before the commit is visible or answered).
 * 2. Let it apply what it received (MASTER_GTID_WAIT up to its Gtid_IO_Pos), stop and forget
 *    replication, enable semi-sync as a primary, and make it writable.
 * 3. Fence the old primary: SET GLOBAL read_only=ON when it answers (and on every later check
 *    that finds it writable), then the operator's fencing command (mysql.failover.fencing.command).
 *    Once it replicates from the current primary (`kafka-mysql shards rejoin`), a later check
 *    makes it a replica again: a candidate of the next failover.
 * 4. Point the other replicas at the new primary (GTID, slave_pos).
 * 5. Publish: ShardMap.promote (epoch + 1) switches every pool of the server, and `onPromoted`
 *    makes the broker repoint its committers and reload the partitions of the moved shards.
 *
 * Nothing is written to the old primary by this process after step 5; a replica that cannot
 * be promoted (none reachable) leaves the shard without a writable primary: produce gets
 * retriable errors and the watcher tries again on its next check.
 */
export interface FailoverSettings {
  timeoutMs: number;
  checkIntervalMs?: number;
  /** Shell command run after a promotion (env: KAFKA_MYSQL_SHARD, KAFKA_MYSQL_OLD_PRIMARY, KAFKA_MYSQL_NEW_PRIMARY). */
  fencingCommand?: string | null;
  logger?: Logger;
  /** After a promotion: the shards whose primary moved and their new URLs. */
  onPromoted(group: ServerGroup, shards: Array<{ shard: number; url: string }>): void;
  /**
   * Several brokers (server/cluster/shard-failover.ts): who may promote, and the shard epoch
   * claimed and published through ZooKeeper. Absent: this process alone decides (lone broker).
   */
  coordinator?: FailoverCoordinator;
}

/**
 * Coordination of a promotion between brokers. `claim` reserves the group's next epoch before
 * any replica is touched (a versioned write: of two brokers deciding at once, one wins);
 * `publish` records the new primary under that epoch, which every broker follows. The
 * coordinator applies the published record to this process itself (ShardMap.promote through
 * `applyPromotion`), so the watcher does not.
 */
export interface FailoverCoordinator {
  /** This broker's own view of the group's primary: unreachable for the timeout, or answering again. */
  report(group: ServerGroup, unreachable: boolean): void;
  /** True when this broker decides promotions (the controller) and enough brokers report the primary unreachable. */
  mayPromote(group: ServerGroup): Promise<boolean>;
  /** Reserves the group's next epoch; null when another broker holds it or the record moved. */
  claim(group: ServerGroup): Promise<number | null>;
  /** Records `newPrimary` as the group's primary at `epoch` and applies it here; false when the claim was lost. */
  publish(group: ServerGroup, epoch: number, newPrimary: string): Promise<boolean>;
  /**
   * Whether this broker may set `server` (one of its fenced old primaries, found writable)
   * read-only: not while a promotion is in progress or published past this broker's epoch,
   * since the writable server may be the one another broker has just promoted.
   */
  mayFence(group: ServerGroup, server: string): Promise<boolean>;
}

export interface FailoverStats {
  failovers: number;
  lastFailoverMs: number;
}

export class FailoverWatcher {
  readonly stats: FailoverStats = { failovers: 0, lastFailoverMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private readonly lastOk = new Map<ServerGroup, number>();
  private running = false;
  /** Fenced old primaries found unreachable on their last check (logged once when they answer again). */
  private readonly fencedUnreachable = new Set<string>();
  private stopped = false;

  constructor(
    private readonly shards: ShardMap,
    private readonly settings: FailoverSettings,
  ) {}

  start(): void {
    // Groups with fenced old primaries too (started on the published primary after a failover
    // used the last replica): the checks fence them and notice their rejoin.
    const groups = this.shards.groups.filter((g) => g.replicas.length > 0 || g.fenced.length > 0);
    if (groups.length === 0) return;
    const now = Date.now();
    for (const g of groups) this.lastOk.set(g, now);
    const interval = this.settings.checkIntervalMs ?? Math.max(100, Math.min(1000, Math.floor(this.settings.timeoutMs / 4)));
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (const g of this.shards.groups) {
        const probeMs = Math.min(2000, Math.max(200, this.settings.timeoutMs / 2));
        // Old primaries checked beside the probe: one that hangs must not delay the primary's.
        const [, ok] = await Promise.all([this.checkFenced(g), g.replicas.length > 0 ? probeWritable(g.primary, probeMs) : Promise.resolve(true)]);
        if (g.replicas.length === 0 || this.stopped) continue;
        const now = Date.now();
        const coordinator = this.settings.coordinator;
        if (ok) {
          this.lastOk.set(g, now);
          coordinator?.report(g, false);
          continue;
        }
        const since = this.lastOk.get(g) ?? now;
        if (now - since < this.settings.timeoutMs) continue;
        // In a cluster only the controller promotes, once enough brokers see the primary
        // unreachable; the others keep probing and reporting (and take over with their own
        // view of the primary if they become the controller).
        coordinator?.report(g, true);
        if (coordinator && !(await coordinator.mayPromote(g).catch(() => false))) continue;
        this.settings.logger?.error({ server: g.name, primary: serverAddress(g.primary), unreachableMs: now - since }, 'MySQL primary unreachable: failing over');
        try {
          await this.failover(g);
          this.lastOk.set(g, Date.now());
        } catch (err) {
          this.settings.logger?.error({ server: g.name, err: (err as Error).message }, 'failover failed; retrying on the next check');
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Each old primary of the group, on every check: set read-only whenever it answers writable
   * (a paused server when it wakes up, a restarted one whose configuration clears read_only);
   * and once it is read-only and replicating from the current primary with both threads
   * running (`kafka-mysql shards rejoin`), a replica again (ShardMap.rejoined): a failover
   * candidate, a server Fetch may read from.
   */
  private async checkFenced(g: ServerGroup): Promise<void> {
    for (const old of [...g.fenced]) {
      if (this.stopped) return;
      const coordinator = this.settings.coordinator;
      const state = await inspectFenced(old, g.primary, {
        mayFence: () => (coordinator ? coordinator.mayFence(g, old).catch(() => false) : Promise.resolve(true)),
        primaryId: () => primaryServerId(g),
        primaryPos: () => primaryBinlogPos(g),
      });
      const log = this.settings.logger;
      const at = serverAddress(old);
      if (state === 'writable') continue;
      if (state === 'unreachable') {
        this.fencedUnreachable.add(old);
        continue;
      }
      if (state === 'set-read-only' || this.fencedUnreachable.delete(old)) {
        log?.warn({ server: g.name, oldPrimary: at }, state === 'set-read-only' ? 'old primary answers writable: set read-only' : 'old primary answers again (read-only)');
      }
      if (state === 'rejoined' && g.fenced.includes(old)) {
        this.shards.rejoined(g, old);
        log?.warn({ server: g.name, replica: at, primary: serverAddress(g.primary), epoch: g.epoch }, 'old primary rejoined: replicating from the primary, a replica (failover candidate) again');
      }
    }
  }

  /** Promotes the most advanced replica of `group` (steps 1-5 above). */
  async failover(group: ServerGroup): Promise<void> {
    const started = Date.now();
    const log = this.settings.logger;
    const oldPrimary = group.primary;
    const coordinator = this.settings.coordinator;
    // Several brokers: the next shard epoch is reserved before anything changes on the servers.
    const claimed = coordinator ? await coordinator.claim(group) : null;
    if (coordinator && claimed === null) throw new Error(`the promotion of ${group.name} is claimed by another broker (or its record moved)`);
    // 3 (started now, awaited before publishing): fencing an unreachable old primary costs its
    // whole timeout, which need not delay the promotion.
    const fencing = fenceReadOnly(oldPrimary);
    const steps: Record<string, number> = {};
    const step = (name: string) => (steps[name] = Date.now() - started);
    // 1. Every reachable replica at once: stop receiving (the positions compared no longer
    // move, and a receiver stuck on a paused primary is released), then the most advanced.
    const reached = await Promise.all(
      group.replicas.map(async (url) => {
        let conn: Connection | undefined;
        try {
          conn = await open(url, 2000);
          await q(conn, 'STOP SLAVE IO_THREAD');
          const rows = await q(conn, 'SHOW SLAVE STATUS');
          const received = String(rows[0]?.Gtid_IO_Pos ?? '');
          const pos = await q(conn, 'SELECT @@gtid_slave_pos AS s');
          const applied = String(pos[0]?.s ?? '');
          return { url, conn, received, seq: maxSeq(received) > maxSeq(applied) ? maxSeq(received) : maxSeq(applied) };
        } catch (err) {
          conn?.destroy();
          log?.warn({ replica: serverAddress(url), err: (err as Error).message }, 'replica not reachable for promotion');
          return undefined;
        }
      }),
    );
    step('replicasStopped');
    let best: { url: string; conn: Connection; received: string; seq: bigint } | undefined;
    const others: Connection[] = [];
    for (const r of reached) {
      if (!r) continue;
      if (!best || r.seq > best.seq) {
        if (best) others.push(best.conn);
        best = r;
      } else others.push(r.conn);
    }
    if (!best) {
      await fencing;
      throw new Error(`no replica of ${group.name} is reachable`);
    }
    try {
      // 2. Apply everything received, then become a writable primary.
      if (best.received !== '') {
        const w = await q(best.conn, 'SELECT MASTER_GTID_WAIT(?, 60) AS r', [best.received], 65_000);
        if (Number(w[0]?.r) !== 0) throw new Error(`replica ${serverAddress(best.url)} did not apply its relay log (up to ${best.received}) within 60 s`);
      }
      await q(best.conn, 'STOP SLAVE');
      await q(best.conn, 'RESET SLAVE ALL');
      await q(best.conn, "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
      // OFF then ON: enabling starts the primary side in the ON state, whatever it was as a replica.
      await q(best.conn, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
      await q(best.conn, 'SET GLOBAL rpl_semi_sync_master_enabled = ON');
      await q(best.conn, 'SET GLOBAL read_only = OFF');
      step('promoted');
      // 4. The other replicas follow the new primary (at once), so acks=-1 can be confirmed again.
      const target = parseMysqlUrl(best.url);
      await Promise.all(
        others.map(async (c) => {
          try {
            await q(c, 'STOP SLAVE');
            await q(
              c,
              `CHANGE MASTER TO MASTER_HOST=?, MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos`,
              [target.host, target.port, target.user, target.password],
            );
            await q(c, 'START SLAVE');
          } catch (err) {
            log?.warn({ err: (err as Error).message }, 'could not repoint a replica to the new primary');
          }
        }),
      );
      step('replicasRepointed');
      // 3. The old primary fenced (read-only when it answered; the operator's command).
      const fenced = await fencing;
      if (!fenced) this.fencedUnreachable.add(oldPrimary);
      log?.warn({ server: group.name, oldPrimary: serverAddress(oldPrimary), readOnly: fenced }, fenced ? 'old primary set read-only' : 'old primary not reachable to set read-only');
      if (this.settings.fencingCommand) await runFencing(this.settings.fencingCommand, group, oldPrimary, best.url, log);
      step('fenced');
      // 5. Publish.
      if (coordinator) {
        if (!(await coordinator.publish(group, claimed!, best.url))) {
          // Another broker claimed a later epoch meanwhile: it decides; this one's candidate must
          // not stay a second writer.
          await q(best.conn, 'SET GLOBAL read_only = ON').catch(() => undefined);
          throw new Error(`the promotion of ${group.name} at epoch ${claimed} lost its claim; ${serverAddress(best.url)} set read-only again`);
        }
      } else {
        this.shards.promote(group, best.url);
        this.settings.onPromoted(group, group.shards.map((shard) => ({ shard, url: this.shards.url(shard) })));
      }
      this.stats.failovers++;
      this.stats.lastFailoverMs = Date.now() - started;
      log?.warn(
        { server: group.name, newPrimary: serverAddress(best.url), oldPrimary: serverAddress(oldPrimary), epoch: group.epoch, ms: this.stats.lastFailoverMs, steps },
        'replica promoted: update mysql.url / mysql.shards to name the new primary before the next start',
      );
    } finally {
      await best.conn.end().catch(() => undefined);
      for (const c of others) await c.end().catch(() => undefined);
    }
  }
}

/** A statement of the promotion, bounded: a replica that stops answering must not hang the watcher. */
async function q(conn: Connection, sql: string, params: unknown[] = [], timeoutMs = 5000): Promise<RowDataPacket[]> {
  const [rows] = await conn.query<RowDataPacket[]>({ sql, timeout: timeoutMs }, params);
  return rows;
}

async function open(url: string, timeoutMs: number): Promise<Connection> {
  const opts = connectionOptions(parseMysqlUrl(withDatabase(url, '')));
  delete opts.stream;
  return mysql.createConnection({ ...opts, connectTimeout: timeoutMs });
}

/** True when the server answers within `timeoutMs` and is writable. */
async function probeWritable(url: string, timeoutMs: number): Promise<boolean> {
  let conn: Connection | undefined;
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  const probe = (async () => {
    conn = await open(url, timeoutMs);
    const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SELECT @@read_only AS ro', timeout: timeoutMs });
    return Number(rows[0]?.ro) === 0;
  })().catch(() => false);
  const ok = await Promise.race([probe, timer]);
  if (conn) (conn as Connection).destroy();
  else void probe.then(() => (conn as Connection | undefined)?.destroy());
  return ok;
}

/**
 * A fenced old primary's state: unreachable; answered writable and has just been set read-only
 * (or left writable: `mayFence` said no);
 * read-only and replicating from `primary` with both threads running, and holding (received or
 * applied) everything the primary had binlogged just before (rejoined); or read-only and not
 * (yet) a caught-up replica. The source is recognized by host and port as CHANGE MASTER named it
 * (`shards rejoin` and failovers use the broker's URLs), else by the primary's server_id.
 * Caught up first, as Kafka adds a follower to the ISR only once it reached the high watermark:
 * on a shard left without replicas every commit is visible at once (SemiSyncMonitor.standalone),
 * and a replica listed before it has them could be promoted without them.
 */
async function inspectFenced(
  url: string,
  primary: string,
  o: { mayFence(): Promise<boolean>; primaryId(): Promise<number | null>; primaryPos(): Promise<string | null> },
): Promise<'unreachable' | 'writable' | 'set-read-only' | 'read-only' | 'rejoined'> {
  let conn: Connection | undefined;
  const attempt = (async () => {
    conn = await open(url, 1000);
    const ro = await q(conn, 'SELECT @@read_only AS ro', [], 1000);
    if (Number(ro[0]?.ro) !== 1) {
      if (!(await o.mayFence())) return 'writable' as const;
      await q(conn, 'SET GLOBAL read_only = ON', [], 1000);
      return 'set-read-only' as const;
    }
    const st = (await q(conn, 'SHOW SLAVE STATUS', [], 1000))[0];
    if (!st || st.Slave_IO_Running !== 'Yes' || st.Slave_SQL_Running !== 'Yes') return 'read-only' as const;
    const p = parseMysqlUrl(primary);
    const fromPrimary = String(st.Master_Host) === p.host && Number(st.Master_Port) === p.port;
    if (!fromPrimary) {
      const id = await o.primaryId();
      if (id === null || Number(st.Master_Server_Id) !== id) return 'read-only' as const;
    }
    // The primary's position first, then what this server holds (read after it).
    const pos = await o.primaryPos();
    if (pos === null) return 'read-only' as const;
    const now = (await q(conn, 'SHOW SLAVE STATUS', [], 1000))[0];
    const applied = (await q(conn, 'SELECT @@gtid_slave_pos AS pos', [], 1000))[0]?.pos;
    const holds = `${String(now?.Gtid_IO_Pos ?? '')},${String(applied ?? '')}`;
    return transactionsBehind(pos, holds) === 0 ? ('rejoined' as const) : ('read-only' as const);
  })().catch(() => 'unreachable' as const);
  try {
    return await Promise.race([attempt, new Promise<'unreachable'>((r) => setTimeout(() => r('unreachable'), 2000).unref())]);
  } finally {
    (conn as Connection | undefined)?.destroy();
  }
}

/** The current primary's @@server_id through the group's pool (null when it does not answer). */
async function primaryServerId(g: ServerGroup): Promise<number | null> {
  const pool = g.pools[0]?.pool;
  if (!pool) return null;
  try {
    const [rows] = await pool.query<RowDataPacket[]>({ sql: 'SELECT @@server_id AS id', timeout: 1000 });
    return Number(rows[0]?.id);
  } catch {
    return null;
  }
}

/** The current primary's @@gtid_binlog_pos through the group's pool (null when it does not answer). */
async function primaryBinlogPos(g: ServerGroup): Promise<string | null> {
  const pool = g.pools[0]?.pool;
  if (!pool) return null;
  try {
    const [rows] = await pool.query<RowDataPacket[]>({ sql: 'SELECT @@gtid_binlog_pos AS pos', timeout: 1000 });
    return String(rows[0]?.pos ?? '');
  } catch {
    return null;
  }
}

async function fenceReadOnly(url: string): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    const attempt = (async () => {
      conn = await open(url, 1000);
      await conn.query({ sql: 'SET GLOBAL read_only = ON', timeout: 1000 });
      return true;
    })().catch(() => false);
    return await Promise.race([attempt, new Promise<false>((r) => setTimeout(() => r(false), 1500).unref())]);
  } finally {
    (conn as Connection | undefined)?.destroy();
  }
}

function runFencing(command: string, group: ServerGroup, oldPrimary: string, newPrimary: string, log?: Logger): Promise<void> {
  return new Promise((resolve) => {
    exec(
      command,
      {
        timeout: 30_000,
        env: { ...process.env, KAFKA_MYSQL_SHARD: group.name, KAFKA_MYSQL_OLD_PRIMARY: serverAddress(oldPrimary), KAFKA_MYSQL_NEW_PRIMARY: serverAddress(newPrimary) },
      },
      (err, _stdout, stderr) => {
        if (err) log?.error({ command, err: err.message, stderr: stderr.slice(-2000) }, 'fencing command failed');
        else log?.info({ command, oldPrimary: redactUrl(oldPrimary) }, 'fencing command ran');
        resolve();
      },
    );
  });
}

/** Largest sequence number in a GTID list (`0-1-42,1-3-7`): the position compared between replicas. */
export function maxSeq(gtids: string): bigint {
  let max = -1n;
  for (const g of gtids.split(',')) {
    const m = /^\s*\d+-\d+-(\d+)\s*$/.exec(g);
    if (m && BigInt(m[1]!) > max) max = BigInt(m[1]!);
  }
  return max;
}
