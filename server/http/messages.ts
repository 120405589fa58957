/**
 * Finding messages over REST (a kafka-mysql extension; docs/outbox.md, finding messages): the
 * message index of a topic with message.index.enable, as `kafka-mysql messages find` queries it.
 *   GET /v3/clusters/{id}/topics/{topic}/messages?key=K | key_base64=B | message_id=M |
 *       message_id_base64=B | from=T[&to=T]  [&limit=100] [&format=binary|string|json]
 * Exactly one of a key, a message id or a time range (ISO-8601 or epoch ms); the matching
 * records read back from the log, oldest first, in the shape of the offset-range read. READ on
 * the topic, as reading it. A bad query is 400; a topic without the index 400 (INVALID_REQUEST).
 */
import type { MessageIndexStore } from '../../storage/message-index/index-store.js';
import { findMessages, MAX_FIND_LIMIT, QueryError, type FindRequest } from '../message-index/find.js';
import { Op, requireTopicOp } from './authorize.js';
import { badRequest } from './errors.js';
import { checkCluster, list, requireTopic } from './links.js';
import { readFormat, renderRecord } from './record-json.js';
import { intParam, type Route } from './router.js';

function bytesParam(query: URLSearchParams, name: string): Buffer | undefined {
  const text = query.get(name);
  const b64 = query.get(`${name}_base64`);
  if (text !== null && b64 !== null) throw badRequest(`give ${name} or ${name}_base64, not both`);
  if (text !== null) return Buffer.from(text, 'utf8');
  if (b64 === null) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw badRequest(`${name}_base64 must be base64 text`);
  return Buffer.from(b64, 'base64');
}

function timeParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms < 0) throw badRequest(`${name} must be an ISO-8601 date-time or epoch milliseconds, got '${raw}'`);
  return ms;
}

export function messageRoutes(store: MessageIndexStore | null): Route[] {
  if (!store) return [];
  return [
    {
      method: 'GET',
      path: '/v3/clusters/{cluster}/topics/{topic}/messages',
      async handle({ req, rest, params, query, caller }) {
        const id = checkCluster(rest, params.cluster);
        requireTopicOp(rest, caller, Op.READ, params.topic!);
        const topic = requireTopic(rest, params.topic!);
        const format = readFormat(query.get('format'));
        const request: FindRequest = { topic: topic.name, limit: Math.min(intParam(query.get('limit'), 'limit', 100, 1), MAX_FIND_LIMIT) };
        const key = bytesParam(query, 'key');
        const messageId = bytesParam(query, 'message_id');
        const fromMs = timeParam(query, 'from');
        const toMs = timeParam(query, 'to');
        if (key !== undefined) request.key = key;
        if (messageId !== undefined) request.messageId = messageId;
        if (fromMs !== undefined) request.fromMs = fromMs;
        if (toMs !== undefined) request.toMs = toMs;
        let found;
        try {
          found = await findMessages({ catalog: rest.broker.catalog, logs: rest.broker.logs, store }, request);
        } catch (err) {
          if (err instanceof QueryError) throw badRequest(err.message);
          throw err;
        }
        const path = `/v3/clusters/${id}/topics/${encodeURIComponent(topic.name)}/messages`;
        return { status: 200, body: list(req, 'KafkaRecordList', path, found.map((m) => renderRecord(topic.name, m.partition, m, format))) };
      },
    },
  ];
}
