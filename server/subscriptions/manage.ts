/**
 * Managing push subscriptions (docs/subscriptions.md), shared by the REST routes
 * (server/subscriptions/routes.ts) and the CLI (server/cli/subscriptions.ts, directly on MySQL):
 * create, list, describe, pause/resume/retire, re-push, attempts. Brokers notice changes by the
 * subscription's version at their next poll (subscriptions.poll.interval.ms).
 */
import type { SubscriptionState, SubscriptionStore } from '../../storage/subscriptions/store.js';
import type { LogManager, TopicCatalog, TopicRecord } from '../../storage/types.js';
import { checkName, parseSpec, readStoredSpec, specJson, SpecError, type SubscriptionSpec } from './definition.js';

export class ManageError extends Error {
  constructor(
    /** HTTP status: 404 unknown subscription or topic, 409 conflict, 422 bad definition, 400 bad query. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ManageDeps {
  catalog: TopicCatalog;
  logs: LogManager;
  store: SubscriptionStore;
}

function topicOrThrow(deps: ManageDeps, name: string, what: string): TopicRecord {
  const t = deps.catalog.getTopic(name);
  if (t === undefined) throw new ManageError(404, `${what} ${name} does not exist (create the topic first)`);
  return t;
}

export async function createSubscription(deps: ManageDeps, name: unknown, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  let spec: SubscriptionSpec;
  try {
    checkName(name);
    spec = parseSpec(body);
  } catch (err) {
    if (err instanceof SpecError) throw new ManageError(422, err.message);
    throw err;
  }
  const n = name as string;
  await deps.catalog.refresh();
  const topics = spec.topics.map((t) => topicOrThrow(deps, t, 'Topic'));
  if (spec.deadLetterTopic !== null) topicOrThrow(deps, spec.deadLetterTopic, 'Dead-letter topic');
  if (spec.after !== null) {
    if (spec.after === n) throw new ManageError(422, 'after must name another subscription');
    const dep = await deps.store.get(spec.after);
    if (dep === null) throw new ManageError(404, `Subscription ${spec.after} (after) does not exist`);
    const depTopics = readStoredSpec(dep.spec).topics;
    const missing = spec.topics.filter((t) => !depTopics.includes(t));
    if (missing.length > 0) throw new ManageError(422, `after: subscription ${spec.after} does not subscribe to ${missing.join(', ')}`);
  }
  const starts: { topicId: string; partition: number; offset: bigint }[] = [];
  for (const t of topics) {
    for (let p = 0; p < t.partitionCount; p++) {
      const log = await deps.logs.getLog(t.topicId, p);
      starts.push({ topicId: t.topicId, partition: p, offset: spec.startFrom === 'latest' ? log.highWatermark() : log.logStartOffset() });
    }
  }
  if (!(await deps.store.create(n, JSON.stringify(specJson(spec, true)), 'active', starts))) throw new ManageError(409, `Subscription ${n} already exists`);
  return describeSubscription(deps, n);
}

export async function listSubscriptions(deps: ManageDeps): Promise<Record<string, unknown>[]> {
  const rows = await deps.store.list();
  return rows.map((r) => {
    const spec = readStoredSpec(r.spec);
    return { name: r.name, state: r.state, topics: spec.topics, url: spec.endpoint.url, ordering: spec.ordering, max_concurrency: spec.maxConcurrency, after: spec.after, version: r.version };
  });
}

export async function describeSubscription(deps: ManageDeps, name: string): Promise<Record<string, unknown>> {
  const row = await deps.store.get(name);
  if (row === null) throw new ManageError(404, `Subscription ${name} does not exist`);
  const spec = readStoredSpec(row.spec);
  const leases = await deps.store.leases(name);
  const now = await deps.store.now();
  const partitions: Record<string, unknown>[] = [];
  let lag = 0n;
  for (const l of leases) {
    const topic = deps.catalog.getTopicById(l.topicId);
    if (topic === undefined) continue;
    let end: bigint | null = null;
    try {
      end = (await deps.logs.getLog(l.topicId, l.partition)).highWatermark();
    } catch {
      end = null;
    }
    const partLag = end === null || end < l.committed ? 0n : end - l.committed;
    lag += partLag;
    partitions.push({
      topic: topic.name,
      partition: l.partition,
      committed_offset: Number(l.committed),
      high_watermark: end === null ? null : Number(end),
      lag: Number(partLag),
      owner: l.owner !== '' && l.expiresMs > now ? l.owner : null,
      lease_epoch: l.epoch,
    });
  }
  const counts = await deps.store.stateCounts(name);
  return {
    name: row.name,
    state: row.state,
    version: row.version,
    created: new Date(row.createdMs).toISOString(),
    updated: new Date(row.updatedMs).toISOString(),
    ...specJson(spec, false),
    owner: await deps.store.subscriptionOwner(name),
    lag: Number(lag),
    records_pending: counts.pending,
    records_dead_lettered: counts.dead,
    partitions,
  };
}

/** pause, resume, retire. A retired subscription stays retired. */
export async function setSubscriptionState(deps: ManageDeps, name: string, state: SubscriptionState): Promise<Record<string, unknown>> {
  const row = await deps.store.get(name);
  if (row === null) throw new ManageError(404, `Subscription ${name} does not exist`);
  if (row.state === 'retired' && state !== 'retired') throw new ManageError(409, `Subscription ${name} is retired; create a new one`);
  if (row.state !== state) await deps.store.update(name, { state });
  return describeSubscription(deps, name);
}

export interface RepushRequest {
  topic?: string | undefined;
  partition?: number | undefined;
  fromOffset?: bigint | undefined;
  toOffset?: bigint | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  deadSinceMs?: number | undefined;
}

/** Most records one offset- or time-range re-push may mark (a larger range: several requests). */
export const MAX_REPUSH_RECORDS = 1_000_000;

/**
 * Marks records for delivery again: an offset range [from, to] of one topic (every partition, or
 * one), a time range (each partition's offsets from the first record at or after `fromMs` to the
 * last before `toMs`), or every record dead-lettered since a time. Resolves how many were marked.
 */
export async function repush(deps: ManageDeps, name: string, r: RepushRequest): Promise<{ marked: number }> {
  const row = await deps.store.get(name);
  if (row === null) throw new ManageError(404, `Subscription ${name} does not exist`);
  if (row.state === 'retired') throw new ManageError(409, `Subscription ${name} is retired`);
  const spec = readStoredSpec(row.spec);
  if (r.deadSinceMs !== undefined) {
    if (r.fromOffset !== undefined || r.fromMs !== undefined) throw new ManageError(400, 'give one of: an offset range, a time range, or dead-lettered since');
    return { marked: await deps.store.repushDead(name, r.deadSinceMs) };
  }
  const byOffset = r.fromOffset !== undefined || r.toOffset !== undefined;
  const byTime = r.fromMs !== undefined || r.toMs !== undefined;
  if (byOffset === byTime) throw new ManageError(400, 'give one of: an offset range (from_offset, to_offset), a time range (from_time, to_time), or dead_lettered_since');
  const topicNames = r.topic !== undefined ? [r.topic] : spec.topics;
  if (r.topic !== undefined && !spec.topics.includes(r.topic)) throw new ManageError(400, `Subscription ${name} does not subscribe to ${r.topic}`);
  if (byOffset && r.topic === undefined && spec.topics.length > 1) throw new ManageError(400, 'an offset range needs topic');
  const ranges: { topic: TopicRecord; partition: number; from: bigint; to: bigint }[] = [];
  for (const tn of topicNames) {
    const topic = topicOrThrow(deps, tn, 'Topic');
    const parts = r.partition !== undefined ? [r.partition] : [...Array(topic.partitionCount).keys()];
    for (const p of parts) {
      if (p < 0 || p >= topic.partitionCount) throw new ManageError(404, `Partition ${p} of ${tn} does not exist`);
      const log = await deps.logs.getLog(topic.topicId, p);
      const start = log.logStartOffset();
      const end = log.highWatermark();
      let from: bigint;
      let to: bigint;
      if (byOffset) {
        from = r.fromOffset ?? start;
        to = r.toOffset !== undefined ? r.toOffset + 1n : end;
      } else {
        from = r.fromMs === undefined ? start : ((await log.offsetForTimestamp(BigInt(r.fromMs)))?.offset ?? end);
        to = r.toMs === undefined ? end : ((await log.offsetForTimestamp(BigInt(r.toMs) + 1n))?.offset ?? end);
      }
      if (from < start) from = start;
      if (to > end) to = end;
      if (to > from) ranges.push({ topic, partition: p, from, to });
    }
  }
  const total = ranges.reduce((n, x) => n + Number(x.to - x.from), 0);
  if (total > MAX_REPUSH_RECORDS) throw new ManageError(400, `the range holds ${total} records, more than ${MAX_REPUSH_RECORDS} at once: split it`);
  let marked = 0;
  for (const x of ranges) marked += await deps.store.repushRange(name, x.topic.topicId, x.partition, x.from, x.to);
  return { marked };
}

export interface AttemptsRequest {
  topic?: string | undefined;
  partition?: number | undefined;
  offset?: bigint | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  limit: number;
}

export async function listAttempts(deps: ManageDeps, name: string, q: AttemptsRequest): Promise<Record<string, unknown>[]> {
  if ((await deps.store.get(name)) === null) throw new ManageError(404, `Subscription ${name} does not exist`);
  let topicId: string | undefined;
  if (q.topic !== undefined) topicId = topicOrThrow(deps, q.topic, 'Topic').topicId;
  if (q.offset !== undefined && (topicId === undefined || q.partition === undefined)) throw new ManageError(400, 'offset needs topic and partition');
  const rows = await deps.store.attempts({ subscription: name, topicId, partition: q.partition, offset: q.offset, fromMs: q.fromMs, toMs: q.toMs, limit: q.limit });
  return rows.map((a) => ({
    topic: deps.catalog.getTopicById(a.topicId)?.name ?? a.topicId,
    partition: a.partition,
    offset: Number(a.offset),
    attempt: a.attempt,
    time: new Date(a.startedMs).toISOString(),
    status: a.status,
    latency_ms: a.latencyMs,
    outcome: a.outcome,
    error: a.error,
    response: a.response,
    broker: a.owner,
  }));
}
