/**
 * Console routes for consumer groups: a list with state, members and total lag; one group's
 * members, assignments, committed offsets and lag per partition; its lag over time (LagHistory);
 * offset reset with preview (offset-reset.ts); delete (DeleteGroups, as the console user).
 * Groups and topics the user may not describe are left out, as ListGroups and Metadata do.
 */
import { decodeAssignment } from '../../codec/consumer-protocol.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { GroupDescription } from '../groups/types.js';
import { fromKafkaCode, notFound, RestError } from '../http/errors.js';
import { readJson } from '../http/router.js';
import { deleteGroup, describeGroup, fetchCommitted, fetchCommittedAt, listAllGroups } from './cluster-groups.js';
import { canDescribeGroup, canDescribeTopic, type ConsoleRequest, type ConsoleState } from './context.js';
import { commitPlan, parseResetRequest, planReset } from './offset-reset.js';
import type { ConsoleRoute } from './router.js';

/** Groups a list page shows (and computes lag for) at most. */
const MAX_PAGE = 200;
/** A group's total lag in the list is reused for this long (every open console refreshes every 5 s). */
const LIST_LAG_TTL_MS = 5000;

async function describe(r: ConsoleRequest, groupId: string): Promise<GroupDescription> {
  if (!canDescribeGroup(r, groupId)) throw notFound(`Consumer group ${groupId} cannot be found.`, 404, ErrorCode.GROUP_ID_NOT_FOUND);
  const d = await describeGroup(r, groupId);
  if (d.errorCode !== ErrorCode.NONE) throw fromKafkaCode(d.errorCode, null);
  if (d.state === 'Dead') throw notFound(`Consumer group ${groupId} cannot be found.`, 404, ErrorCode.GROUP_ID_NOT_FOUND);
  return d;
}

/** Committed offsets as "topic:partition" -> offset (OffsetFetch at the group's coordinator). */
export async function committed(r: ConsoleRequest, groupId: string): Promise<Map<string, bigint>> {
  return fetchCommitted(r, groupId);
}

/** Lag of every committed partition (high watermark minus the commit; 0 when ahead). */
export async function groupLag(r: ConsoleRequest, groupId: string) {
  return lagOf(r.state, await committed(r, groupId));
}

/** The lag history's sampler: OffsetFetch at the coordinator FindCoordinator names (the cluster view's answer). */
export async function sampleLag(state: ConsoleState, groupId: string) {
  return lagOf(state, await fetchCommittedAt(state, state.deps.broker.cluster.coordinatorFor(groupId, 0).nodeId, groupId));
}

