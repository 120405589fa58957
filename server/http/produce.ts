/**
 * v3 produce: POST /v3/clusters/{id}/topics/{topic}/records, Confluent REST Proxy's shape.
 * The body is one record object or a stream of concatenated ones; each gets one response object
 * (error_code 200 with partition, offset and timestamp, or an error), written as soon as its
 * records are committed. A single-record body that fails answers with the error's status;
 * a stream answers 200 and carries errors in the per-record objects, as Confluent does.
 * A body of declared length is produced whole (in groups of up to 4 MiB of JSON); in a chunked
 * body, records that arrive together (chunks less than 2 ms apart) are grouped. Each group makes
 * one batch per partition and goes through the
 * Produce handler with acks=-1 (same checks: max.message.bytes, compacted topics' keys,
 * timestamps, leadership), so each answer means "committed in MySQL". Partition: partition_id
 * when given, else murmur2 of the key (Kafka's default partitioner), else one partition per
 * group, moving round-robin (Kafka's sticky partitioner's idea). A record that fails
 * validation is answered with its error and not written; the others of its group are.
 * Delayed delivery (docs/delayed.md): `deliver_at` or `delay_ms`, with `message_id`, become the
 * deliver-at and message-id headers (server/delayed/routes.ts); such a record is answered with
 * offset -1 and a `delayed` object (its id and due time).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../codec/error-codes.js';
import { createProduceRequest, type ProduceResponse } from '../../codec/generated/produce.js';
import { buildRecordBatch, type RecordInput } from '../../codec/records/records.js';
import type { TopicRecord } from '../../storage/types.js';
import { effectiveTopicConfig } from '../config/index.js';
import { Op, requireTopicOp } from './authorize.js';
import type { RestCaller, RestContext } from './context.js';
import { fromKafkaCode, RestError, toRestError } from './errors.js';
import { JsonObjectSplitter } from './json-stream.js';
import { checkCluster, requireTopic } from './links.js';
import { decodeHeaders, decodeTimestamp, encodeData, type EmbeddedFormat } from './record-json.js';
import { partitionForKey } from './murmur2.js';
import { requestLimit, sendError, type Route } from './router.js';
import { delayedFields, delayedOutcome, type DelayedFields } from '../delayed/routes.js';

/** Batch overhead plus per-record varints and attributes: enough to keep a built batch under max.message.bytes. */
const BATCH_OVERHEAD = 61;
const RECORD_OVERHEAD = 24;
const PRODUCE_TIMEOUT_MS = 30_000;
/** Most record JSON gathered into one Produce call from a stream (batches are cut at max.message.bytes anyway). */
const GROUP_TEXT_BYTES = 4 * 1024 * 1024;
/** How long records wait for more of the body before they are produced (Kafka's linger.ms, in effect). */
const LINGER_MS = 2;

