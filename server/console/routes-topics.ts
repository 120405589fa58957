/**
 * Console routes for topics beyond the REST interface: a paged, filtered topic list (fast with
 * 10,000 topics: the catalog is in memory, only one page is rendered), partitions with log
 * start, end and leader, adding partitions (CreatePartitions, as the principal), and browsing
 * a partition (server/console/messages.ts). Create, delete, configs and produce use /v3.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { createCreatePartitionsRequest, type CreatePartitionsResponse } from '../../codec/generated/create-partitions.js';
import { effectiveTopicConfig } from '../config/index.js';
import { fromKafkaCode, RestError, topicNotFound } from '../http/errors.js';
import { intParam, readJson } from '../http/router.js';
import { indexed } from '../message-index/indexer.js';
import { callApi, canDescribeCluster, canDescribeTopic, type ConsoleRequest } from './context.js';
import { browseMessages, findIndexed } from './messages.js';
import type { ConsoleRoute } from './router.js';

const MAX_PAGE = 500;

function describableTopic(r: ConsoleRequest) {
  const name = r.params.topic!;
  const topic = r.state.deps.broker.catalog.getTopic(name);
  // An unauthorized topic looks like a missing one, as Kafka's Metadata does.
  if (!topic || !canDescribeTopic(r, name)) throw topicNotFound(name);
  return topic;
}

export const topicRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/console/api/topics',
    async handle(r) {
      const { broker } = r.state.deps;
      const offset = intParam(r.query.get('offset'), 'offset', 0);
      const limit = Math.min(intParam(r.query.get('limit'), 'limit', 50, 1), MAX_PAGE);
      const q = (r.query.get('q') ?? '').toLowerCase();
      const internal = r.query.get('internal') === 'true';
      const all = broker.catalog
        .listTopics()
        .filter((t) => (internal || !t.isInternal) && (q === '' || t.name.toLowerCase().includes(q)) && canDescribeTopic(r, t.name))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const page = all.slice(offset, offset + limit).map((t) => ({
        name: t.name,
        partitions: t.partitionCount,
        internal: t.isInternal,
        cleanup_policy: effectiveTopicConfig('cleanup.policy', t.configs, broker.config).value,
        retention_ms: effectiveTopicConfig('retention.ms', t.configs, broker.config).value,
        message_index: indexed(t),
        bytes_in_per_sec: Math.round(r.state.metricsHistory.topicRate(t.name)),
      }));
      return { total: all.length, offset, limit, topics: page };
    },
  },
  {
    method: 'GET',
    path: '/console/api/topics/{topic}',
    async handle(r) {
      const { broker } = r.state.deps;
      const topic = describableTopic(r);
      // Stored bytes per partition, as DescribeLogDirs answers them (which needs DESCRIBE on the cluster).
      const sizes = new Map<number, number>();
      if (canDescribeCluster(r)) {
        try {
          for (const dir of await broker.logDirs.sizes([{ topic, partitions: Array.from({ length: topic.partitionCount }, (_, p) => p) }])) {
            for (const t of dir.topics) for (const p of t.partitions) sizes.set(p.partition, Number(p.bytes));
          }
        } catch {
          // A shard that does not answer leaves the sizes out; offsets still show.
        }
      }
      const partitions = [];
      for (let p = 0; p < topic.partitionCount; p++) {
        const log = await broker.logs.getLog(topic.topicId, p);
        partitions.push({ partition: p, log_start_offset: Number(log.logStartOffset()), log_end_offset: Number(log.highWatermark()), leader: broker.cluster.leaderOf(topic.topicId, p), size_bytes: sizes.get(p) ?? null });
      }
      return { name: topic.name, topic_id: topic.topicId, internal: topic.isInternal, message_index: indexed(topic), partitions };
    },
  },
  {
    method: 'POST',
    path: '/console/api/topics/{topic}/partitions',
    async handle(r) {
      const topic = describableTopic(r);
      const body = await readJson(r.req, r.state.deps.broker.config.int('socket.request.max.bytes'));
      const count = body.count;
      if (typeof count !== 'number' || !Number.isInteger(count) || count <= topic.partitionCount) throw new RestError(422, 422, `count must be an integer above the current ${topic.partitionCount}`);
      const response = await callApi<CreatePartitionsResponse>(r, 37, createCreatePartitionsRequest({ topics: [{ name: topic.name, count, assignments: null }], timeoutMs: 30_000, validateOnly: false }));
      const result = response.results[0];
      if (result && result.errorCode !== ErrorCode.NONE) throw fromKafkaCode(result.errorCode, result.errorMessage);
      return { name: topic.name, partitions: count };
    },
  },
  {
    method: 'GET',
    path: '/console/api/topics/{topic}/messages',
    async handle(r) {
      const topic = describableTopic(r);
      return browseMessages(r, topic);
    },
  },
  {
    method: 'GET',
    path: '/console/api/topics/{topic}/find',
    async handle(r) {
      const topic = describableTopic(r);
      if (!r.state.deps.messageIndex) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'no message index on this broker');
      return findIndexed(r, topic);
    },
  },
];
