import type { Event } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { StorageReplication } from '../../storage/services.js';
import type { FailoverCoordinator } from '../../storage/replication/failover.js';
import type { ServerGroup } from '../../storage/shards.js';
import { serverAddress } from '../../storage/replication/topology.js';
import { CreateMode, Exception, ZkSession, type ZkError } from './zk.js';

/**
 * MySQL primary failover when several brokers share the shards (docs/cluster.md, "MySQL
 * failover in a cluster"). Every broker runs the same watcher as a lone broker
 * (storage/replication/failover.ts: it probes each primary, and sets old primaries read-only
 * when they answer again), but only the controller promotes, and through ZooKeeper:
 *
 * - /kafka-mysql/shards/<group> (persistent) holds the group's shard epoch, its primary
 *   (host:port) and a state: `promoting` (epoch reserved, nothing published) or `promoted`.
 * - The controller claims epoch e+1 by a versioned setData of the record it has just read,
 *   before it touches a replica: of two brokers that both believe they are the controller (a
 *   paused ex-controller), one write fails and that broker stops. It then promotes as the lone
 *   broker does and publishes `promoted` with the version its claim returned, so a later claim
 *   by another broker makes this publish fail (and its candidate is set read-only again).
 * - Every broker watches the records; a `promoted` record with an epoch newer than its own
 *   moves its pools, commit lanes and partitions to the new primary (storage
 *   applyPromotion), whose old sockets are closed: from then on this broker never writes to the
 *   old primary (fencing by shard epoch). A broker starting or reconnecting reads the records
 *   first, so it follows promotions it missed.
 *
 * The ZooKeeper session is this module's own (the cluster's session belongs to
 * zk-cluster.ts); when it expires a new one is opened and the records are read again.
 */
export const SHARDS_PATH = '/kafka-mysql/shards';
/** Ephemeral <path>/<group>/<broker.id>: the brokers that see the group's primary unreachable. */
export const REPORTS_PATH = '/kafka-mysql/shard-reports';

export interface ShardRecord {
  epoch: number;
  /** host:port of the group's primary at this epoch. */
  primary: string;
  state: 'promoting' | 'promoted';
  /** broker.id of the broker that wrote the record. */
  by: number;
  at: number;
}

export interface ShardFailoverOptions {
  connect: string;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  selfId: number;
  /** True while this broker is the controller (ZooKeeperCluster.controllerId()). */
  isController(): boolean;
  replication: StorageReplication;
  timeoutMs: number;
  /** Brokers (the controller included) that must see the primary unreachable (mysql.failover.quorum). */
  quorum: number;
  fencingCommand: string | null;
  logger: Logger;
}

/** A group name as a znode name ("metadata database" -> metadata-database, "shard 0" -> shard-0). */
export function recordName(group: string): string {
  return group.trim().replace(/[^A-Za-z0-9._-]+/g, '-');
}

export function parseShardRecord(data: Buffer): ShardRecord | null {
  try {
    const r = JSON.parse(data.toString('utf8')) as Partial<ShardRecord>;
    if (typeof r.epoch !== 'number' || !Number.isInteger(r.epoch) || r.epoch < 0 || typeof r.primary !== 'string') return null;
    return { epoch: r.epoch, primary: r.primary, state: r.state === 'promoting' ? 'promoting' : 'promoted', by: Number(r.by ?? -1), at: Number(r.at ?? 0) };
  } catch {
    return null;
  }
}

/**
 * Every group's primary as the shard records publish it, read once before the storage opens
 * (a broker started with a configuration from before a failover starts on the new primary): the
 * last promoted primary and its epoch, by group record name. A record mid-promotion names the
 * primary of the epoch before its claim.
 */
export async function readPublishedPrimaries(connect: string, sessionTimeoutMs: number, connectionTimeoutMs: number): Promise<Map<string, { primary: string; epoch: number }>> {
  const s = await ZkSession.connect(connect, sessionTimeoutMs, connectionTimeoutMs);
  const out = new Map<string, { primary: string; epoch: number }>();
  try {
    const names = await s.getChildren(SHARDS_PATH).catch((err: ZkError) => {
      if (err.code === Exception.NO_NODE) return [] as string[];
      throw err;
    });
    for (const name of names) {
      const got = await s.getData(`${SHARDS_PATH}/${name}`);
      const rec = got ? parseShardRecord(got.data) : null;
      if (rec) out.set(name, { primary: rec.primary, epoch: rec.state === 'promoted' ? rec.epoch : rec.epoch - 1 });
    }
  } finally {
    s.close();
  }
  return out;
}