/** True when `next` settles (more body, or its end) within ms. */
async function arrivesWithin(next: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    // A failed read counts as arrived: the loop's own await then throws it.
    return await Promise.race([next.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Pending {
  index: number;
  partition: number;
  input: RecordInput;
  size: number;
  keyType: EmbeddedFormat | null;
  keySize: number;
  valueType: EmbeddedFormat | null;
  valueSize: number;
  delayed: DelayedFields | null;
}

type Outcome = { ok: true; partition: number; offset: bigint; timestamp: bigint; p: Pending } | { ok: false; error: RestError };

let stickyCounter = 0;

function parseRecord(text: string, index: number, topic: TopicRecord, sticky: number): Pending {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new RestError(400, 400, `Malformed JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RestError(422, 42206, 'A record must be a JSON object');
  const r = body as Record<string, unknown>;
  const key = encodeData('key', r.key);
  const value = encodeData('value', r.value);
  const headers = decodeHeaders(r.headers);
  const timestamp = decodeTimestamp(r.timestamp);
  const delayed = delayedFields(r, topic, headers, Date.now());
  let partition: number;
  if (r.partition_id !== undefined && r.partition_id !== null) {
    const p = r.partition_id;
    if (typeof p !== 'number' || !Number.isInteger(p)) throw new RestError(422, 42206, 'partition_id must be an integer');
    if (p < 0 || p >= topic.partitionCount) throw new RestError(404, 40402, `This server does not host this topic-partition: ${topic.name}-${p}.`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    partition = p;
  } else if (key.bytes !== null) {
    partition = partitionForKey(key.bytes, topic.partitionCount);
  } else {
    partition = sticky;
  }
  const size = RECORD_OVERHEAD + (key.bytes?.length ?? 0) + (value.bytes?.length ?? 0) + headers.reduce((s, h) => s + h.key.length + (h.value?.length ?? 0) + 4, 0);
  const input: RecordInput = { key: key.bytes, value: value.bytes, headers };
  if (timestamp !== undefined) input.timestamp = timestamp;
  return {
    index,
    partition,
    input,
    size,
    keyType: r.key === undefined || r.key === null ? null : key.type,
    keySize: key.bytes?.length ?? 0,
    valueType: r.value === undefined || r.value === null ? null : value.type,
    valueSize: value.bytes?.length ?? 0,
    delayed,
  };
}

/** Appends the records: per partition, batches under max.message.bytes; round i sends batch i of every partition in one Produce request. */
async function produceAll(rest: RestContext, topic: TopicRecord, records: Pending[], caller: RestCaller, outcomes: Outcome[]): Promise<void> {
  const maxBytes = Number(effectiveTopicConfig('max.message.bytes', topic.configs, rest.broker.config).value);
  const byPartition = new Map<number, Pending[][]>();
  for (const p of records) {
    const batches = byPartition.get(p.partition) ?? [[]];
    byPartition.set(p.partition, batches);
    let last = batches[batches.length - 1]!;
    const lastSize = last.reduce((s, x) => s + x.size, BATCH_OVERHEAD);
    if (last.length > 0 && lastSize + p.size > maxBytes) batches.push((last = []));
    last.push(p);
  }
  for (let round = 0; ; round++) {
    const sent: { partition: number; batch: Pending[] }[] = [];
    for (const [partition, batches] of byPartition) {
      const batch = batches[round];
      if (batch) sent.push({ partition, batch });
    }
    if (sent.length === 0) return;
    const request = createProduceRequest({
      acks: -1,
      timeoutMs: PRODUCE_TIMEOUT_MS,
      topicData: [{ name: topic.name, partitionData: sent.map(({ partition, batch }) => ({ index: partition, records: buildRecordBatch({ records: batch.map((b) => b.input) }) })) }],
    });
    const response = await rest.callApi<ProduceResponse>(0, request, caller);
    const results = response.responses[0]?.partitionResponses ?? [];
    for (const { partition, batch } of sent) {
      const r = results.find((x) => x.index === partition);
      if (!r || r.errorCode !== ErrorCode.NONE) {
        const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        const message = r?.errorMessage ?? r?.recordErrors[0]?.batchIndexErrorMessage ?? null;
        for (const p of batch) outcomes[p.index] = { ok: false, error: fromKafkaCode(code, message) };
        continue;
      }
      batch.forEach((p, i) => {
        const timestamp = r.logAppendTimeMs >= 0n ? r.logAppendTimeMs : (p.input.timestamp ?? BigInt(Date.now()));
        outcomes[p.index] = { ok: true, partition, offset: r.baseOffset + BigInt(i), timestamp, p };
      });
    }
  }
}

function outcomeBody(rest: RestContext, topic: string, o: Outcome): Record<string, unknown> {
  if (!o.ok) return o.error.body();
  return {
    error_code: 200,
    cluster_id: rest.broker.cluster.clusterId,
    topic_name: topic,
    partition_id: o.partition,
    offset: o.p.delayed === null ? Number(o.offset) : -1,
    timestamp: new Date(Number(o.timestamp)).toISOString(),
    key: o.p.keyType === null ? null : { type: o.p.keyType, size: o.p.keySize },
    value: o.p.valueType === null ? null : { type: o.p.valueType, size: o.p.valueSize },
    ...(o.p.delayed === null ? {} : { delayed: delayedOutcome(o.p.delayed) }),
  };
}

async function produce(req: IncomingMessage, res: ServerResponse, rest: RestContext, topic: TopicRecord, caller: RestCaller): Promise<void> {
  const splitter = new JsonObjectSplitter(requestLimit(rest));
  let count = 0;
  // The first answer is held until a second record shows up or the body ends: a one-record body answers with its own status.
  let held: Outcome | null = null;
  const line = (o: Outcome) => `${JSON.stringify(outcomeBody(rest, topic.name, o))}\n`;
  const write = (text: string) => {
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
    res.write(text);
  };
  // One write per group (not one per record): each res.write is a chunk and a syscall of its own.
  const emit = (batch: Outcome[]) => {
    let text = '';
    for (const o of batch) {
      if (count === 0) held = o;
      else {
        if (held) {
          text += line(held);
          held = null;
        }
        text += line(o);
      }
      count++;
    }
    if (text !== '') write(text);
  };
  try {
    // Records are parsed as soon as their text is complete, while the rest of the body is still
    // arriving, so what is left when it ends is building the batch and the commit.
    const newGroup = () => ({ sticky: stickyCounter++ % topic.partitionCount, count: 0, textBytes: 0, valid: [] as Pending[], outcomes: [] as Outcome[] });
    let group = newGroup();
    const add = (text: string) => {
      const i = group.count++;
      group.textBytes += text.length;
      try {
        group.valid.push(parseRecord(text, i, topic, group.sticky));
      } catch (err) {
        group.outcomes[i] = { ok: false, error: toRestError(err) };
      }
    };
    const flush = async () => {
      const g = group;
      group = newGroup();
      g.outcomes.length = g.count;
      if (g.valid.length > 0) await produceAll(rest, topic, g.valid, caller, g.outcomes);
      emit(g.outcomes);
    };
    const chunks = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    // Read ahead while a group commits; a handler now so an aborted upload is not an unhandled rejection meanwhile.
    const readNext = () => {
      const p = chunks.next();
      p.catch(() => undefined);
      return p;
    };
    let next = readNext();
    // A body of declared length is one request, not an open-ended stream: it is produced whole
    // (in groups of up to GROUP_TEXT_BYTES), however its bytes were spaced out on the way.
    // Cutting it at pauses of LINGER_MS made one commit per socket read on a loaded machine,
    // each waiting for the one before (REST batches of 100 at about half the Kafka rate).
    const declaredLength = req.headers['content-length'] !== undefined;
    for (;;) {
      const chunk = await next;
      if (chunk.done) break;
      for (const text of splitter.push(chunk.value)) add(text);
      next = readNext();
      if (group.count === 0) continue;
      // A chunked body: what arrives within LINGER_MS joins this group (up to GROUP_TEXT_BYTES),
      // so a stream cut into several socket reads makes one Produce call, not one commit per read.
      if (group.textBytes < GROUP_TEXT_BYTES && (declaredLength || (await arrivesWithin(next, LINGER_MS)))) continue;
      await flush();
    }
    splitter.end();
    if (group.count > 0) await flush();
  } catch (err) {
    const error = toRestError(err);
    if (held) write(line(held));
    sendError(res, error);
    return;
  }
  if (count === 0) {
    sendError(res, new RestError(400, 400, 'The request body holds no record'));
    return;
  }
  if (held !== null) {
    const only = held as Outcome;
    if (only.ok) {
      const text = JSON.stringify(outcomeBody(rest, topic.name, only));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    } else sendError(res, only.error);
    return;
  }
  res.end();
}

export const produceRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v3/clusters/{cluster}/topics/{topic}/records',
    async handle({ req, res, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      // Checked before the body is read: a refused producer gets 403 and nothing is written
      // (the Produce handler checks again, for ACLs changed meanwhile).
      requireTopicOp(rest, caller, Op.WRITE, params.topic!);
      const topic = requireTopic(rest, params.topic!);
      await produce(req, res, rest, topic, caller);
      return null;
    },
  },
];
