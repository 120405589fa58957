/**
 * CreateTopics (key 19), versions 0-7.
 * Validates name, partition count, replica assignment and configs (INVALID_CONFIG names the
 * key), then creates the topic and its partitions' tables on their shards. validate_only
 * (v1+) checks without creating. -1 partitions or replication factor (v4+) take the broker
 * defaults. v5+ returns the topic's configs with sources, partition count and replication factor
 * when the principal may DESCRIBE_CONFIGS the topic; otherwise, as Kafka, topic_config_error_code
 * TOPIC_AUTHORIZATION_FAILED, no configs and -1 for both (the topic is created all the same).
 * v7+ its topic id. ACLs: CREATE on the cluster or the topic (the cluster check alone is not
 * logged as a refusal, as Kafka's logIfDenied=false).
 * Deviation: any positive replication factor is accepted (Kafka rejects one larger than the
 * number of brokers); MySQL provides the durability, so the factor is reported but not
 * acted on. A request naming a topic twice fails both with INVALID_REQUEST, as in Kafka.
 */
import { authorizeCluster, authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../codec/generated/create-topics.js';
import { describeTopicConfigs, validateTopicConfigs } from '../config/index.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { validateTopicName } from '../topics/names.js';
import { checkPartitionLimits } from '../topics/partition-limits.js';
import { recordFailure } from './errors.js';

type Creatable = CreateTopicsRequest['topics'][number];
type Result = CreateTopicsResponse['topics'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: 19,
  minVersion: 0,
  maxVersion: 7,
  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Result[] = [];
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push(result(topic.name, ErrorCode.INVALID_REQUEST, `Create topics request from client contains duplicate topic ${topic.name}`));
        continue;
      }
      results.push(await createOne(topic, request.validateOnly, ctx));
    }
    return { throttleTimeMs: 0, topics: results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => result(t.name, errorCode, null)) };
  },
};

async function createOne(topic: Creatable, validateOnly: boolean, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  try {
    // ACLs: CREATE on the cluster or on the topic.
    if (!authorizeCluster(ctx, Op.CREATE, false) && !authorizeTopic(ctx, Op.CREATE, topic.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    if (broker.cluster.controllerId() !== broker.cluster.self.nodeId) throw KafkaError.of('NOT_CONTROLLER');
    validateTopicName(topic.name);
    const partitions = partitionCount(topic, ctx);
    if (topic.replicationFactor === 0 || topic.replicationFactor < -1) {
      throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
    }
    const replicationFactor = topic.replicationFactor === -1 ? broker.config.defaultReplicationFactor : topic.replicationFactor;
    const configs = validateTopicConfigs(Object.fromEntries(topic.configs.map((c) => [c.name, c.value])));
    if (broker.catalog.getTopic(topic.name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`);
    let topicId = ZERO_UUID;
    if (!validateOnly) {
      const created = await broker.catalog.createTopic({ name: topic.name, partitions, configs });
      topicId = created.topicId;
      broker.logger.info({ topic: topic.name, partitions, configs }, 'topic created');
    }
    // v5+ configs follow DESCRIBE_CONFIGS on the topic (Kafka's describable topics); asking is not a refusal to log.
    if (!authorizeTopic(ctx, Op.DESCRIBE_CONFIGS, topic.name, false)) {
      return { ...result(topic.name, ErrorCode.NONE, null), topicId, topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, configs: [] };
    }
    const described = describeTopicConfigs(configs, broker.config, null);
    return {
      name: topic.name,
      topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topicConfigErrorCode: ErrorCode.NONE,
      numPartitions: partitions,
      replicationFactor,
      configs: described.map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        configSource: c.source,
        isSensitive: c.isSensitive,
      })),
    };
  } catch (err) {
    const failed = result(topic.name, ErrorCode.NONE, null);
    recordFailure(failed, err, ctx, 'create topic failed', { topic: topic.name });
    return failed;
  }
}

function partitionCount(topic: Creatable, ctx: RequestContext): number {
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    checkPartitionLimits(ctx.broker, topic.name, topic.assignments.length, topic.assignments.length);
    const brokers = new Set(ctx.broker.cluster.brokers().map((b) => b.nodeId));
    const seen = new Set<number>();
    for (const a of topic.assignments) {
      if (a.brokerIds.length === 0 || a.brokerIds.some((id) => !brokers.has(id))) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Invalid replica assignment for partition ${a.partitionIndex}`);
      }
      seen.add(a.partitionIndex);
    }
    for (let p = 0; p < topic.assignments.length; p++) {
      if (!seen.has(p)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
    }
    return topic.assignments.length;
  }
  const count = topic.numPartitions === -1 ? ctx.broker.config.numPartitions : topic.numPartitions;
  if (count <= 0) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0, or -1 to use the default value.');
  checkPartitionLimits(ctx.broker, topic.name, count, count);
  return count;
}

function result(name: string, errorCode: number, errorMessage: string | null): Result {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  };
}