export async function lagOf(state: ConsoleState, offsets: Map<string, bigint>) {
  const { broker } = state.deps;
  const out: Array<{ topic: string; partition: number; current: number; start: number; end: number; lag: number }> = [];
  for (const [key, offset] of offsets) {
    const colon = key.lastIndexOf(':');
    const topic = broker.catalog.getTopic(key.slice(0, colon));
    const partition = Number(key.slice(colon + 1));
    if (!topic || partition >= topic.partitionCount) continue;
    const log = await broker.logs.getLog(topic.topicId, partition);
    const end = log.highWatermark();
    out.push({ topic: topic.name, partition, current: Number(offset), start: Number(log.logStartOffset()), end: Number(end), lag: Number(end > offset ? end - offset : 0n) });
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

const lagCache = new Map<string, { at: number; lags: Awaited<ReturnType<typeof lagOf>> }>();

/** A group's lag for the list, computed at most once per LIST_LAG_TTL_MS whoever asks. */
async function cachedLag(r: ConsoleRequest, groupId: string) {
  const now = Date.now();
  const hit = lagCache.get(groupId);
  if (hit && now - hit.at < LIST_LAG_TTL_MS) return hit.lags;
  const lags = await groupLag(r, groupId);
  if (lagCache.size >= 10_000) lagCache.clear();
  lagCache.set(groupId, { at: now, lags });
  return lags;
}

function intParam(value: string | null, fallback: number, min: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RestError(400, 400, `expected an integer >= ${min}, got '${value}'`);
  return n;
}

function refuseWhileActive(d: GroupDescription): void {
  if (d.state !== 'Empty' && d.state !== 'Dead') {
    throw new RestError(409, 409, `Assignments can only be reset if the group '${d.groupId}' is inactive, but the current state is ${d.state}.`);
  }
}

export const groupRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/console/api/groups',
    async handle(r) {
      // Every group of the cluster, paged: describe and lag only for the page asked for.
      const offset = intParam(r.query.get('offset'), 0, 0);
      const limit = Math.min(intParam(r.query.get('limit'), 50, 1), MAX_PAGE);
      const q = (r.query.get('q') ?? '').toLowerCase();
      const all = (await listAllGroups(r)).filter((g) => q === '' || g.groupId.toLowerCase().includes(q));
      const groups = await Promise.all(
        all.slice(offset, offset + limit).map(async (o) => {
          try {
            const d = await describe(r, o.groupId);
            const lags = await cachedLag(r, o.groupId);
            return { group_id: d.groupId, state: d.state, protocol_type: d.protocolType, protocol: d.protocolName, members: d.members.length, total_lag: lags.filter((l) => canDescribeTopic(r, l.topic)).reduce((s, l) => s + l.lag, 0) };
          } catch {
            return { group_id: o.groupId, state: o.state, protocol_type: o.protocolType, protocol: '', members: null, total_lag: null };
          }
        }),
      );
      return { total: all.length, offset, limit, groups };
    },
  },
  {
    method: 'GET',
    path: '/console/api/groups/{group}',
    async handle(r) {
      const d = await describe(r, r.params.group!);
      const lags = (await groupLag(r, d.groupId)).filter((l) => canDescribeTopic(r, l.topic));
      r.state.lagHistory.watch(d.groupId);
      r.state.lagHistory.record(d.groupId, lags);
      const owners = new Map<string, string>();
      const members = d.members.map((m) => {
        const assignment = (m.assignment.length > 0 ? decodeAssignment(m.assignment)?.assignedPartitions ?? [] : []).filter((t) => canDescribeTopic(r, t.topic));
        for (const t of assignment) for (const p of t.partitions) owners.set(`${t.topic}:${p}`, m.memberId);
        return { member_id: m.memberId, instance_id: m.groupInstanceId, client_id: m.clientId, host: m.clientHost, assignments: assignment.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p }))) };
      });
      return {
        group_id: d.groupId,
        state: d.state,
        protocol_type: d.protocolType,
        protocol: d.protocolName,
        members,
        offsets: lags.map((l) => ({ topic: l.topic, partition: l.partition, current_offset: l.current, log_start_offset: l.start, log_end_offset: l.end, lag: l.lag, member_id: owners.get(`${l.topic}:${l.partition}`) ?? null })),
        total_lag: lags.reduce((s, l) => s + l.lag, 0),
      };
    },
  },
  {
    method: 'GET',
    path: '/console/api/groups/{group}/lag-history',
    async handle(r) {
      await describe(r, r.params.group!);
      r.state.lagHistory.watch(r.params.group!);
      return { samples: r.state.lagHistory.history(r.params.group!) };
    },
  },
  {
    method: 'POST',
    path: '/console/api/groups/{group}/reset-offsets',
    async handle(r) {
      const groupId = r.params.group!;
      const reset = parseResetRequest(await readJson(r.req, r.state.deps.broker.config.int('socket.request.max.bytes')));
      refuseWhileActive(await describe(r, groupId));
      const plan = await planReset(r, groupId, reset, await committed(r, groupId));
      if (reset.execute) {
        // Members may have joined since the preview was asked for: check again right before.
        refuseWhileActive(await describe(r, groupId));
        await commitPlan(r, groupId, plan);
      }
      return { group_id: groupId, executed: reset.execute === true, offsets: plan };
    },
  },
  {
    method: 'DELETE',
    path: '/console/api/groups/{group}',
    async handle(r) {
      await describe(r, r.params.group!);
      const response = await deleteGroup(r, r.params.group!);
      const result = response.results[0];
      if (result && result.errorCode !== ErrorCode.NONE) throw result.errorCode === ErrorCode.NON_EMPTY_GROUP ? new RestError(409, 409, `The group ${r.params.group} has members; it can be deleted once they leave`, result.errorCode) : fromKafkaCode(result.errorCode, null);
      return undefined;
    },
  },
];
