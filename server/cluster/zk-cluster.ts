import type { Logger } from 'pino';
import type { LeaderRecord, LeaderStore } from '../../storage/index.js';
import type { TopicCatalog } from '../../storage/types.js';
import type { BrokerEndpoint, ClusterView } from '../handler-types.js';
import { Controller } from './controller.js';
import { coordinatorBroker } from './placement.js';
import { CreateMode, Exception, ZkSession, type ZkError } from './zk.js';

/**
 * A broker of a cluster of several (docs/cluster.md). Through ZooKeeper it registers itself
 * (ephemeral /brokers/ids/<id>), runs for controller (ephemeral /controller, /controller_epoch),
 * and watches: the live brokers, the brokers shutting down, the leadership version (the
 * controller bumps /kafka-mysql/leaders after writing leaders and epochs to MySQL) and the
 * metadata version (any broker bumps /kafka-mysql/metadata after changing topics, configs or
 * log starts). The leaders themselves are read from MySQL, where the epochs that fence appends
 * are. A lost session (expiry) is replaced by a new one, re-registered; while ZooKeeper is
 * unreachable the broker keeps its view and keeps serving.
 */

export const PATHS = {
  brokers: '/brokers/ids',
  controller: '/controller',
  controllerEpoch: '/controller_epoch',
  leaders: '/kafka-mysql/leaders',
  metadata: '/kafka-mysql/metadata',
  shuttingDown: '/kafka-mysql/shutting-down',
};

export interface ZkClusterOptions {
  connect: string;
  sessionTimeoutMs: number;
  connectionTimeoutMs: number;
  clusterId: string;
  self: BrokerEndpoint;
  catalog: TopicCatalog;
  leaders: LeaderStore;
  /** A partition's leadership moved to or from this broker: its loaded log must be reloaded. */
  forgetPartition(topicId: string, partition: number): void;
  /** Another broker changed metadata: refresh what this broker caches (catalog, log starts, configs). */
  onMetadataChanged(): Promise<void>;
  offsetsPartitions: number;
  transactionPartitions: number;
  logger: Logger;
}

interface RegisteredBroker {
  id: number;
  host: string;
  port: number;
  rack: string | null;
  /** Advertised address per listener name (server/security/endpoint.ts), as registered. */
  listeners?: Record<string, { host: string; port: number }>;
}

export class ZooKeeperCluster implements ClusterView {
  readonly clusterId: string;
  readonly self: BrokerEndpoint;
  private session: ZkSession | null = null;
  private live = new Map<number, RegisteredBroker>();
  private shutting = new Set<number>();
  private controller = -1;
  private leaders = new Map<string, LeaderRecord>();
  private readonly ctl: Controller;
  private closed = false;
  private leadersVersion = -1;
  private refreshingLeaders: Promise<void> | null = null;
  private leadersAgain = false;
  private readonly listeners = new Set<() => void>();
  /** Ids of this process's earlier (expired) ZooKeeper sessions. */
  private readonly pastSessions = new Set<string>();

  constructor(private readonly o: ZkClusterOptions) {
    this.clusterId = o.clusterId;
    this.self = o.self;
    this.ctl = new Controller({
      selfId: o.self.nodeId,
      catalog: o.catalog,
      leaders: o.leaders,
      liveIds: () => [...this.live.keys()].filter((id) => !this.shutting.has(id)),
      session: () => this.session,
      isController: () => this.controller === this.self.nodeId,
      viewOf: (topicId, partition) => this.leaders.get(`${topicId}:${partition}`),
      logger: o.logger,
    });
  }

  /** Connects, registers (refusing a duplicate broker.id), runs for controller, reads the leaders. */
  async start(): Promise<void> {
    await this.openSession();
  }

