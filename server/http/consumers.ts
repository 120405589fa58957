/**
 * Confluent REST Proxy v2 consumer instances: POST /consumers/{group} creates one; then
 * subscription or assignments, records, offsets, positions; DELETE removes it. Instances live
 * in this broker's memory (a client keeps talking to the broker that created it, as with
 * Confluent's proxy) and are deleted after consumer.instance.timeout.ms without a request.
 * Offsets committed through POST .../offsets name the last record processed; what is stored is
 * the next offset to read (that offset + 1), as Confluent's proxy does.
 *
 * ACLs (as the Kafka requests a consumer would send): creating an instance needs READ on the
 * group; subscribing READ on the group and each topic; assigning, fetching and committing READ
 * on the topics (and on the group when subscribed, checked again at each fetch since the
 * instance's heartbeats are in-process); reading committed offsets DESCRIBE on group and topics.
 * An instance serves only the principal that created it (403 for anyone else).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConsumerInstance, type TopicPartition } from './consumer-instance.js';
import { Op, requireGroupOp, requireTopicOp } from './authorize.js';
import type { RestCaller, RestContext } from './context.js';
import { RestError } from './errors.js';
import { baseUrl } from './links.js';
import { renderBytes, type ReadFormat } from './record-json.js';
import { intParam, readJson, requestLimit, type Route } from './router.js';

const FORMATS: Record<string, ReadFormat> = { binary: 'binary', json: 'json', string: 'string' };
const CONTENT_TYPES: Record<ReadFormat, string> = {
  binary: 'application/vnd.kafka.binary.v2+json',
  json: 'application/vnd.kafka.json.v2+json',
  string: 'application/vnd.kafka.string.v2+json',
};
const MAX_FETCH_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 67_108_864;

export class ConsumerInstances {
  private readonly instances = new Map<string, ConsumerInstance>();
  /** Instance id -> principal ("User:alice") that created it. */
  private readonly owners = new Map<string, string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly rest: RestContext) {
    this.sweeper = setInterval(() => void this.expire(), 1000);
    this.sweeper.unref();
  }

  private timeoutMs(): number {
    return this.rest.broker.config.int('consumer.instance.timeout.ms');
  }

  async expire(): Promise<void> {
    const idleBefore = Date.now() - this.timeoutMs();
    for (const [id, instance] of this.instances) {
      if (instance.lastUsed < idleBefore) {
        this.instances.delete(id);
        this.owners.delete(id);
        this.rest.broker.logger.info({ group: instance.options.group, instance: instance.options.name }, 'REST consumer instance expired');
        await instance.close().catch(() => undefined);
      }
    }
  }

  create(group: string, body: Record<string, unknown>, caller: RestCaller): ConsumerInstance {
    const name = body.name ?? `rest-consumer-${randomUUID()}`;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new RestError(422, 422, 'name must be a non-empty string');
    const id = `${group}\0${name}`;
    if (this.instances.has(id)) throw new RestError(409, 40902, `Consumer instance with the specified name already exists.`);
    const format = FORMATS[String(body.format ?? 'binary').toLowerCase()];
    if (!format) throw new RestError(422, 42204, `format must be binary, json or string`);
    const reset = body['auto.offset.reset'] ?? 'latest';
    if (reset !== 'earliest' && reset !== 'latest') throw new RestError(422, 422, 'auto.offset.reset must be earliest or latest');
    const autoCommit = String(body['auto.commit.enable'] ?? 'true');
    if (autoCommit !== 'true' && autoCommit !== 'false') throw new RestError(422, 422, 'auto.commit.enable must be true or false');
    const session = Math.max(this.rest.broker.config.int('group.min.session.timeout.ms'), 10_000);
    const instance = new ConsumerInstance(this.rest, { group, name, format, autoOffsetReset: reset, autoCommit: autoCommit === 'true', sessionTimeoutMs: session });
    this.instances.set(id, instance);
    this.owners.set(id, principalName(caller));
    return instance;
  }

  get(group: string, name: string, caller: RestCaller): ConsumerInstance {
    const id = `${group}\0${name}`;
    const instance = this.instances.get(id);
    if (!instance) throw new RestError(404, 40403, 'Consumer instance not found.');
    if (this.owners.get(id) !== principalName(caller)) throw new RestError(403, 40301, `Consumer instance ${name} belongs to another principal`, 30);
    instance.touch();
    return instance;
  }

  async delete(group: string, name: string, caller: RestCaller): Promise<void> {
    const instance = this.get(group, name, caller);
    this.instances.delete(`${group}\0${name}`);
    this.owners.delete(`${group}\0${name}`);
    await instance.close();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.instances.values()];
    this.instances.clear();
    this.owners.clear();
    await Promise.all(all.map((i) => i.close().catch(() => undefined)));
  }
}

