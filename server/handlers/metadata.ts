/**
 * Metadata (key 3), versions 0-12.
 * Lists brokers, the controller and topics with their partitions. Every partition is led
 * by the broker the cluster view names. Alone, it is the only replica and ISR; with several
 * brokers every live broker is listed as replica and ISR, since any can take the partition
 * over at once (shared storage): durability comes from MySQL, not from Kafka replicas. A missing topic is created when
 * auto.create.topics.enable is on and the request allows it (v4+ flag; always for v0-3),
 * and returned at once with its leader (Kafka answers LEADER_NOT_AVAILABLE first; clients
 * accept either). v10+ topics may be named by id (UNKNOWN_TOPIC_ID when unknown).
 * Authorized operations (v8+ cluster, topics) when asked: with no authorizer every operation
 * the resource supports, as Kafka answers (KIP-430).
 * An unexpected failure sets UNKNOWN_SERVER_ERROR on every requested topic, with no brokers
 * (an all-topics request then gets an empty list), as Kafka's error response does.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { MetadataRequest, MetadataResponse } from '../../codec/generated/metadata.js';
import type { TopicRecord } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { ensureTopic, mayAutoCreate } from '../topics/auto-create.js';
import { endpointFor } from '../security/endpoint.js';
import { authorizeCluster, authorizeTopic, Op } from '../security/authorizer/checks.js';
import { AUTHORIZED_OPERATIONS_OMITTED, authorizedOperations } from './authorized-operations.js';

type ResponseTopic = MetadataResponse['topics'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: 3,
  minVersion: 0,
  maxVersion: 12,
  async handle(request, ctx) {
    const { broker } = ctx;
    const cluster = broker.cluster;
    const opsAsked = ctx.apiVersion >= 8 && request.includeTopicAuthorizedOperations;
    const allTopics = request.topics === null || (ctx.apiVersion === 0 && request.topics.length === 0);
    const topics: ResponseTopic[] = [];
    if (allTopics) {
      // ACLs: topics the principal may not DESCRIBE are left out, as Kafka does (not logged as refusals).
      for (const topic of broker.catalog.listTopics()) if (authorizeTopic(ctx, Op.DESCRIBE, topic.name, false)) topics.push(describeTopic(topic, opsAsked, ctx));
    } else {
      const allowAutoCreate = ctx.apiVersion < 4 || request.allowAutoTopicCreation;
      const creations = { left: broker.config.int('auto.create.topics.max.per.request') };
      for (const wanted of request.topics!) {
        topics.push(await resolveTopic(wanted.name, wanted.topicId, allowAutoCreate, creations, opsAsked, ctx));
      }
    }
    return {
      throttleTimeMs: 0,
      // Each broker's address on the listener this client came through.
      brokers: cluster.brokers().map((b) => ({ nodeId: b.nodeId, ...endpointFor(b, ctx), rack: b.rack })),
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId(),
      topics,
      clusterAuthorizedOperations: authorizedOperations(ctx.apiVersion <= 10 && request.includeClusterAuthorizedOperations, 'cluster', 'kafka-cluster', ctx),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: (request.topics ?? []).map((t) => errorTopic(t.name, t.topicId, errorCode)),
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
};

async function resolveTopic(
  name: string | null,
  topicId: string,
  allowAutoCreate: boolean,
  creations: { left: number },
  opsAsked: boolean,
  ctx: RequestContext,
): Promise<ResponseTopic> {
  const { catalog, config } = ctx.broker;
  if (name === null) {
    const byId = topicId !== ZERO_UUID ? catalog.getTopicById(topicId) : undefined;
    if (!byId) return errorTopic(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID);
    if (!authorizeTopic(ctx, Op.DESCRIBE, byId.name)) return errorTopic(null, topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    return describeTopic(byId, opsAsked, ctx);
  }
  if (!authorizeTopic(ctx, Op.DESCRIBE, name)) return errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  let topic = catalog.getTopic(name);
  if (!topic && allowAutoCreate && config.autoCreateTopics) {
    // ACLs: auto-creation needs CREATE on the cluster or the topic.
    if (!authorizeCluster(ctx, Op.CREATE, false) && !authorizeTopic(ctx, Op.CREATE, name)) return errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // Bounded per request and per second, and never for a client that has gone.
    if (creations.left <= 0 || ctx.clientGone() || !mayAutoCreate(ctx.broker)) {
      return errorTopic(name, ZERO_UUID, ErrorCode.LEADER_NOT_AVAILABLE);
    }
    creations.left--;
    try {
      topic = await ensureTopic(ctx.broker, name);
    } catch (err) {
      const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) ctx.logger.error({ err, topic: name }, 'auto-create failed');
      return errorTopic(name, ZERO_UUID, code);
    }
  }
  if (!topic) return errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  return describeTopic(topic, opsAsked, ctx);
}

function describeTopic(topic: TopicRecord, opsAsked: boolean, ctx: RequestContext): ResponseTopic {
  const cluster = ctx.broker.cluster;
  const partitions: ResponseTopic['partitions'] = [];
  for (let p = 0; p < topic.partitionCount; p++) {
    const leader = cluster.leaderOf(topic.topicId, p);
    // Several brokers: every live broker can take the partition over at once (shared storage), so
    // all are listed as replicas and in sync, the leader first; without a leader, LEADER_NOT_AVAILABLE.
    const replicas = cluster.replicaIds ? [leader, ...cluster.replicaIds().filter((id) => id !== leader)].filter((id) => id >= 0) : [leader];
    partitions.push({
      errorCode: leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p,
      leaderId: leader,
      leaderEpoch: cluster.leaderEpochOf(topic.topicId, p),
      replicaNodes: replicas,
      isrNodes: replicas,
      offlineReplicas: [],
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.isInternal,
    partitions,
    topicAuthorizedOperations: authorizedOperations(opsAsked, 'topic', topic.name, ctx),
  };
}

function errorTopic(name: string | null, topicId: string, errorCode: number): ResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
