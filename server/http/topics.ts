/**
 * v3 topics, topic configs and partitions. Create and delete go through the CreateTopics and
 * DeleteTopics handlers (same validation and errors as the Kafka protocol); config changes
 * through IncrementalAlterConfigs. Partitions list leader and replicas from the cluster view.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../../codec/error-codes.js';
import { createCreateTopicsRequest, type CreateTopicsResponse } from '../../codec/generated/create-topics.js';
import { createDeleteTopicsRequest, type DeleteTopicsResponse } from '../../codec/generated/delete-topics.js';
import { createIncrementalAlterConfigsRequest, type IncrementalAlterConfigsResponse } from '../../codec/generated/incremental-alter-configs.js';
import type { TopicRecord } from '../../storage/types.js';
import { ConfigSourceCode, describeTopicConfigs, type DescribedConfig } from '../config/index.js';
import { mayTopic, Op, requireTopicOp } from './authorize.js';
import type { RestCaller, RestContext } from './context.js';
import { fromKafkaCode, notFound, RestError } from './errors.js';
import { checkCluster, list, related, requirePartition, requireTopic, resource } from './links.js';
import { optInt, readJson, reqString, requestLimit, type Route } from './router.js';

const SOURCE_NAMES = new Map<number, string>([
  [ConfigSourceCode.TOPIC_CONFIG, 'DYNAMIC_TOPIC_CONFIG'],
  [ConfigSourceCode.DYNAMIC_BROKER_CONFIG, 'DYNAMIC_BROKER_CONFIG'],
  [ConfigSourceCode.DYNAMIC_DEFAULT_BROKER_CONFIG, 'DYNAMIC_DEFAULT_BROKER_CONFIG'],
  [ConfigSourceCode.STATIC_BROKER_CONFIG, 'STATIC_BROKER_CONFIG'],
  [ConfigSourceCode.DEFAULT_CONFIG, 'DEFAULT_CONFIG'],
]);
const TOPIC_RESOURCE = 2;
const OP_SET = 0;
const OP_DELETE = 1;

function replicasOf(rest: RestContext, topic: TopicRecord, partition: number): number[] {
  const leader = rest.broker.cluster.leaderOf(topic.topicId, partition);
  return rest.broker.cluster.replicaIds?.() ?? [leader];
}

export function topicBody(req: IncomingMessage, rest: RestContext, topic: TopicRecord): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const path = `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}`;
  return resource(req, 'KafkaTopic', path, `crn:///kafka=${id}/topic=${topic.name}`, {
    cluster_id: id,
    topic_name: topic.name,
    is_internal: topic.isInternal,
    replication_factor: topic.partitionCount > 0 ? replicasOf(rest, topic, 0).length : 0,
    partitions_count: topic.partitionCount,
    partitions: related(req, `${path}/partitions`),
    configs: related(req, `${path}/configs`),
    partition_reassignments: related(req, `${path}/partitions/-/reassignment`),
  });
}

function configBody(req: IncomingMessage, rest: RestContext, topic: TopicRecord, c: DescribedConfig): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const path = `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/configs/${c.name}`;
  return resource(req, 'KafkaTopicConfig', path, `crn:///kafka=${id}/topic=${topic.name}/config=${c.name}`, {
    cluster_id: id,
    topic_name: topic.name,
    name: c.name,
    value: c.isSensitive ? null : c.value,
    is_default: c.isDefault,
    is_read_only: c.readOnly,
    is_sensitive: c.isSensitive,
    source: SOURCE_NAMES.get(c.source) ?? 'UNKNOWN',
    synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: SOURCE_NAMES.get(s.source) ?? 'UNKNOWN' })),
  });
}

function partitionBody(req: IncomingMessage, rest: RestContext, topic: TopicRecord, p: number): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const path = `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/partitions/${p}`;
  const leader = rest.broker.cluster.leaderOf(topic.topicId, p);
  return resource(req, 'KafkaPartition', path, `crn:///kafka=${id}/topic=${topic.name}/partition=${p}`, {
    cluster_id: id,
    topic_name: topic.name,
    partition_id: p,
    leader: related(req, `${path}/replicas/${leader}`),
    replicas: related(req, `${path}/replicas`),
    reassignment: related(req, `${path}/reassignment`),
    records: related(req, `${path}/records`),
  });
}

async function alterConfig(rest: RestContext, caller: RestCaller, topic: string, name: string, op: number, value: string | null): Promise<void> {
  const response = await rest.callApi<IncrementalAlterConfigsResponse>(
    44,
    createIncrementalAlterConfigsRequest({ resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic, configs: [{ name, configOperation: op, value }] }] }),
    caller,
  );
  const r = response.responses[0];
  if (r && r.errorCode !== ErrorCode.NONE) throw fromKafkaCode(r.errorCode, r.errorMessage);
}

export const topicRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      // Topics the caller may not describe are left out, as Metadata leaves them out.
      const topics = rest.broker.catalog
        .listTopics()
        .filter((t) => mayTopic(rest, caller, Op.DESCRIBE, t.name))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { status: 200, body: list(req, 'KafkaTopicList', `/v3/clusters/${id}/topics`, topics.map((t) => topicBody(req, rest, t))) };
    },
  },
  {
    method: 'POST',
    path: '/v3/clusters/{cluster}/topics',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      const body = await readJson(req, requestLimit(rest));
      const name = reqString(body, 'topic_name');
      const partitions = optInt(body, 'partitions_count', -1) ?? -1;
      const replication = optInt(body, 'replication_factor', -1) ?? -1;
      const configs = body.configs ?? [];
      if (!Array.isArray(configs) || !configs.every((c) => typeof c === 'object' && c !== null && typeof c.name === 'string' && (c.value === null || typeof c.value === 'string'))) {
        throw new RestError(422, 422, 'configs must be an array of {"name": string, "value": string or null}');
      }
      const validateOnly = body.validate_only === true;
      const response = await rest.callApi<CreateTopicsResponse>(
        19,
        createCreateTopicsRequest({
          topics: [{ name, numPartitions: partitions, replicationFactor: replication, assignments: [], configs: configs.map((c) => ({ name: c.name as string, value: c.value as string | null })) }],
          timeoutMs: 30_000,
          validateOnly,
        }),
        caller,
      );
      const result = response.topics[0]!;
      if (result.errorCode !== ErrorCode.NONE) {
        const error = fromKafkaCode(result.errorCode, result.errorMessage);
        // Confluent: an existing topic is 400 with error_code 40002.
        if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) throw new RestError(400, 40002, result.errorMessage ?? `Topic '${name}' already exists.`, result.errorCode);
        throw error;
      }
      const topic = rest.broker.catalog.getTopic(name);
      if (!topic || validateOnly) {
        const id = rest.broker.cluster.clusterId;
        return { status: validateOnly ? 200 : 201, body: { kind: 'KafkaTopic', cluster_id: id, topic_name: name, partitions_count: result.numPartitions, replication_factor: result.replicationFactor, is_internal: false } };
      }
      return { status: 201, body: topicBody(req, rest, topic) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DESCRIBE, params.topic!);
      return { status: 200, body: topicBody(req, rest, requireTopic(rest, params.topic!)) };
    },
  },
  {
    method: 'DELETE',
    path: '/v3/clusters/{cluster}/topics/{topic}',
    async handle({ rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DELETE, params.topic!);
      requireTopic(rest, params.topic!);
      const response = await rest.callApi<DeleteTopicsResponse>(20, createDeleteTopicsRequest({ topicNames: [params.topic!], topics: [{ name: params.topic!, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 30_000 }), caller);
      const r = response.responses[0];
      if (r && r.errorCode !== ErrorCode.NONE) throw fromKafkaCode(r.errorCode, r.errorMessage);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/configs',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DESCRIBE_CONFIGS, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      const configs = describeTopicConfigs(topic.configs, rest.broker.config, null);
      return { status: 200, body: list(req, 'KafkaTopicConfigList', `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/configs`, configs.map((c) => configBody(req, rest, topic, c))) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/configs/{name}',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DESCRIBE_CONFIGS, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      const c = describeTopicConfigs(topic.configs, rest.broker.config, null).find((x) => x.name === params.name);
      if (!c) throw notFound(`Config ${params.name} cannot be found for topic ${topic.name}.`);
      return { status: 200, body: configBody(req, rest, topic, c) };
    },
  },
  {
    method: 'PUT',
    path: '/v3/clusters/{cluster}/topics/{topic}/configs/{name}',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.ALTER_CONFIGS, params.topic!);
      requireTopic(rest, params.topic!);
      const body = await readJson(req, requestLimit(rest));
      if (typeof body.value !== 'string') throw new RestError(422, 422, 'value must be a string');
      await alterConfig(rest, caller, params.topic!, params.name!, OP_SET, body.value);
      return { status: 204 };
    },
  },
  {
    method: 'DELETE',
    path: '/v3/clusters/{cluster}/topics/{topic}/configs/{name}',
    async handle({ rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.ALTER_CONFIGS, params.topic!);
      requireTopic(rest, params.topic!);
      await alterConfig(rest, caller, params.topic!, params.name!, OP_DELETE, null);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/partitions',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DESCRIBE, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      const data = Array.from({ length: topic.partitionCount }, (_, p) => partitionBody(req, rest, topic, p));
      return { status: 200, body: list(req, 'KafkaPartitionList', `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/partitions`, data) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.DESCRIBE, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      return { status: 200, body: partitionBody(req, rest, topic, requirePartition(topic, params.partition!)) };
    },
  },
];
