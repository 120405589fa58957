/**
 * DeleteRecords (key 21), versions 0-2.
 * Moves each partition's log start offset to the requested offset (-1 = the high watermark),
 * persists it, then deletes the batches lying wholly below it (archiving them first when the
 * topic has retention.archive) under the retention job's per-partition lock. The response's
 * low watermark is the resulting log start. An offset beyond the high watermark (or below -1)
 * gets OFFSET_OUT_OF_RANGE; an offset below the current log start leaves it unchanged.
 * As in Kafka, a batch straddling the new log start stays stored (reads from the log start
 * return it and clients skip the records before their fetch offset). When the retention job
 * holds the partition's lock for longer than the request's timeout, the log start still
 * moves at once and the rows are removed by the job's next run.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../codec/generated/delete-records.js';
import { isTruncatable } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { retentionPolicyOf } from '../retention/policy.js';
import { recordFailure } from './errors.js';

type TopicResult = DeleteRecordsResponse['topics'][number];
type PartitionResult = TopicResult['partitions'][number];

export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: 21,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const topics: TopicResult[] = [];
    for (const t of request.topics) {
      const partitions: PartitionResult[] = [];
      topics.push({ name: t.name, partitions });
      for (const p of t.partitions) partitions.push(await deleteOne(t.name, p.partitionIndex, p.offset, request.timeoutMs, ctx));
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })),
      })),
    };
  },
};

async function deleteOne(name: string, partition: number, offset: bigint, timeoutMs: number, ctx: RequestContext): Promise<PartitionResult> {
  const result: PartitionResult = { partitionIndex: partition, lowWatermark: -1n, errorCode: ErrorCode.NONE };
  const { broker } = ctx;
  try {
    // ACLs: DELETE on the topic.
    if (!authorizeTopic(ctx, Op.DELETE, name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    const topic = broker.catalog.getTopic(name);
    if (!topic || partition < 0 || partition >= topic.partitionCount) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    }
    const log = await broker.logs.getLog(topic.topicId, partition);
    const hw = log.highWatermark();
    const target = offset === -1n ? hw : offset;
    if (target < 0n || target > hw) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Cannot delete records of partition ${name}-${partition} before offset ${offset}: the high watermark is ${hw}`);
    }
    if (!isTruncatable(log)) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'this log cannot move its start');
    const start = await log.setLogStartOffset(target);
    result.lowWatermark = start;
    const retention = broker.retention;
    if (retention) {
      const policy = { ...retentionPolicyOf(topic, broker.config), retentionMs: -1n, retentionBytes: -1n };
      const cleaned = await retention.cleaner.cleanPartition(topic, partition, policy, {
        lockWaitSeconds: Math.max(0, Math.min(30, Math.floor(timeoutMs / 1000))),
      });
      ctx.logger.info({ topic: name, partition, logStart: String(start), batches: cleaned.batches, bytes: cleaned.bytes, skipped: cleaned.skipped }, 'records deleted');
    }
    result.lowWatermark = log.logStartOffset();
  } catch (err) {
    recordFailure(result, err, ctx, 'delete records failed', { topic: name, partition });
  }
  return result;
}