function partitionsOf(body: Record<string, unknown>, field: string): TopicPartition[] {
  const raw = body[field];
  if (!Array.isArray(raw)) throw new RestError(422, 422, `${field} must be an array of {"topic": string, "partition": integer}`);
  return raw.map((p, i) => {
    if (typeof p !== 'object' || p === null || typeof p.topic !== 'string' || !Number.isInteger(p.partition) || p.partition < 0) {
      throw new RestError(422, 422, `${field}[${i}] must be {"topic": string, "partition": integer >= 0}`);
    }
    return { topic: p.topic as string, partition: p.partition as number };
  });
}

function offsetsOf(body: Record<string, unknown>): { tp: TopicPartition; offset: bigint }[] {
  const raw = body.offsets;
  if (!Array.isArray(raw)) throw new RestError(422, 422, 'offsets must be an array of {"topic", "partition", "offset"}');
  return raw.map((o, i) => {
    if (typeof o !== 'object' || o === null || typeof o.topic !== 'string' || !Number.isInteger(o.partition) || !Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new RestError(422, 422, `offsets[${i}] must be {"topic": string, "partition": integer, "offset": integer >= 0}`);
    }
    return { tp: { topic: o.topic as string, partition: o.partition as number }, offset: BigInt(o.offset as number) };
  });
}

function checkTopics(rest: RestContext, partitions: TopicPartition[]): void {
  for (const tp of partitions) {
    const topic = rest.broker.catalog.getTopic(tp.topic);
    if (!topic) throw new RestError(404, 40403, `Topic ${tp.topic} not found.`, 3);
    if (tp.partition >= topic.partitionCount) throw new RestError(404, 40402, `Partition ${tp.topic}-${tp.partition} not found.`, 3);
  }
}

const principalName = (caller: RestCaller) => `${caller.principal.type}:${caller.principal.name}`;

function requireTopicsOp(rest: RestContext, caller: RestCaller, op: number, partitions: readonly { topic: string }[]): void {
  for (const t of new Set(partitions.map((p) => p.topic))) requireTopicOp(rest, caller, op, t);
}

const json = (req: IncomingMessage, rest: RestContext, allowEmpty = false) => readJson(req, requestLimit(rest), allowEmpty);

