/**
 * DescribeProducers (key 61), version 0.
 * The idempotent and transactional producers each requested partition knows: producer id,
 * epoch, last sequence, last batch timestamp, coordinator epoch and the first offset of its
 * open transaction (-1 when none), from the partition's in-memory producer state (rebuilt from
 * MySQL when the partition loads). Unknown partitions: UNKNOWN_TOPIC_OR_PARTITION.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeProducersRequest, DescribeProducersResponse } from '../../codec/generated/describe-producers.js';
import type { ApiHandler } from '../handler-types.js';
import { recordFailure } from './errors.js';

type PartitionResponse = DescribeProducersResponse['topics'][number]['partitions'][number];

export const describeProducersHandler: ApiHandler<DescribeProducersRequest, DescribeProducersResponse> = {
  apiKey: 61,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const topics: DescribeProducersResponse['topics'] = [];
    for (const t of request.topics) {
      const topic = ctx.broker.catalog.getTopic(t.name);
      const partitions: PartitionResponse[] = [];
      topics.push({ name: t.name, partitions });
      for (const index of t.partitionIndexes) {
        const response: PartitionResponse = { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: [] };
        partitions.push(response);
        // ACLs: READ on the topic.
        if (!authorizeTopic(ctx, Op.READ, t.name)) {
          response.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        if (!topic || index < 0 || index >= topic.partitionCount) {
          response.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        try {
          const log = await ctx.broker.logs.getLog(topic.topicId, index);
          response.activeProducers = log.producers().map((p) => ({
            producerId: p.producerId,
            producerEpoch: p.epoch,
            lastSequence: p.batches.length > 0 ? p.batches[p.batches.length - 1]!.lastSeq : -1,
            lastTimestamp: p.lastTimestamp,
            coordinatorEpoch: p.coordinatorEpoch,
            currentTxnStartOffset: p.txnFirstOffset,
          }));
        } catch (err) {
          recordFailure(response, err, ctx, 'describe producers failed', { topic: t.name, partition: index });
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
        partitions: t.partitionIndexes.map((i) => ({ partitionIndex: i, errorCode, errorMessage: null, activeProducers: [] })),
      })),
    };
  },
};
