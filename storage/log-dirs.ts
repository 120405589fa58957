import type { RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from './mysql.js';
import { logTableName } from './schema.js';
import type { LogDirs, LogDirSizes, TopicPartitionSet } from './services.js';
import type { ShardMap } from './shards.js';

/** Log-dir sizes on MySQL: one "log dir" per shard, sizes summed from each log table's byte_size. */
export class MysqlLogDirs implements LogDirs {
  constructor(private readonly shards: ShardMap) {}

  async sizes(wanted: readonly TopicPartitionSet[]): Promise<LogDirSizes[]> {
    const results: LogDirSizes[] = [];
    for (let shard = 0; shard < this.shards.shardCount; shard++) {
      const result: LogDirSizes = { shard, name: `mysql:shard-${shard}`, error: null, topics: [] };
      results.push(result);
      try {
        const pool = this.shards.pool(shard);
        const [dbRows] = await pool.query<RowDataPacket[]>('SELECT DATABASE() AS db');
        result.name = `mysql:shard-${shard}/${String(dbRows[0]?.db ?? '')}`;
        for (const { topic, partitions } of wanted) {
          const here = partitions.filter((p) => topic.shardOfPartition[p] === shard);
          if (here.length === 0) continue;
          const sizes = new Map<number, bigint>();
          try {
            const [rows] = await pool.query<RowDataPacket[]>(
              `SELECT partition_id, SUM(byte_size) AS size FROM ${quoteIdent(logTableName(topic.topicId))} WHERE partition_id IN (?) GROUP BY partition_id`,
              [here],
            );
            for (const r of rows) sizes.set(Number(r.partition_id), BigInt(r.size ?? 0));
          } catch (err) {
            if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') continue; // deleted meanwhile
            throw err;
          }
          result.topics.push({ topic, partitions: here.map((p) => ({ partition: p, bytes: sizes.get(p) ?? 0n })) });
        }
      } catch (err) {
        result.error = err instanceof Error ? err : new Error(String(err));
        result.topics = [];
      }
    }
    return results;
  }
}
