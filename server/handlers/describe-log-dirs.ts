/**
 * DescribeLogDirs (key 35), versions 0-4.
 * A "log dir" here is a MySQL shard: one result per shard, named `mysql:shard-<N>/<database>`
 * (no host or credentials), listing the requested partitions (all when topics is null) placed
 * on it with their size: SUM(byte_size) of the partition's stored batches, including any not
 * yet removed below the log start. offset_lag is 0 and is_future_key false (no replica moves).
 * total_bytes and usable_bytes (v4) are -1: MySQL's free space is not known to the broker.
 * Partitions and topics that do not exist are left out, as Kafka leaves them out.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from '../../codec/generated/describe-log-dirs.js';
import type { Storage } from '../../storage/index.js';
import { quoteIdent } from '../../storage/mysql.js';
import { logTableName } from '../../storage/schema.js';
import type { TopicRecord } from '../../storage/types.js';
import type { RowDataPacket } from 'mysql2/promise';
import type { ApiHandler, RequestContext } from '../handler-types.js';

type DirResult = DescribeLogDirsResponse['results'][number];

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: 35,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const storage = ctx.broker.services.get('storage') as Storage;
    const wanted = selectPartitions(request, ctx);
    const results: DirResult[] = [];
    for (let shard = 0; shard < storage.shardPools.length; shard++) {
      const pool = storage.shardPools[shard]!;
      const result: DirResult = { errorCode: ErrorCode.NONE, logDir: `mysql:shard-${shard}`, topics: [], totalBytes: -1n, usableBytes: -1n };
      results.push(result);
      try {
        const [dbRows] = await pool.query<RowDataPacket[]>('SELECT DATABASE() AS db');
        result.logDir = `mysql:shard-${shard}/${String(dbRows[0]?.db ?? '')}`;
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
          result.topics.push({
            name: topic.name,
            partitions: here.map((p) => ({ partitionIndex: p, partitionSize: sizes.get(p) ?? 0n, offsetLag: 0n, isFutureKey: false })),
          });
        }
      } catch (err) {
        ctx.logger.warn({ err, shard }, 'describe log dirs: shard unavailable');
        result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        result.topics = [];
      }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, results: [] };
  },
};

function selectPartitions(request: DescribeLogDirsRequest, ctx: RequestContext): Array<{ topic: TopicRecord; partitions: number[] }> {
  const catalog = ctx.broker.catalog;
  if (request.topics === null) {
    return catalog
      .listTopics()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((topic) => ({ topic, partitions: Array.from({ length: topic.partitionCount }, (_, i) => i) }));
  }
  const out: Array<{ topic: TopicRecord; partitions: number[] }> = [];
  for (const t of request.topics) {
    const topic = catalog.getTopic(t.topic);
    if (!topic) continue;
    const partitions = [...new Set(t.partitions)].filter((p) => p >= 0 && p < topic.partitionCount);
    if (partitions.length > 0) out.push({ topic, partitions });
  }
  return out;
}
