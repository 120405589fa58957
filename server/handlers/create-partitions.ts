/**
 * CreatePartitions (key 37), versions 0-3.
 * Grows a topic's partition count: the new partitions are placed on shards (continuing the
 * topic's round-robin) and their shards get the topic's log table. validate_only checks
 * without changing anything. A count not larger than the current one gets INVALID_PARTITIONS;
 * explicit assignments must name one replica list per new partition, each of live broker ids
 * (INVALID_REPLICA_ASSIGNMENT otherwise) and are otherwise only reported, as placement is by
 * shard. A topic named twice in one request fails with INVALID_REQUEST, as in Kafka.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../codec/generated/create-partitions.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { checkPartitionLimits } from '../topics/partition-limits.js';
import { recordFailure } from './errors.js';

type Topic = CreatePartitionsRequest['topics'][number];
type Result = CreatePartitionsResponse['results'][number];

export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Result[] = [];
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate topic in request: ${topic.name}` });
        continue;
      }
      results.push(await createOne(topic, request.validateOnly, ctx));
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  },
};

async function createOne(topic: Topic, validateOnly: boolean, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  try {
    // ACLs: ALTER on the topic.
    if (!authorizeTopic(ctx, Op.ALTER, topic.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    if (broker.cluster.controllerId() !== broker.cluster.self.nodeId) throw KafkaError.of('NOT_CONTROLLER');
    let current = broker.catalog.getTopic(topic.name);
    if (!current) {
      await broker.catalog.refresh();
      current = broker.catalog.getTopic(topic.name);
    }
    if (!current) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${topic.name}' does not exist.`);
    const existing = current.partitionCount;
    if (topic.count < existing) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${existing} partitions, which is higher than the requested ${topic.count}.`);
    }
    if (topic.count === existing) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${existing} partitions.`);
    checkPartitionLimits(broker, topic.name, topic.count, topic.count - existing);
    if (topic.assignments !== null) {
      const added = topic.count - existing;
      if (topic.assignments.length !== added) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Increasing the number of partitions by ${added} but ${topic.assignments.length} assignments provided.`,
        );
      }
      const live = new Set(broker.cluster.brokers().map((b) => b.nodeId));
      for (const a of topic.assignments) {
        const unknown = a.brokerIds.filter((id) => !live.has(id));
        if (a.brokerIds.length === 0 || unknown.length > 0) {
          throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker(s) in replica assignment: ${unknown.join(', ') || '(empty)'}.`);
        }
        if (new Set(a.brokerIds).size !== a.brokerIds.length) {
          throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${a.brokerIds.join(', ')}.`);
        }
      }
    }
    if (!validateOnly) {
      await broker.catalog.addPartitions(topic.name, topic.count);
      broker.logger.info({ topic: topic.name, from: existing, to: topic.count }, 'partitions added');
    }
    return { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    const failed = { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null as string | null };
    recordFailure(failed, err, ctx, 'create partitions failed', { topic: topic.name });
    return failed;
  }
}
