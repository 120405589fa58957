/**
 * DescribeLogDirs (key 35), versions 0-4.
 * A "log dir" here is a MySQL shard: one result per shard, named `mysql:shard-<N>/<database>`
 * (no host or credentials), listing the requested partitions (all when topics is null) placed
 * on it with their size (storage's LogDirs service): the bytes of the partition's stored
 * batches, including any not yet removed below the log start. A shard that cannot be read
 * gets KAFKA_STORAGE_ERROR and no topics. offset_lag is 0 and is_future_key false (no replica moves).
 * total_bytes and usable_bytes (v4) are -1: MySQL's free space is not known to the broker.
 * Partitions and topics that do not exist are left out, as Kafka leaves them out.
 */
import { authorizeCluster, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from '../../codec/generated/describe-log-dirs.js';
import type { TopicPartitionSet } from '../../storage/services.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';

type DirResult = DescribeLogDirsResponse['results'][number];

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: 35,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const dirs = await ctx.broker.logDirs.sizes(selectPartitions(request, ctx));
    const results: DirResult[] = dirs.map((dir) => {
      if (dir.error) ctx.logger.warn({ err: dir.error, shard: dir.shard }, 'describe log dirs: shard unavailable');
      return {
        errorCode: dir.error ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
        logDir: dir.name,
        topics: dir.topics.map(({ topic, partitions }) => ({
          name: topic.name,
          partitions: partitions.map((p) => ({ partitionIndex: p.partition, partitionSize: p.bytes, offsetLag: 0n, isFutureKey: false })),
        })),
        totalBytes: -1n,
        usableBytes: -1n,
      };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, results: [] };
  },
};

function selectPartitions(request: DescribeLogDirsRequest, ctx: RequestContext): TopicPartitionSet[] {
  const catalog = ctx.broker.catalog;
  if (request.topics === null) {
    return catalog
      .listTopics()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((topic) => ({ topic, partitions: Array.from({ length: topic.partitionCount }, (_, i) => i) }));
  }
  const out: TopicPartitionSet[] = [];
  for (const t of request.topics) {
    const topic = catalog.getTopic(t.topic);
    if (!topic) continue;
    const partitions = [...new Set(t.partitions)].filter((p) => p >= 0 && p < topic.partitionCount);
    if (partitions.length > 0) out.push({ topic, partitions });
  }
  return out;
}
