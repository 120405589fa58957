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
import { callApi, canDescribeTopic, type ConsoleRequest } from './context.js';
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
      const partitions = [];
      for (let p = 0; p < topic.partitionCount; p++) {
        const log = await broker.logs.getLog(topic.topicId, p);
        partitions.push({ partition: p, log_start_offset: Number(log.logStartOffset()), log_end_offset: Number(log.highWatermark()), leader: broker.cluster.leaderOf(topic.topicId, p) });
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
