import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createPool, formatMysqlUrl, parseMysqlUrl, redactUrl } from './mysql.js';
import { createSwitchablePool, type SwitchablePool } from './replication/switchable-pool.js';
import { serverAddress } from './replication/topology.js';

/**
 * A MySQL server with replicas (or alone), as the shard map sees it: its databases' pools
 * follow it when a replica is promoted (storage/replication/failover.ts).
 */
export interface ServerGroup {
  /** `metadata database` or `shard N` (the first that named the server). */
  name: string;
  /** The current primary's URL (of the first database that named it). */
  primary: string;
  /** Replica URLs (the same user, password and database as the primary's). */
  replicas: string[];
  /** Bumped on every promotion. */
  epoch: number;
  /** Primary switches this process applied (its own promotions and followed ones; not the start). */
  switches: number;
  /** Old primaries promoted away from (fenced; `shards rejoin` or the documented procedure makes them replicas). */
  fenced: string[];
  /** Shards whose database is on this server. */
  shards: number[];
  /** The pools of the databases on this server. */
  pools: SwitchablePool[];
}

/**
 * The shard map: one pool per shard, plus the metadata pool (shared with shard 0 when the URLs
 * name the same database). Shard i's URL is shardUrls[i]; partitions are placed by index, so
 * the list may grow but must not be reordered. Pools are switchable: a failover moves every
 * database of a server to the promoted replica without anyone dropping the pool they hold.
 */
export class ShardMap {
  readonly metadataPool: Pool;
  readonly shardPools: Pool[];
  /** max_allowed_packet of each shard, read at open. */
  readonly maxAllowedPacket: number[] = [];
  /** The servers, each with its replicas and the pools of its databases. */
  readonly groups: ServerGroup[] = [];
  private readonly owned: SwitchablePool[] = [];
  /** Read-only pools to replicas, by replica URL (opened on first use: reads while no primary answers). */
  private readonly replicaReadPools = new Map<string, Pool>();
  private readonly byPool = new Map<Pool, SwitchablePool>();

  constructor(
    readonly metadataUrl: string,
    readonly shardUrls: string[],
    poolSize: number,
    metadataReplicas: string[] = [],
    shardReplicas: string[][] = [],
    /** Bound on the wait for a query's reply (storage/mysql-socket.ts); 0 = none. */
    private readonly queryTimeoutMs = 0,
  ) {
    const key = (u: string) => {
      const l = parseMysqlUrl(u);
      return `${l.socketPath ?? `${l.host}:${l.port}`}/${l.database}/${l.user}`;
    };
    const open = (url: string, name: string, replicas: string[], shard: number | null): Pool => {
      const sp = createSwitchablePool(url, { connectionLimit: poolSize, queryTimeoutMs });
      this.owned.push(sp);
      this.byPool.set(sp.pool, sp);
      let group = this.groups.find((g) => serverAddress(g.primary) === serverAddress(url));
      if (!group) {
        group = { name, primary: url, replicas, epoch: 0, switches: 0, fenced: [], shards: [], pools: [] };
        this.groups.push(group);
      } else if (group.replicas.length === 0) group.replicas = replicas;
      group.pools.push(sp);
      if (shard !== null) group.shards.push(shard);
      return sp.pool;
    };
    this.metadataPool = open(metadataUrl, 'metadata database', metadataReplicas, null);
    this.shardPools = shardUrls.map((u, i) => {
      if (key(u) === key(metadataUrl)) {
        this.groups.find((g) => g.pools.includes(this.byPool.get(this.metadataPool)!))!.shards.push(i);
        return this.metadataPool;
      }
      return open(u, `shard ${i}`, shardReplicas[i] ?? [], i);
    });
  }

  get shardCount(): number {
    return this.shardPools.length;
  }

  pool(shard: number): Pool {
    const p = this.shardPools[shard];
    if (!p) throw new Error(`shard ${shard} is not configured (${this.shardPools.length} shard URLs)`);
    return p;
  }

  /** The shard's current primary URL (after failovers). */
  url(shard: number): string {
    const p = this.shardPools[shard];
    if (!p) throw new Error(`shard ${shard} is not configured`);
    return this.byPool.get(p)!.url();
  }

  /**
   * Pools to the current replicas of a shard's server (its database on each), for reads while
   * the primary does not answer (storage/partition-log.ts). Small and opened on first use.
   */
  replicaPools(shard: number): Pool[] {
    const group = this.groups.find((g) => g.shards.includes(shard));
    if (!group || group.replicas.length === 0) return [];
    const database = parseMysqlUrl(this.url(shard)).database;
    return group.replicas.map((r) => {
      const url = formatMysqlUrl({ ...parseMysqlUrl(r), database });
      let pool = this.replicaReadPools.get(url);
      if (!pool) {
        pool = createPool(url, { connectionLimit: 2, queryTimeoutMs: this.queryTimeoutMs > 0 ? Math.min(this.queryTimeoutMs, 5000) : 5000 });
        this.replicaReadPools.set(url, pool);
      }
      return pool;
    });
  }

  /** The server group holding a shard. */
  groupOf(shard: number): ServerGroup {
    return this.groups.find((g) => g.shards.includes(shard))!;
  }

  /**
   * Points every database of `group` at `newPrimary` (a replica's host and port; same user,
   * password, database names), bumps the epoch, and records the old primary as fenced.
   */
  promote(group: ServerGroup, newPrimary: string): void {
    const target = parseMysqlUrl(newPrimary);
    const old = group.primary;
    for (const sp of group.pools) {
      const next = new URL(sp.url());
      next.hostname = target.host.includes(':') ? `[${target.host}]` : target.host;
      next.port = String(target.port);
      next.searchParams.delete('socket');
      sp.switchTo(next.toString());
    }
    group.replicas = group.replicas.filter((r) => serverAddress(r) !== serverAddress(newPrimary));
    // A rejoined old primary promoted again is no longer fenced (the watcher would set it read-only).
    group.fenced = group.fenced.filter((f) => serverAddress(f) !== serverAddress(newPrimary) && serverAddress(f) !== serverAddress(old));
    group.fenced.push(old);
    group.primary = newPrimary;
    group.epoch++;
    group.switches++;
  }

  /**
   * A fenced old primary found replicating from the current primary (`shards rejoin`): a
   * replica again, so a failover candidate and a server Fetch may read from.
   */
  rejoined(group: ServerGroup, server: string): void {
    const at = serverAddress(server);
    group.fenced = group.fenced.filter((f) => serverAddress(f) !== at);
    if (!group.replicas.some((r) => serverAddress(r) === at)) group.replicas.push(server);
  }

  async readServerLimits(): Promise<void> {
    for (let i = 0; i < this.shardPools.length; i++) {
      try {
        const [rows] = await this.shardPools[i]!.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS m');
        this.maxAllowedPacket[i] = Number(rows[0]?.m ?? 4 * 1024 * 1024);
      } catch (err) {
        throw new Error(`cannot reach shard ${i} (${redactUrl(this.shardUrls[i]!)}): ${(err as Error).message}`);
      }
    }
  }

  /** SELECT 1 on every pool (health checks). */
  async ping(): Promise<void> {
    for (const p of this.owned) await p.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await Promise.all(this.owned.map((p) => p.pool.end().catch(() => undefined)));
    await Promise.all([...this.replicaReadPools.values()].map((p) => p.end().catch(() => undefined)));
  }
}