  private async openSession(): Promise<void> {
    const s = await ZkSession.connect(this.o.connect, this.o.sessionTimeoutMs, this.o.connectionTimeoutMs);
    try {
      for (const p of [PATHS.brokers, PATHS.shuttingDown]) await s.ensure(p);
      for (const p of [PATHS.leaders, PATHS.metadata]) await s.ensure(p);
      await this.register(s);
    } catch (err) {
      s.close();
      throw err;
    }
    this.session = s;
    s.onKick = (why) => this.o.logger.warn({ why }, 'ZooKeeper connection silent: closing it to reconnect');
    let lost = false;
    s.client.on('disconnected', () => {
      lost = true;
      this.o.logger.warn('ZooKeeper connection lost; serving with the last known cluster view');
    });
    s.client.on('connected', () => {
      if (!lost) return;
      lost = false;
      this.o.logger.info('ZooKeeper connection re-established with the same session');
      void this.afterReconnect(s);
    });
    s.client.once('expired', () => void this.onExpired(s));
    this.o.logger.info({ session: s.sessionId() }, 'registered in ZooKeeper');
    // Registered: from here a lost connection must not throw the session away (its node stays
    // while it lives, and a new session could not register): each step is retried until it
    // succeeds, or the session expires, which the 'expired' handler answers with a new one.
    try {
      for (const step of [() => this.watchBrokers(s), () => this.watchShutting(s), () => this.watchLeaders(s, true), () => this.watchMetadata(s, true), () => this.elect(s)]) {
        if (!(await this.untilDone(s, step))) return;
      }
    } catch (err) {
      // Anything else: give this session up (its node is removed by the next registration).
      this.pastSessions.add(s.sessionId());
      if (this.session === s) this.session = null;
      s.close();
      throw err;
    }
  }

