/**
 * ListOffsets (key 2), versions 0-9.
 * Special timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the
 * last stable offset under read_committed), -3 the record with the largest timestamp (v7+),
 * -4 earliest local (v8+; equal to earliest: there is no tiered storage), -5 latest tiered
 * (v9+; -1, none exists). A timestamp >= 0 finds the first record at or after it; no such
 * record gives offset -1 and timestamp -1, as in Kafka. v0 answers in the old-style offsets
 * array (MaxNumOffsets is not honoured beyond one offset).
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../codec/generated/list-offsets.js';
import type { PartitionLog } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { recordFailure } from './errors.js';

type TopicResponse = ListOffsetsResponse['topics'][number];
type PartitionResponse = TopicResponse['partitions'][number];

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const READ_COMMITTED = 1;

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: 2,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, ctx) {
    const topics: TopicResponse[] = [];
    for (const requested of request.topics) {
      const topic = ctx.broker.catalog.getTopic(requested.name);
      const partitions: PartitionResponse[] = [];
      topics.push({ name: requested.name, partitions });
      for (const p of requested.partitions) {
        const response = partitionResponse(p.partitionIndex, ErrorCode.NONE);
        partitions.push(response);
        // ACLs: DESCRIBE on the topic.
        if (!authorizeTopic(ctx, Op.DESCRIBE, requested.name)) {
          response.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitionCount) {
          response.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        const epoch = ctx.broker.cluster.leaderEpochOf(topic.topicId, p.partitionIndex);
        if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== epoch) {
          response.errorCode = p.currentLeaderEpoch > epoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
          continue;
        }
        // Several brokers: offsets are the leader's to answer, as in Kafka.
        if (ctx.broker.cluster.leaderOf(topic.topicId, p.partitionIndex) !== ctx.broker.cluster.self.nodeId) {
          response.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        try {
          const log = await ctx.broker.logs.getLog(topic.topicId, p.partitionIndex);
          const found = await lookup(log, p.timestamp, request.isolationLevel, ctx);
          response.leaderEpoch = epoch;
          if (ctx.apiVersion === 0) response.oldStyleOffsets = found.offset >= 0n ? [found.offset] : [];
          else {
            response.offset = found.offset;
            response.timestamp = found.timestamp;
          }
        } catch (err) {
          recordFailure(response, err, ctx, 'list offsets failed', { topic: requested.name, partition: p.partitionIndex });
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => partitionResponse(p.partitionIndex, errorCode)),
      })),
    };
  },
};

async function lookup(
  log: PartitionLog,
  timestamp: bigint,
  isolationLevel: number,
  ctx: RequestContext,
): Promise<{ offset: bigint; timestamp: bigint }> {
  switch (timestamp) {
    case LATEST:
      return { offset: isolationLevel === READ_COMMITTED ? log.lastStableOffset() : log.highWatermark(), timestamp: -1n };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: log.logStartOffset(), timestamp: -1n };
    case LATEST_TIERED:
      return { offset: -1n, timestamp: -1n };
    case MAX_TIMESTAMP:
      return (await log.maxTimestamp()) ?? { offset: -1n, timestamp: -1n };
    default:
      if (timestamp < 0n) {
        ctx.logger.debug({ timestamp }, 'unknown special timestamp in ListOffsets');
        return { offset: -1n, timestamp: -1n };
      }
      return (await log.offsetForTimestamp(timestamp)) ?? { offset: -1n, timestamp: -1n };
  }
}

function partitionResponse(partitionIndex: number, errorCode: number): PartitionResponse {
  return { partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}
