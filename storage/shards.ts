import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createPool, parseMysqlUrl, redactUrl } from './mysql.js';

/**
 * The shard map: one pool per shard, plus the metadata pool (shared with shard 0 when the URLs
 * name the same database). Shard i's URL is shardUrls[i]; partitions are placed by index, so
 * the list may grow but must not be reordered.
 */
export class ShardMap {
  readonly metadataPool: Pool;
  readonly shardPools: Pool[];
  /** max_allowed_packet of each shard, read at open. */
  readonly maxAllowedPacket: number[] = [];
  private readonly owned: Pool[] = [];

  constructor(
    readonly metadataUrl: string,
    readonly shardUrls: string[],
    poolSize: number,
  ) {
    const key = (u: string) => {
      const l = parseMysqlUrl(u);
      return `${l.socketPath ?? `${l.host}:${l.port}`}/${l.database}/${l.user}`;
    };
    this.metadataPool = createPool(metadataUrl, { connectionLimit: poolSize });
    this.owned.push(this.metadataPool);
    this.shardPools = shardUrls.map((u) => {
      if (key(u) === key(metadataUrl)) return this.metadataPool;
      const p = createPool(u, { connectionLimit: poolSize });
      this.owned.push(p);
      return p;
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

  url(shard: number): string {
    const u = this.shardUrls[shard];
    if (u === undefined) throw new Error(`shard ${shard} is not configured`);
    return u;
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
    for (const p of this.owned) await p.query('SELECT 1');
  }

  async close(): Promise<void> {
    await Promise.all(this.owned.map((p) => p.end().catch(() => undefined)));
  }
}