export class ShardFailover implements FailoverCoordinator {
  private session: ZkSession | null = null;
  private closed = false;
  /** Version of each group's record written by this broker's claim (publish is conditional on it). */
  private readonly claims = new Map<string, number>();
  /** What this broker last reported per group (true: unreachable), so a report is written once per change. */
  private readonly reported = new Map<string, boolean>();
  /** Promotions published by this broker, and records followed (tests, logs). */
  readonly stats = { published: 0, followed: 0 };

  constructor(private readonly o: ShardFailoverOptions) {}

  private groups(): Array<{ name: string; epoch: number; primary: string }> {
    return this.o.replication.topology().filter((g) => g.replicas.length > 0 || g.fenced.length > 0 || g.epoch > 0);
  }

  /** Opens the session, creates or follows each group's record, and starts the watcher. */
  async start(): Promise<void> {
    if (this.groups().length === 0) return;
    await this.openSession();
    this.o.replication.startFailover({ timeoutMs: this.o.timeoutMs, fencingCommand: this.o.fencingCommand, coordinator: this });
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = null;
  }

  private async openSession(): Promise<void> {
    const s = await ZkSession.connect(this.o.connect, this.o.sessionTimeoutMs, this.o.connectionTimeoutMs);
    this.session = s;
    // The reports were ephemeral nodes of the previous session: written again on the next check.
    this.reported.clear();
    s.client.once('expired', () => void this.reopen(s));
    try {
      await s.mkdirp(SHARDS_PATH);
      for (const g of this.groups()) {
        const record: ShardRecord = { epoch: g.epoch, primary: g.primary, state: 'promoted', by: this.o.selfId, at: Date.now() };
        await s.create(`${SHARDS_PATH}/${recordName(g.name)}`, Buffer.from(JSON.stringify(record)), CreateMode.PERSISTENT);
        await this.follow(s, g.name);
      }
    } catch (err) {
      // A half-set-up session would leave some records unwatched: give it up (reopen retries).
      if (this.session === s) this.session = null;
      s.close();
      throw err;
    }
  }

