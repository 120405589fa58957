/**
 * Reading a partition by offset range (a kafka-mysql extension, not in Confluent's proxy):
 * GET /v3/clusters/{id}/topics/{topic}/partitions/{p}/records?offset=&limit=&max_bytes=&format=
 * answers the committed records from `offset` (default: the log start), at most `limit`
 * (default 100, at most 10,000) and about `max_bytes` of stored batches (default 1 MiB, at most
 * 50 MiB, Kafka's default fetch.max.bytes), keys and values rendered as binary (base64), string or json.
 */
import { Op, requireTopicOp } from './authorize.js';
import { checkCluster, list, requirePartition, requireTopic } from './links.js';
import { readRange } from './reader.js';
import { readFormat, renderRecord } from './record-json.js';
import { intParam, type Route } from './router.js';

const MAX_LIMIT = 10_000;
/** Kafka's consumer default fetch.max.bytes. */
const MAX_BYTES = 52_428_800;

export const recordRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/records',
    async handle({ req, rest, params, query, caller }) {
      const id = checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.READ, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      const partition = requirePartition(topic, params.partition!);
      const format = readFormat(query.get('format'));
      const limit = Math.min(intParam(query.get('limit'), 'limit', 100, 1), MAX_LIMIT);
      const maxBytes = Math.min(intParam(query.get('max_bytes'), 'max_bytes', 1_048_576, 1), MAX_BYTES);
      const log = await rest.broker.logs.getLog(topic.topicId, partition);
      const offset = query.get('offset') === null ? log.logStartOffset() : BigInt(intParam(query.get('offset'), 'offset'));
      const read = await readRange(rest, topic, partition, offset, limit, maxBytes);
      const path = `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/partitions/${partition}/records`;
      return {
        status: 200,
        body: {
          ...list(req, 'KafkaRecordList', path, read.records.map((r) => renderRecord(topic.name, partition, r, format))),
          next_offset: Number(read.nextOffset),
          high_watermark: Number(read.highWatermark),
          log_start_offset: Number(read.logStartOffset),
        },
      };
    },
  },
];