export function consumerRoutes(instances: ConsumerInstances): Route[] {
  const base = '/consumers/{group}/instances/{name}';
  return [
    {
      method: 'POST',
      path: '/consumers/{group}',
      async handle({ req, rest, params, caller }) {
        requireGroupOp(rest, caller, Op.READ, params.group!);
        const instance = instances.create(params.group!, await json(req, rest, true), caller);
        const uri = `${baseUrl(req)}/consumers/${encodeURIComponent(params.group!)}/instances/${encodeURIComponent(instance.options.name)}`;
        return { status: 200, body: { instance_id: instance.options.name, base_uri: uri }, contentType: 'application/vnd.kafka.v2+json' };
      },
    },
    {
      method: 'DELETE',
      path: base,
      async handle({ params, caller }) {
        await instances.delete(params.group!, params.name!, caller);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: `${base}/subscription`,
      async handle({ req, rest, params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        const body = await json(req, rest);
        if (body.topic_pattern !== undefined) throw new RestError(422, 422, 'topic_pattern is not supported; list the topics');
        const topics = body.topics;
        if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === 'string' && t.length > 0)) {
          throw new RestError(422, 422, 'topics must be a non-empty array of topic names');
        }
        requireGroupOp(rest, caller, Op.READ, params.group!);
        for (const t of topics as string[]) requireTopicOp(rest, caller, Op.READ, t);
        for (const t of topics as string[]) if (!rest.broker.catalog.getTopic(t)) throw new RestError(404, 40403, `Topic ${t} not found.`, 3);
        await instance.subscribe(topics as string[]);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: `${base}/subscription`,
      async handle({ params, caller }) {
        return { status: 200, body: { topics: instances.get(params.group!, params.name!, caller).subscription } };
      },
    },
    {
      method: 'DELETE',
      path: `${base}/subscription`,
      async handle({ params, caller }) {
        await instances.get(params.group!, params.name!, caller).unsubscribe();
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: `${base}/assignments`,
      async handle({ req, rest, params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        const partitions = partitionsOf(await json(req, rest), 'partitions');
        requireTopicsOp(rest, caller, Op.READ, partitions);
        checkTopics(rest, partitions);
        instance.assign(partitions);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: `${base}/assignments`,
      async handle({ params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        await instance.ready();
        return { status: 200, body: { partitions: instance.assignment } };
      },
    },
    {
      method: 'POST',
      path: `${base}/offsets`,
      async handle({ req, rest, params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        const body = await json(req, rest, true);
        // OffsetCommit's checks: READ on the group, READ on each topic committed.
        requireGroupOp(rest, caller, Op.READ, params.group!);
        await instance.ready();
        requireTopicsOp(rest, caller, Op.READ, body.offsets === undefined ? instance.assignment : offsetsOf(body).map((o) => o.tp));
        await instance.commit(body.offsets === undefined ? null : offsetsOf(body).map(({ tp, offset }) => ({ tp, next: offset + 1n })));
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      path: `${base}/offsets`,
      async handle({ req, rest, params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        const partitions = partitionsOf(await json(req, rest), 'partitions');
        requireGroupOp(rest, caller, Op.DESCRIBE, params.group!);
        requireTopicsOp(rest, caller, Op.DESCRIBE, partitions);
        return { status: 200, body: { offsets: await instance.committedOffsets(partitions) } };
      },
    },
    {
      method: 'POST',
      path: `${base}/positions`,
      async handle({ req, rest, params, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        await instance.ready();
        for (const { tp, offset } of offsetsOf(await json(req, rest))) instance.seek(tp, offset);
        return { status: 204 };
      },
    },
    ...(['beginning', 'end'] as const).map(
      (edge): Route => ({
        method: 'POST',
        path: `${base}/positions/${edge}`,
        async handle({ req, rest, params, caller }) {
          const instance = instances.get(params.group!, params.name!, caller);
          await instance.ready();
          const partitions = partitionsOf(await json(req, rest), 'partitions');
          // ListOffsets' check.
          requireTopicsOp(rest, caller, Op.DESCRIBE, partitions);
          for (const tp of partitions) await instance.seekToEdge(tp, edge);
          return { status: 204 };
        },
      }),
    ),
    {
      method: 'GET',
      path: `${base}/records`,
      async handle({ rest, params, query, caller }) {
        const instance = instances.get(params.group!, params.name!, caller);
        const timeout = Math.min(intParam(query.get('timeout'), 'timeout', 1000), MAX_FETCH_TIMEOUT_MS);
        const maxBytes = intParam(query.get('max_bytes'), 'max_bytes', DEFAULT_MAX_BYTES, 1);
        const format = instance.options.format;
        await instance.ready();
        // Fetch's check (READ on each topic read), and the group's READ that the in-process heartbeats do not make.
        if (instance.subscription.length > 0) requireGroupOp(rest, caller, Op.READ, params.group!);
        requireTopicsOp(rest, caller, Op.READ, instance.assignment);
        const before = instance.snapshot();
        const records = await instance.fetch(timeout, maxBytes);
        instance.touch();
        let body;
        try {
          body = records.map(({ tp, record }) => ({
            topic: tp.topic,
            key: renderBytes(record.key, format),
            value: renderBytes(record.value, format),
            partition: tp.partition,
            offset: Number(record.offset),
            timestamp: Number(record.timestamp),
            headers: record.headers.map((h) => ({ name: h.key, value: h.value === null ? null : h.value.toString('base64') })),
          }));
        } catch (err) {
          // A record the json format cannot render: nothing was handed out, so the positions go back.
          instance.restore(before);
          throw err;
        }
        if (records.length > 0) await instance.autoCommit();
        return { status: 200, body, contentType: CONTENT_TYPES[format] };
      },
    },
  ];
}
