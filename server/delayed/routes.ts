/**
 * Delayed delivery over REST (docs/delayed.md, docs/http.md):
 * - produce (POST .../topics/{topic}/records) accepts `deliver_at` (epoch ms or ISO 8601) or
 *   `delay_ms`, with an optional `message_id` (a random UUID when absent; answered back):
 *   delayedFields turns them into the deliver-at and message-id headers the Produce handler
 *   acts on, so REST and Kafka producers share every check (400 for what Kafka refuses with
 *   INVALID_RECORD). On a topic without delayed.delivery.enable the fields are a 400, where a
 *   Kafka producer's headers would simply be appended.
 * - GET .../topics/{topic}/delayed?from=&to=&partition_id=&limit=: held records by due time.
 * - DELETE .../topics/{topic}/delayed/{message_id}: cancel; 200 cancelled (or already
 *   cancelled), 409 delivered (with partition and offset), 404 unknown.
 * ACLs: listing needs READ on the topic, cancelling WRITE (the rights a consumer of held
 * records and their producer have).
 */
import { randomUUID } from 'node:crypto';
import type { HeldRecord } from '../../storage/delayed/delayed-store.js';
import { MAX_DELAYED_ID_BYTES } from '../../storage/delayed/delayed-store.js';
import type { TopicRecord } from '../../storage/types.js';
import { Op, requireTopicOp } from '../http/authorize.js';
import { RestError } from '../http/errors.js';
import { checkCluster, requireTopic } from '../http/links.js';
import type { Route } from '../http/router.js';
import { DELIVER_AT_HEADER, delayedEnabled, MESSAGE_ID_HEADER } from './produce-hold.js';

export interface DelayedFields {
  messageId: string;
  deliverAtMs: number;
}

const invalid = (message: string) => new RestError(400, 400, message);
const MAX_LIST = 1000;

/** The REST record's delay fields as headers (pushed onto `headers`); null when it has none. */
export function delayedFields(r: Record<string, unknown>, topic: TopicRecord, headers: { key: string; value: Buffer | null }[], nowMs: number): DelayedFields | null {
  const at = r.deliver_at;
  const delay = r.delay_ms;
  if ((at === undefined || at === null) && (delay === undefined || delay === null)) return null;
  if (!delayedEnabled(topic)) throw invalid(`Topic ${topic.name} does not have delayed.delivery.enable=true: deliver_at and delay_ms are refused`);
  if (at !== undefined && at !== null && delay !== undefined && delay !== null) throw invalid('Give deliver_at or delay_ms, not both');
  let deliverAtMs: number;
  if (delay !== undefined && delay !== null) {
    if (typeof delay !== 'number' || !Number.isSafeInteger(delay) || delay < 0) throw invalid('delay_ms must be a non-negative integer');
    deliverAtMs = nowMs + delay;
  } else if (typeof at === 'number' && Number.isSafeInteger(at) && at >= 0) deliverAtMs = at;
  else if (typeof at === 'string' && Number.isFinite(Date.parse(at))) deliverAtMs = Date.parse(at);
  else throw invalid('deliver_at must be epoch milliseconds or an ISO-8601 date-time');
  let messageId: string;
  if (r.message_id !== undefined && r.message_id !== null) {
    if (typeof r.message_id !== 'string' || r.message_id.length === 0 || Buffer.byteLength(r.message_id) > MAX_DELAYED_ID_BYTES) throw invalid(`message_id must be a string of 1 to ${MAX_DELAYED_ID_BYTES} bytes`);
    messageId = r.message_id;
  } else {
    const given = headers.find((h) => h.key === MESSAGE_ID_HEADER)?.value;
    messageId = given ? given.toString() : randomUUID();
  }
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]!.key === DELIVER_AT_HEADER || headers[i]!.key === MESSAGE_ID_HEADER) headers.splice(i, 1);
  headers.push({ key: DELIVER_AT_HEADER, value: Buffer.from(String(Math.max(0, deliverAtMs))) }, { key: MESSAGE_ID_HEADER, value: Buffer.from(messageId) });
  return { messageId, deliverAtMs };
}

