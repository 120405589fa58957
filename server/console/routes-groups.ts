/**
 * Console routes for consumer groups: a list with state, members and total lag; one group's
 * members, assignments, committed offsets and lag per partition; its lag over time (LagHistory);
 * offset reset with preview (offset-reset.ts); delete (DeleteGroups, as the console user).
 * Groups and topics the user may not describe are left out, as ListGroups and Metadata do.
 */
import { decodeAssignment } from '../../codec/consumer-protocol.js';
import { ErrorCode } from '../../codec/error-codes.js';
import { createDeleteGroupsRequest, type DeleteGroupsResponse } from '../../codec/generated/delete-groups.js';
import type { GroupDescription } from '../groups/types.js';
import { fromKafkaCode, notFound, RestError } from '../http/errors.js';
import { readJson } from '../http/router.js';
import { callApi, canDescribeGroup, canDescribeTopic, type ConsoleRequest, type ConsoleState } from './context.js';
import { commitPlan, parseResetRequest, planReset } from './offset-reset.js';
import type { ConsoleRoute } from './router.js';

function coordinator(state: ConsoleState) {
  const c = state.deps.broker.groupCoordinator;
  if (!c) throw new RestError(503, 503, 'No group coordinator runs on this broker', ErrorCode.COORDINATOR_NOT_AVAILABLE);
  return c;
}

async function describe(r: ConsoleRequest, groupId: string): Promise<GroupDescription> {
  if (!canDescribeGroup(r, groupId)) throw notFound(`Consumer group ${groupId} cannot be found.`, 404, ErrorCode.GROUP_ID_NOT_FOUND);
  const [d] = await coordinator(r.state).describeGroups([groupId]);
  if (!d || d.errorCode !== ErrorCode.NONE) throw fromKafkaCode(d?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, null);
  if (d.state === 'Dead') throw notFound(`Consumer group ${groupId} cannot be found.`, 404, ErrorCode.GROUP_ID_NOT_FOUND);
  return d;
}

/** Committed offsets as "topic:partition" -> offset. */
export async function committed(state: ConsoleState, groupId: string): Promise<Map<string, bigint>> {
  const fetched = await coordinator(state).fetchOffsets(groupId, null);
  if (fetched.errorCode !== ErrorCode.NONE) throw fromKafkaCode(fetched.errorCode, null);
  const out = new Map<string, bigint>();
  for (const o of fetched.offsets) if (o.offset >= 0n && o.errorCode === ErrorCode.NONE) out.set(`${o.topic}:${o.partition}`, o.offset);
  return out;
}

/** Lag of every committed partition (high watermark minus the commit; 0 when ahead). */
export async function groupLag(state: ConsoleState, groupId: string) {
  const { broker } = state.deps;
  const out: Array<{ topic: string; partition: number; current: number; start: number; end: number; lag: number }> = [];
  for (const [key, offset] of await committed(state, groupId)) {
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
      const overviews = (await coordinator(r.state).listGroups()).filter((g) => canDescribeGroup(r, g.groupId)).sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
      const described = overviews.length > 0 ? await coordinator(r.state).describeGroups(overviews.map((o) => o.groupId)) : [];
      const groups = [];
      for (const d of described) {
        let totalLag: number | null = null;
        try {
          totalLag = (await groupLag(r.state, d.groupId)).filter((l) => canDescribeTopic(r, l.topic)).reduce((s, l) => s + l.lag, 0);
        } catch {
          totalLag = null;
        }
        groups.push({ group_id: d.groupId, state: d.state, protocol_type: d.protocolType, protocol: d.protocolName, members: d.members.length, total_lag: totalLag });
      }
      return { groups };
    },
  },
  {
    method: 'GET',
    path: '/console/api/groups/{group}',
    async handle(r) {
      const d = await describe(r, r.params.group!);
      const lags = (await groupLag(r.state, d.groupId)).filter((l) => canDescribeTopic(r, l.topic));
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
      const plan = await planReset(r, groupId, reset, await committed(r.state, groupId));
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
      const response = await callApi<DeleteGroupsResponse>(r, 42, createDeleteGroupsRequest({ groupsNames: [r.params.group!] }));
      const result = response.results[0];
      if (result && result.errorCode !== ErrorCode.NONE) throw result.errorCode === ErrorCode.NON_EMPTY_GROUP ? new RestError(409, 409, `The group ${r.params.group} has members; it can be deleted once they leave`, result.errorCode) : fromKafkaCode(result.errorCode, null);
      return undefined;
    },
  },
];
