/**
 * OffsetForLeaderEpoch (key 23), versions 0-4.
 * What consumers ask after a leader change to check that their position is still in the log
 * (KIP-320). The leader answers: for the current epoch, its log end offset; for an older epoch,
 * the same, with that epoch. Deviation from Kafka: Kafka answers an older epoch with the first
 * offset of the next epoch; kafka-mysql keeps no epoch history because its log is never
 * truncated (the log lives in MySQL and a stale leader is fenced before it can write), so no
 * client position can lie beyond what the answer says and no client ever detects a truncation.
 * An epoch above the current one is answered UNDEFINED_EPOCH (-1, -1) as in Kafka. A
 * current_leader_epoch (v2+) that differs gives FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH; a
 * broker that does not lead the partition answers NOT_LEADER_OR_FOLLOWER. Requests from
 * followers (replica_id >= 0, v3+) are answered the same way; no broker sends them.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
  OffsetForLeaderEpochResponseEpochEndOffset,
} from '../../codec/generated/offset-for-leader-epoch.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';

type EndOffset = OffsetForLeaderEpochResponseEpochEndOffset;

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: 23,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const topics: OffsetForLeaderEpochResponse['topics'] = [];
    for (const t of request.topics) {
      const partitions: EndOffset[] = [];
      topics.push({ topic: t.topic, partitions });
      for (const p of t.partitions) partitions.push(await endOffset(t.topic, p.partition, p.currentLeaderEpoch, p.leaderEpoch, ctx));
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => answer(p.partition, errorCode, -1, -1n)) })),
    };
  },
};

function answer(partition: number, errorCode: number, leaderEpoch: number, endOffset: bigint): EndOffset {
  return { errorCode, partition, leaderEpoch, endOffset };
}

async function endOffset(topicName: string, partition: number, currentLeaderEpoch: number, leaderEpoch: number, ctx: RequestContext): Promise<EndOffset> {
  const { broker } = ctx;
  // ACLs: DESCRIBE on the topic (consumers; there are no follower replicas here).
  if (!authorizeTopic(ctx, Op.DESCRIBE, topicName)) return answer(partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1n);
  const topic = broker.catalog.getTopic(topicName);
  if (!topic || partition < 0 || partition >= topic.partitionCount) return answer(partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n);
  const current = broker.cluster.leaderEpochOf(topic.topicId, partition);
  if (ctx.apiVersion >= 2 && currentLeaderEpoch >= 0 && currentLeaderEpoch !== current) {
    return answer(partition, currentLeaderEpoch > current ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH, -1, -1n);
  }
  if (broker.cluster.leaderOf(topic.topicId, partition) !== broker.cluster.self.nodeId) return answer(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1n);
  if (leaderEpoch > current) return answer(partition, ErrorCode.NONE, -1, -1n);
  try {
    const log = await broker.logs.getLog(topic.topicId, partition);
    return answer(partition, ErrorCode.NONE, leaderEpoch, log.highWatermark());
  } catch (err) {
    if (err instanceof KafkaError) return answer(partition, err.code, -1, -1n);
    ctx.logger.error({ err, topic: topicName, partition }, 'OffsetForLeaderEpoch failed');
    return answer(partition, ErrorCode.UNKNOWN_SERVER_ERROR, -1, -1n);
  }
}