export function delayedOutcome(d: DelayedFields): Record<string, unknown> {
  return { message_id: d.messageId, deliver_at: new Date(d.deliverAtMs).toISOString(), deliver_at_ms: d.deliverAtMs };
}

function timeParam(raw: string | null, name: string): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (!Number.isFinite(t)) throw invalid(`${name} must be epoch milliseconds or an ISO-8601 date-time`);
  return t;
}

export function heldJson(h: HeldRecord): Record<string, unknown> {
  return {
    message_id: h.messageId.toString(),
    partition_id: h.partition,
    deliver_at: new Date(h.dueMs).toISOString(),
    deliver_at_ms: h.dueMs,
    held_at: new Date(h.createdMs).toISOString(),
    key: h.key === null ? null : { type: 'BINARY', size: h.key.length, data: h.key.toString('base64') },
    value: h.value === null ? null : { type: 'BINARY', size: h.value.length, data: h.value.toString('base64') },
    headers: h.headers.map((x) => ({ name: x.key, value: x.value === null ? null : x.value.toString('base64') })),
  };
}

function requireDelayed(topic: TopicRecord): void {
  if (!delayedEnabled(topic)) throw new RestError(404, 40403, `Topic ${topic.name} does not have delayed.delivery.enable=true`);
}

export const delayedRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/topics/{topic}/delayed',
    async handle({ rest, params, query, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.READ, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      requireDelayed(topic);
      const store = rest.broker.delayed?.store;
      if (!store) throw new RestError(404, 40403, 'Delayed delivery is not served by this broker');
      const limitRaw = query.get('limit');
      const limit = limitRaw === null ? 100 : Number(limitRaw);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw invalid(`limit must be an integer from 1 to ${MAX_LIST}`);
      const partitionRaw = query.get('partition_id');
      let partition: number | undefined;
      if (partitionRaw !== null) {
        partition = Number(partitionRaw);
        if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) throw invalid(`partition_id must be a partition of ${topic.name}`);
      }
      const fromMs = timeParam(query.get('from'), 'from');
      const toMs = timeParam(query.get('to'), 'to');
      const held = await store.list(topic.shardOfPartition, topic.topicId, {
        limit,
        ...(fromMs === undefined ? {} : { fromMs }),
        ...(toMs === undefined ? {} : { toMs }),
        ...(partition === undefined ? {} : { partition }),
      });
      return { status: 200, body: { kind: 'KafkaDelayedMessageList', topic_name: topic.name, data: held.map(heldJson) } };
    },
  },
  {
    method: 'DELETE',
    path: '/v3/clusters/{cluster}/topics/{topic}/delayed/{message_id}',
    async handle({ rest, params, caller }) {
      checkCluster(rest, params.cluster);
      requireTopicOp(rest, caller, Op.WRITE, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      requireDelayed(topic);
      const delayed = rest.broker.delayed;
      if (!delayed) throw new RestError(404, 40403, 'Delayed delivery is not served by this broker');
      const id = params.message_id!;
      const result = await delayed.store.cancel(topic.shardOfPartition, topic.topicId, Buffer.from(id), Date.now());
      const base = { topic_name: topic.name, message_id: id };
      switch (result.status) {
        case 'cancelled':
          delayed.countCancel(topic.name);
          return { status: 200, body: { ...base, status: 'cancelled', partition_id: result.partition, deliver_at: new Date(result.dueMs).toISOString() } };
        case 'already-cancelled':
          return { status: 200, body: { ...base, status: 'already_cancelled', partition_id: result.partition, cancelled_at: new Date(result.doneMs).toISOString() } };
        case 'delivered':
          return {
            status: 409,
            body: {
              error_code: 409,
              message: `Message ${id} was already delivered (partition ${result.partition}, offset ${result.offset})`,
              ...base,
              status: 'delivered',
              partition_id: result.partition,
              offset: Number(result.offset),
              delivered_at: new Date(result.doneMs).toISOString(),
            },
          };
        default:
          throw new RestError(404, 40404, `No delayed message with id ${id} is held on topic ${topic.name} (nor delivered or cancelled within its retention)`);
      }
    },
  },
];
