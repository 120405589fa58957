/**
 * v3 consumer groups, their consumers and lag, from the broker's group coordinator (the group
 * must be coordinated by this broker; with several brokers ask the coordinator's listener).
 * Lag per partition: log end offset (high watermark) minus the committed offset; a partition
 * with no commit is not listed, as in Confluent's proxy.
 */
import type { IncomingMessage } from 'node:http';
import { decodeAssignment } from '../../codec/consumer-protocol.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { GroupDescription } from '../groups/types.js';
import { mayGroup, mayTopic, Op, requireGroupOp } from './authorize.js';
import { authorizeCluster } from '../security/authorizer/checks.js';
import type { RestCaller, RestContext } from './context.js';
import { fromKafkaCode, notFound, RestError } from './errors.js';
import { checkCluster, list, related, resource } from './links.js';
import type { Route } from './router.js';

function coordinator(rest: RestContext) {
  const c = rest.broker.groupCoordinator;
  if (!c) throw new RestError(503, 503, 'No group coordinator runs on this broker', ErrorCode.COORDINATOR_NOT_AVAILABLE);
  return c;
}

/** DescribeGroups' check (DESCRIBE on the group, before its existence is looked at), then the description. */
async function describe(rest: RestContext, caller: RestCaller, groupId: string): Promise<GroupDescription> {
  requireGroupOp(rest, caller, Op.DESCRIBE, groupId);
  const [d] = await coordinator(rest).describeGroups([groupId]);
  if (!d || d.errorCode !== ErrorCode.NONE) throw fromKafkaCode(d?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, null);
  if (d.state === 'Dead') throw notFound(`Consumer group ${groupId} cannot be found.`, 404, ErrorCode.GROUP_ID_NOT_FOUND);
  return d;
}

function groupBody(req: IncomingMessage, rest: RestContext, d: GroupDescription): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const path = `/v3/clusters/${id}/consumer-groups/${encodeURIComponent(d.groupId)}`;
  return resource(req, 'KafkaConsumerGroup', path, `crn:///kafka=${id}/consumer-group=${d.groupId}`, {
    cluster_id: id,
    consumer_group_id: d.groupId,
    is_simple: d.protocolType === '',
    partition_assignor: d.protocolName,
    state: stateName(d.state),
    type: 'CLASSIC',
    coordinator: related(req, `/v3/clusters/${id}/brokers/${rest.broker.cluster.self.nodeId}`),
    consumers: related(req, `${path}/consumers`),
    lag_summary: related(req, `${path}/lag-summary`),
  });
}

/** Confluent names states as Kafka's ConsumerGroupState enum does. */
function stateName(state: string): string {
  switch (state) {
    case 'PreparingRebalance':
      return 'PREPARING_REBALANCE';
    case 'CompletingRebalance':
      return 'COMPLETING_REBALANCE';
    case '':
      return 'UNKNOWN';
    default:
      return state.toUpperCase();
  }
}

/** partition key "topic\0p" -> member of the group it is assigned to. */
function ownerByPartition(d: GroupDescription): Map<string, { memberId: string; instanceId: string | null; clientId: string }> {
  const owners = new Map<string, { memberId: string; instanceId: string | null; clientId: string }>();
  for (const m of d.members) {
    const a = m.assignment.length > 0 ? decodeAssignment(m.assignment) : null;
    for (const t of a?.assignedPartitions ?? []) {
      for (const p of t.partitions) owners.set(`${t.topic}\0${p}`, { memberId: m.memberId, instanceId: m.groupInstanceId, clientId: m.clientId });
    }
  }
  return owners;
}

interface Lag {
  topic: string;
  partition: number;
  current: bigint;
  end: bigint;
  lag: bigint;
}