  /** Runs `step` again after a connection loss; false when the session expired or the broker closed. */
  private async untilDone(s: ZkSession, step: () => Promise<void>): Promise<boolean> {
    for (;;) {
      if (this.closed || this.session !== s) return false;
      try {
        await step();
        return true;
      } catch (err) {
        const code = (err as ZkError).code;
        if (code === Exception.SESSION_EXPIRED) return false;
        if (code !== Exception.CONNECTION_LOSS) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * Same session, new connection: the client re-registered its watches and ZooKeeper fires
   * those whose nodes changed meanwhile, but a watch being re-armed when the connection went
   * is re-armed by its retry; read everything once more so nothing missed stays missed.
   */
  private async afterReconnect(s: ZkSession): Promise<void> {
    if (this.closed || this.session !== s) return;
    await this.refreshLeaders();
    try {
      await this.o.onMetadataChanged();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'cannot refresh metadata after reconnecting');
    }
    this.ctl.trigger('reconnected to ZooKeeper', false);
    this.emit();
  }

  private async register(s: ZkSession): Promise<void> {
    const path = `${PATHS.brokers}/${this.self.nodeId}`;
    const data = Buffer.from(
      JSON.stringify({
        version: 5,
        id: this.self.nodeId,
        host: this.self.host,
        port: this.self.port,
        rack: this.self.rack,
        endpoints: [`PLAINTEXT://${this.self.host}:${this.self.port}`],
        // Every listener's advertised address, so Metadata answers each client on its own listener.
        ...(this.self.listeners ? { listeners: this.self.listeners } : {}),
        listener_security_protocol_map: { PLAINTEXT: 'PLAINTEXT' },
        jmx_port: -1,
        timestamp: String(Date.now()),
      }),
    );
    // A node left by this broker's previous, crashed process goes when its session expires:
    // wait that long; a node that stays belongs to a running broker with the same id.
    const deadline = Date.now() + this.o.sessionTimeoutMs + 2000;
    for (;;) {
      if (await s.create(path, data, CreateMode.EPHEMERAL)) return;
      const existing = await s.getData(path);
      // Left by this process's own expired session (ZooKeeper deletes it soon anyway): take it now.
      if (existing && this.pastSessions.has(existing.stat.ephemeralOwner.toString('hex'))) {
        await s.remove(path, existing.stat.version).catch(() => false);
        continue;
      }
      if (existing && Date.now() >= deadline) {
        let who = 'another broker';
        try {
          const b = JSON.parse(existing.data.toString()) as { host?: string; port?: number };
          who = `the broker at ${b.host}:${b.port}`;
        } catch {
          // keep the generic wording
        }
        throw new Error(
          `broker.id ${this.self.nodeId} is already registered in ZooKeeper (${PATHS.brokers}/${this.self.nodeId}) by ${who}; every broker needs its own broker.id`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async onExpired(old: ZkSession): Promise<void> {
    this.pastSessions.add(old.sessionId());
    old.close();
    if (this.closed || this.session !== old) return;
    this.o.logger.warn('ZooKeeper session expired: this broker may have lost its partitions; registering again');
    this.session = null;
    this.controller = -1;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.openSession();
        return;
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message, attempt }, 'cannot register again in ZooKeeper; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  // --- watches (one-shot in ZooKeeper: each callback re-arms its own) ---

  private async watchBrokers(s: ZkSession): Promise<void> {
    if (this.session !== s && this.session !== null) return;
    const ids = await s.getChildren(PATHS.brokers, () => void this.rewatch(s, () => this.watchBrokers(s)));
    const next = new Map<number, RegisteredBroker>();
    for (const id of ids) {
      const got = await s.getData(`${PATHS.brokers}/${id}`);
      if (!got) continue;
      try {
        const b = JSON.parse(got.data.toString()) as RegisteredBroker;
        next.set(Number(id), { id: Number(id), host: b.host, port: b.port, rack: b.rack ?? null, ...(b.listeners ? { listeners: b.listeners } : {}) });
      } catch {
        this.o.logger.warn({ id }, 'unreadable broker registration ignored');
      }
    }
    const joined = [...next.keys()].some((id) => !this.live.has(id));
    this.live = next;
    this.o.logger.info({ brokers: [...next.keys()] }, 'live brokers');
    this.ctl.trigger(joined ? 'broker joined' : 'brokers changed', joined);
    this.emit();
  }

  private async watchShutting(s: ZkSession): Promise<void> {
    const ids = await s.getChildren(PATHS.shuttingDown, () => void this.rewatch(s, () => this.watchShutting(s)));
    this.shutting = new Set(ids.map(Number));
    this.ctl.trigger('controlled shutdown', false);
    this.emit();
  }

  /** `first`: a new session, which re-reads the leaders whatever the version (a bump may have been lost with a session). */
  private async watchLeaders(s: ZkSession, first = false): Promise<void> {
    const got = await s.getData(PATHS.leaders, () => void this.rewatch(s, () => this.watchLeaders(s)));
    const version = got?.stat.version ?? 0;
    if (first || version !== this.leadersVersion) {
      this.leadersVersion = version;
      await this.refreshLeaders();
    }
  }

  private async watchMetadata(s: ZkSession, first = false): Promise<void> {
    await s.getData(PATHS.metadata, () => void this.rewatch(s, () => this.watchMetadata(s)));
    if (first) return;
    try {
      await this.o.onMetadataChanged();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'cannot refresh metadata after a change notification');
    }
    this.ctl.trigger('metadata changed', false);
  }

  private async watchController(s: ZkSession): Promise<void> {
    // Any change of /controller (deleted: its broker is gone or resigned) is a new election.
    const got = await s.getData(PATHS.controller, () => void this.rewatch(s, () => this.elect(s)));
    if (got === null) {
      await this.elect(s);
      return;
    }
    try {
      this.controller = (JSON.parse(got.data.toString()) as { brokerid: number }).brokerid;
    } catch {
      this.controller = -1;
    }
  }

  private async rewatch(s: ZkSession, fn: () => Promise<void>): Promise<void> {
    if (this.closed || this.session !== s) return;
    try {
      await fn();
    } catch (err) {
      // An expired session is replaced with every watch (onExpired). A watch that fired and
      // could not be re-armed because the connection went (CONNECTION_LOSS) must be retried:
      // ZooKeeper watches are one-shot, and a watch not re-armed is never heard of again. The
      // retried request waits in the client's queue until it is connected again.
      if ((err as ZkError).code === Exception.SESSION_EXPIRED) return;
      if ((err as ZkError).code !== Exception.CONNECTION_LOSS) this.o.logger.warn({ err: (err as Error).message }, 'ZooKeeper watch failed; retrying');
      setTimeout(() => void this.rewatch(s, fn), 500).unref();
    }
  }

  // --- controller election ---

  private async elect(s: ZkSession): Promise<void> {
    if (this.closed || this.shutting.has(this.self.nodeId)) return this.watchControllerOnly(s);
    const epochNode = await s.getData(PATHS.controllerEpoch);
    const epoch = epochNode ? Number(epochNode.data.toString()) + 1 : 1;
    const won = await s.create(PATHS.controller, Buffer.from(JSON.stringify({ version: 2, brokerid: this.self.nodeId, timestamp: String(Date.now()), epoch })), CreateMode.EPHEMERAL);
    if (won) {
      // The controller epoch moves once per election (Kafka's /controller_epoch).
      if (epochNode) await s.setData(PATHS.controllerEpoch, Buffer.from(String(epoch)), epochNode.stat.version);
      else await s.create(PATHS.controllerEpoch, Buffer.from(String(epoch)), CreateMode.PERSISTENT);
      this.o.logger.info({ controllerEpoch: epoch }, 'this broker is the controller');
      this.ctl.epoch = epoch;
    }
    await this.watchController(s);
    if (this.controller === this.self.nodeId) this.ctl.trigger('elected controller', false);
    this.emit();
  }

  private async watchControllerOnly(s: ZkSession): Promise<void> {
    const watcher = () => void this.rewatch(s, () => this.watchControllerOnly(s));
    const got = await s.getData(PATHS.controller, watcher);
    // getData sets no watch on a missing node: watch for its creation instead.
    if (got === null && (await s.exists(PATHS.controller, watcher)) !== null) return this.watchControllerOnly(s);
    this.controller = got ? ((JSON.parse(got.data.toString()) as { brokerid: number }).brokerid ?? -1) : -1;
  }

  // --- leaders ---

  /** Re-reads every partition's leader and epoch from MySQL (serialized; a request during a read runs once more after it). */
  refreshLeaders(): Promise<void> {
    if (this.refreshingLeaders) {
      this.leadersAgain = true;
      return this.refreshingLeaders;
    }
    this.refreshingLeaders = (async () => {
      do {
        this.leadersAgain = false;
        try {
          const rows = await this.o.leaders.readAll();
          const next = new Map<string, LeaderRecord>();
          for (const r of rows) next.set(`${r.topicId}:${r.partition}`, r);
          const me = this.self.nodeId;
          for (const [key, r] of next) {
            const old = this.leaders.get(key);
            if (old && old.leaderEpoch !== r.leaderEpoch && (old.leaderId === me || r.leaderId === me)) this.o.forgetPartition(r.topicId, r.partition);
          }
          this.leaders = next;
        } catch (err) {
          this.o.logger.warn({ err: (err as Error).message }, 'cannot read partition leaders from MySQL');
          setTimeout(() => void this.refreshLeaders(), 1000).unref();
        }
      } while (this.leadersAgain);
      this.refreshingLeaders = null;
      this.emit();
    })();
    return this.refreshingLeaders;
  }

  // --- ClusterView ---

  brokers(): BrokerEndpoint[] {
    const out: BrokerEndpoint[] = [];
    for (const b of [...this.live.values()].sort((a, b) => a.id - b.id)) {
      if (b.id === this.self.nodeId) out.push(this.self);
      else out.push({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack, ...(b.listeners ? { listeners: b.listeners } : {}) });
    }
    if (!this.live.has(this.self.nodeId)) out.push(this.self);
    return out;
  }

  controllerId(): number {
    return this.controller;
  }

  leaderOf(topicId: string, partition: number): number {
    const r = this.leaders.get(`${topicId}:${partition}`);
    if (!r) return -1;
    // A leader that is not registered is not reachable: clients wait for the controller's move.
    if (r.leaderId !== this.self.nodeId && !this.live.has(r.leaderId)) return -1;
    return r.leaderId;
  }

  leaderEpochOf(topicId: string, partition: number): number {
    return this.leaders.get(`${topicId}:${partition}`)?.leaderEpoch ?? -1;
  }

  /** Live brokers not shutting down, in id order: the replicas Metadata lists (any of them can serve a partition's data). */
  replicaIds(): number[] {
    const ids = [...this.live.keys()].filter((id) => !this.shutting.has(id)).sort((a, b) => a - b);
    return ids.length > 0 ? ids : [this.self.nodeId];
  }

  coordinatorFor(key: string, keyType: number): BrokerEndpoint {
    const partitions = keyType === 1 ? this.o.transactionPartitions : this.o.offsetsPartitions;
    const id = coordinatorBroker(key, partitions, this.replicaIds());
    return this.brokers().find((b) => b.nodeId === id) ?? this.self;
  }

  /** Partitions this broker leads, per the last view. */
  ledPartitions(): number {
    let n = 0;
    for (const r of this.leaders.values()) if (r.leaderId === this.self.nodeId) n++;
    return n;
  }

  /** Tells every broker that topics, configs or log starts changed. */
  async notifyMetadataChanged(): Promise<void> {
    const s = this.session;
    if (!s) return;
    await s.bump(PATHS.metadata, String(Date.now())).catch((err: unknown) => {
      this.o.logger.warn({ err: (err as Error).message }, 'cannot publish a metadata change to ZooKeeper');
    });
  }

  /** Calls `listener` after every change of the live brokers, the controller or the leaders; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => {
      const l = () => {
        this.listeners.delete(l);
        resolve();
      };
      this.listeners.add(l);
    });
  }

  /**
   * Controlled shutdown: announces it (/kafka-mysql/shutting-down/<id>), so the controller
   * moves this broker's leadership and coordinators elsewhere; waits until this broker leads
   * nothing (or `timeoutMs`), then gives up the controller role if it had it.
   */
  async controlledShutdown(timeoutMs: number): Promise<{ moved: boolean; leftLeading: number }> {
    const s = this.session;
    if (!s) return { moved: false, leftLeading: this.ledPartitions() };
    await s.create(`${PATHS.shuttingDown}/${this.self.nodeId}`, Buffer.from(String(Date.now())), CreateMode.EPHEMERAL);
    this.shutting.add(this.self.nodeId);
    this.ctl.trigger('controlled shutdown', false);
    const deadline = Date.now() + timeoutMs;
    // With no other live broker left (the last one of a cluster being stopped) nobody can take
    // the partitions: waiting would only last until the timeout.
    const others = () => [...this.live.keys()].some((id) => id !== this.self.nodeId && !this.shutting.has(id));
    while (this.ledPartitions() > 0 && others() && Date.now() < deadline) {
      await Promise.race([this.changed(), new Promise((r) => setTimeout(r, 500))]);
      if (this.ledPartitions() > 0) await this.refreshLeaders();
    }
    await this.ctl.idle();
    if (this.controller === this.self.nodeId) {
      this.controller = -1;
      await s.remove(PATHS.controller).catch(() => false);
    }
    return { moved: this.ledPartitions() === 0, leftLeading: this.ledPartitions() };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ctl.stop();
    await this.ctl.idle();
    this.session?.close();
    this.session = null;
  }
}