  private async reopen(old: ZkSession): Promise<void> {
    old.close();
    if (this.session === old) this.session = null;
    this.o.logger.warn('shard failover: ZooKeeper session expired; opening a new one');
    while (!this.closed && this.session === null) {
      try {
        await this.openSession();
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'shard failover: cannot reach ZooKeeper; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Reads a group's record (re-arming the watch) and follows a newer promoted epoch. */
  private async follow(s: ZkSession, group: string): Promise<void> {
    if (this.closed || this.session !== s) return;
    const path = `${SHARDS_PATH}/${recordName(group)}`;
    const watcher = (ev: Event) => {
      // Data changed or deleted: read again. A session event re-arms nothing (expiry reopens).
      if (ev.getType() > 0) void this.followUntilRead(s, group);
    };
    const got = await s.getData(path, watcher);
    if (!got) return;
    const rec = parseShardRecord(got.data);
    if (!rec) {
      this.o.logger.error({ path }, 'shard failover: unreadable shard record ignored');
      return;
    }
    if (rec.state !== 'promoted') {
      this.o.logger.warn({ group, epoch: rec.epoch, by: rec.by }, 'shard failover: promotion in progress');
      return;
    }
    const before = this.o.replication.topology().find((g) => g.name === group);
    if (this.o.replication.applyPromotion(group, rec.primary, rec.epoch)) {
      this.stats.followed++;
      this.o.logger.warn(
        { group, epoch: rec.epoch, primary: rec.primary, oldPrimary: before?.primary, by: rec.by },
        before?.primary === rec.primary ? 'shard epoch followed' : 'shard primary switched: following the promotion published in ZooKeeper',
      );
    }
  }

  /**
   * follow() retried until it reads the record: watches are one-shot, so a re-arm that failed
   * (connection lost at that moment) would leave this broker blind to later promotions.
   */
  private async followUntilRead(s: ZkSession, group: string): Promise<void> {
    for (let attempt = 0; !this.closed && this.session === s; attempt++) {
      try {
        await this.follow(s, group);
        return;
      } catch (err) {
        if (attempt === 0) this.o.logger.warn({ err: (err as Error).message, group }, 'shard failover: cannot read the shard record; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  report(group: ServerGroup, unreachable: boolean): void {
    const s = this.session;
    if (!s || this.o.quorum <= 1 || this.reported.get(group.name) === unreachable) return;
    this.reported.set(group.name, unreachable);
    const dir = `${REPORTS_PATH}/${recordName(group.name)}`;
    const write = unreachable
      ? s.mkdirp(dir).then(() => s.create(`${dir}/${this.o.selfId}`, Buffer.from(JSON.stringify({ at: Date.now() })), CreateMode.EPHEMERAL))
      : s.remove(`${dir}/${this.o.selfId}`);
    write.catch((err) => {
      // Written again on the next check.
      if (this.reported.get(group.name) === unreachable) this.reported.delete(group.name);
      this.o.logger.warn({ err: (err as Error).message, group: group.name }, 'shard failover: cannot write the primary report');
    });
  }

  async mayPromote(group: ServerGroup): Promise<boolean> {
    const s = this.session;
    if (this.closed || !s || !this.o.isController()) return false;
    if (this.o.quorum <= 1) return true;
    // The controller's own view counts whether or not its report is written yet; a broker that
    // died takes its report (ephemeral) with it.
    const children = await s.getChildren(`${REPORTS_PATH}/${recordName(group.name)}`).catch(() => [] as string[]);
    const seen = new Set([...children, String(this.o.selfId)]);
    if (seen.size >= this.o.quorum) return true;
    this.o.logger.warn({ group: group.name, reports: [...seen], quorum: this.o.quorum }, 'shard failover: primary unreachable, waiting for a quorum of brokers to agree');
    return false;
  }

  async claim(group: ServerGroup): Promise<number | null> {
    const s = this.session;
    if (!s || !this.o.isController()) return null;
    const path = `${SHARDS_PATH}/${recordName(group.name)}`;
    const got = await s.getData(path);
    const rec = got ? parseShardRecord(got.data) : null;
    if (!got || !rec) return null;
    // Promoted past this broker's view: it follows that record (its watch) instead.
    if (rec.state === 'promoted' && rec.epoch > group.epoch) return null;
    const next = rec.epoch + 1;
    const claim: ShardRecord = { epoch: next, primary: rec.primary, state: 'promoting', by: this.o.selfId, at: Date.now() };
    try {
      const stat = await s.setData(path, Buffer.from(JSON.stringify(claim)), got.stat.version);
      this.claims.set(group.name, stat.version);
    } catch (err) {
      if ((err as ZkError).code === Exception.BAD_VERSION) return null;
      throw err;
    }
    this.o.logger.warn({ group: group.name, epoch: next, primary: serverAddress(group.primary) }, 'shard failover: promotion claimed');
    return next;
  }

  async mayFence(group: ServerGroup, server: string): Promise<boolean> {
    const s = this.session;
    if (this.closed || !s) return false;
    const got = await s.getData(`${SHARDS_PATH}/${recordName(group.name)}`);
    const rec = got ? parseShardRecord(got.data) : null;
    // A writable old primary is set read-only only when the record agrees with this broker's view:
    // while a promotion is in progress, or published past this broker's epoch, that server may be
    // the new primary (a rejoined one promoted again) this broker has not followed yet.
    return rec !== null && rec.state === 'promoted' && rec.epoch <= group.epoch && rec.primary !== serverAddress(server);
  }

  async publish(group: ServerGroup, epoch: number, newPrimary: string): Promise<boolean> {
    const s = this.session;
    const version = this.claims.get(group.name);
    if (!s || version === undefined) return false;
    const path = `${SHARDS_PATH}/${recordName(group.name)}`;
    const rec: ShardRecord = { epoch, primary: serverAddress(newPrimary), state: 'promoted', by: this.o.selfId, at: Date.now() };
    try {
      await s.setData(path, Buffer.from(JSON.stringify(rec)), version);
    } catch (err) {
      if ((err as ZkError).code === Exception.BAD_VERSION) return false;
      throw err;
    } finally {
      this.claims.delete(group.name);
    }
    this.stats.published++;
    this.o.replication.applyPromotion(group.name, rec.primary, epoch);
    this.o.logger.warn({ group: group.name, epoch, primary: rec.primary }, 'shard failover: promotion published in ZooKeeper');
    return true;
  }
}