/** Committed offsets and lag of the group, on the topics the caller may describe (OffsetFetch's filter). */
async function lags(rest: RestContext, caller: RestCaller, groupId: string): Promise<Lag[]> {
  const fetched = await coordinator(rest).fetchOffsets(groupId, null);
  if (fetched.errorCode !== ErrorCode.NONE) throw fromKafkaCode(fetched.errorCode, null);
  const out: Lag[] = [];
  for (const o of fetched.offsets) {
    if (o.offset < 0n || o.errorCode !== ErrorCode.NONE || !mayTopic(rest, caller, Op.DESCRIBE, o.topic)) continue;
    const topic = rest.broker.catalog.getTopic(o.topic);
    if (!topic || o.partition >= topic.partitionCount) continue;
    const end = (await rest.broker.logs.getLog(topic.topicId, o.partition)).highWatermark();
    const lag = end > o.offset ? end - o.offset : 0n;
    out.push({ topic: o.topic, partition: o.partition, current: o.offset, end, lag });
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export const groupRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/consumer-groups',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      const overviews = await coordinator(rest).listGroups();
      // ListGroups' filter: every group with DESCRIBE on the cluster, else those the caller may describe.
      const all = authorizeCluster(rest.requestContext(caller), Op.DESCRIBE);
      const ids = overviews.map((o) => o.groupId).filter((g) => all || mayGroup(rest, caller, Op.DESCRIBE, g)).sort();
      const described = ids.length > 0 ? await coordinator(rest).describeGroups(ids) : [];
      return { status: 200, body: list(req, 'KafkaConsumerGroupList', `/v3/clusters/${id}/consumer-groups`, described.map((d) => groupBody(req, rest, d))) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/consumer-groups/{group}',
    async handle({ req, rest, params, caller }) {
      checkCluster(rest, params.cluster);
      return { status: 200, body: groupBody(req, rest, await describe(rest, caller, params.group!)) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/consumer-groups/{group}/consumers',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      const d = await describe(rest, caller, params.group!);
      const path = `/v3/clusters/${id}/consumer-groups/${encodeURIComponent(d.groupId)}/consumers`;
      const data = d.members.map((m) => ({
        kind: 'KafkaConsumer',
        metadata: { self: `${path}/${m.memberId}`, resource_name: `crn:///kafka=${id}/consumer-group=${d.groupId}/consumer=${m.memberId}` },
        cluster_id: id,
        consumer_group_id: d.groupId,
        consumer_id: m.memberId,
        instance_id: m.groupInstanceId,
        client_id: m.clientId,
        assignments: (decodeAssignment(m.assignment)?.assignedPartitions ?? []).flatMap((t) => t.partitions.map((p) => ({ topic_name: t.topic, partition_id: p }))),
      }));
      return { status: 200, body: list(req, 'KafkaConsumerList', path, data) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/consumer-groups/{group}/lags',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      const d = await describe(rest, caller, params.group!);
      const owners = ownerByPartition(d);
      const path = `/v3/clusters/${id}/consumer-groups/${encodeURIComponent(d.groupId)}/lags`;
      const data = (await lags(rest, caller, d.groupId)).map((l) => {
        const owner = owners.get(`${l.topic}\0${l.partition}`);
        return {
          kind: 'KafkaConsumerLag',
          metadata: { self: `${path}/${encodeURIComponent(l.topic)}/partitions/${l.partition}`, resource_name: `crn:///kafka=${id}/consumer-group=${d.groupId}/lag=${l.topic}/partition=${l.partition}` },
          cluster_id: id,
          consumer_group_id: d.groupId,
          topic_name: l.topic,
          partition_id: l.partition,
          current_offset: Number(l.current),
          log_end_offset: Number(l.end),
          lag: Number(l.lag),
          consumer_id: owner?.memberId ?? '',
          instance_id: owner?.instanceId ?? null,
          client_id: owner?.clientId ?? '',
        };
      });
      return { status: 200, body: list(req, 'KafkaConsumerLagList', path, data) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/consumer-groups/{group}/lag-summary',
    async handle({ req, rest, params, caller }) {
      const id = checkCluster(rest, params.cluster);
      const d = await describe(rest, caller, params.group!);
      const all = await lags(rest, caller, d.groupId);
      const max = all.reduce<Lag | null>((m, l) => (m === null || l.lag > m.lag ? l : m), null);
      const owner = max ? ownerByPartition(d).get(`${max.topic}\0${max.partition}`) : undefined;
      const path = `/v3/clusters/${id}/consumer-groups/${encodeURIComponent(d.groupId)}/lag-summary`;
      return {
        status: 200,
        body: resource(req, 'KafkaConsumerGroupLagSummary', path, `crn:///kafka=${id}/consumer-group=${d.groupId}/lag-summary`, {
          cluster_id: id,
          consumer_group_id: d.groupId,
          max_lag_consumer_id: owner?.memberId ?? '',
          max_lag_instance_id: owner?.instanceId ?? null,
          max_lag_client_id: owner?.clientId ?? '',
          max_lag_topic_name: max?.topic ?? '',
          max_lag_partition_id: max?.partition ?? 0,
          max_lag: Number(max?.lag ?? 0n),
          total_lag: Number(all.reduce((s, l) => s + l.lag, 0n)),
        }),
      };
    },
  },
];
