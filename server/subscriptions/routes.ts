/**
 * REST routes of push subscriptions (a kafka-mysql extension; docs/subscriptions.md), on the
 * broker's HTTP listener beside the REST Proxy routes:
 *
 *   GET    /v3/subscriptions                    list
 *   POST   /v3/subscriptions                    create ({"name": ..., definition fields}) 201
 *   GET    /v3/subscriptions/{name}             describe (definition, state, per-partition progress, lag)
 *   POST   /v3/subscriptions/{name}/pause       paused: records accumulate
 *   POST   /v3/subscriptions/{name}/resume      active again
 *   POST   /v3/subscriptions/{name}/retire      retired: receives nothing more (final)
 *   POST   /v3/subscriptions/{name}/repush      {from_offset, to_offset[, topic, partition]} | {from_time, to_time} | {dead_lettered_since}
 *   GET    /v3/subscriptions/{name}/attempts    ?topic=&partition=&offset=&from=&to=&limit=
 *
 * Errors in the REST interface's shape: 404 unknown subscription or topic, 409 name taken or
 * retired, 422 a bad definition field, 400 a bad query.
 */
import type { SubscriptionState } from '../../storage/subscriptions/store.js';
import { Op, requireClusterOp, requireTopicOp } from '../http/authorize.js';
import { RestError } from '../http/errors.js';
import { intParam, readJson, requestLimit, type Route, type RouteRequest } from '../http/router.js';
import { createSubscription, describeSubscription, listAttempts, listSubscriptions, ManageError, repush, setSubscriptionState, type ManageDeps } from './manage.js';

/** What the routes need from the broker (BrokerContext.subscriptions). */
export interface SubscriptionsAccess {
  deps: ManageDeps;
  /** Makes this broker's delivery service notice a change now instead of at its next poll. */
  changed(): void;
}

/**
 * The subscriptions and their routes need DESCRIBE on the cluster to look and ALTER on the cluster
 * to change (as Kafka's admin operations); creating one also needs READ on its source topics and
 * WRITE on its dead-letter topic, which the broker then reads and writes on its behalf.
 */
function access(r: RouteRequest, op: number): SubscriptionsAccess {
  const a = r.rest.broker.subscriptions;
  if (!a) throw new RestError(503, 503, 'Push subscriptions are not served by this broker');
  requireClusterOp(r.rest, r.caller, op);
  return a;
}

async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ManageError) throw new RestError(err.status, err.status === 422 ? 42206 : err.status, err.message);
    throw err;
  }
}

/** A time query/body value: epoch ms or ISO 8601. */
export function parseTime(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return Number(v);
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new RestError(400, 400, `${field} must be epoch milliseconds or an ISO 8601 time`);
}

function offsetField(v: unknown, field: string): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if ((typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))) return BigInt(v);
  throw new RestError(400, 400, `${field} must be an offset (an integer >= 0)`);
}

function stateRoute(action: string, state: SubscriptionState): Route {
  return {
    method: 'POST',
    path: `/v3/subscriptions/{name}/${action}`,
    async handle(r) {
      const a = access(r, Op.ALTER);
      const body = await run(() => setSubscriptionState(a.deps, r.params.name!, state));
      a.changed();
      return { status: 200, body };
    },
  };
}

export const subscriptionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/subscriptions',
    async handle(r) {
      return { status: 200, body: { kind: 'SubscriptionList', data: await run(() => listSubscriptions(access(r, Op.DESCRIBE).deps)) } };
    },
  },
  {
    method: 'POST',
    path: '/v3/subscriptions',
    async handle(r) {
      const a = access(r, Op.ALTER);
      const body = await readJson(r.req, requestLimit(r.rest));
      const topics = Array.isArray(body.topics) ? body.topics : [body.topic];
      for (const t of topics) if (typeof t === 'string') requireTopicOp(r.rest, r.caller, Op.READ, t);
      if (typeof body.dead_letter_topic === 'string') requireTopicOp(r.rest, r.caller, Op.WRITE, body.dead_letter_topic);
      const created = await run(() => createSubscription(a.deps, body.name, body));
      a.changed();
      return { status: 201, body: created };
    },
  },
  {
    method: 'GET',
    path: '/v3/subscriptions/{name}',
    async handle(r) {
      return { status: 200, body: await run(() => describeSubscription(access(r, Op.DESCRIBE).deps, r.params.name!)) };
    },
  },
  stateRoute('pause', 'paused'),
  stateRoute('resume', 'active'),
  stateRoute('retire', 'retired'),
  {
    method: 'POST',
    path: '/v3/subscriptions/{name}/repush',
    async handle(r) {
      const a = access(r, Op.ALTER);
      const b = await readJson(r.req, requestLimit(r.rest));
      if (b.topic !== undefined && typeof b.topic !== 'string') throw new RestError(400, 400, 'topic must be a string');
      if (b.partition !== undefined && (typeof b.partition !== 'number' || !Number.isInteger(b.partition) || b.partition < 0)) throw new RestError(400, 400, 'partition must be an integer >= 0');
      const result = await run(() =>
        repush(a.deps, r.params.name!, {
          topic: b.topic as string | undefined,
          partition: b.partition as number | undefined,
          fromOffset: offsetField(b.from_offset, 'from_offset'),
          toOffset: offsetField(b.to_offset, 'to_offset'),
          fromMs: parseTime(b.from_time, 'from_time'),
          toMs: parseTime(b.to_time, 'to_time'),
          deadSinceMs: parseTime(b.dead_lettered_since, 'dead_lettered_since'),
        }),
      );
      return { status: 200, body: { subscription: r.params.name, records_marked: result.marked } };
    },
  },
  {
    method: 'GET',
    path: '/v3/subscriptions/{name}/attempts',
    async handle(r) {
      const q = r.query;
      const data = await run(() =>
        listAttempts(access(r, Op.DESCRIBE).deps, r.params.name!, {
          topic: q.get('topic') ?? undefined,
          partition: q.get('partition') === null ? undefined : intParam(q.get('partition'), 'partition'),
          offset: offsetField(q.get('offset') ?? undefined, 'offset'),
          fromMs: parseTime(q.get('from'), 'from'),
          toMs: parseTime(q.get('to'), 'to'),
          limit: Math.min(intParam(q.get('limit'), 'limit', 100, 1), 10_000),
        }),
      );
      return { status: 200, body: { kind: 'SubscriptionAttemptList', data } };
    },
  },
];
