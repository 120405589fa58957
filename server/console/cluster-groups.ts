/**
 * Consumer groups across the cluster for the console, the way a Kafka admin client reaches them:
 * FindCoordinator (in-process, as the console user: DESCRIBE on the group), then DescribeGroups,
 * OffsetFetch, OffsetCommit and DeleteGroups to the group's coordinator; the list is ListGroups
 * to every live broker. On this broker the handlers or the coordinator are called directly (as
 * the console user); another broker's coordinator is asked over the inter-broker connections
 * (server/cluster/peers.ts), which authenticate as the inter-broker principal. So the console
 * user's ACLs are checked HERE before anything is forwarded, the same checks the handlers make:
 * list and describe: DESCRIBE on the group (the list also keeps groups only for users who may
 * describe them); offsets: DESCRIBE on the group, and topics without DESCRIBE are left out;
 * commit (offset reset): READ on the group and on every topic; delete: DELETE on the group.
 */
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { DeleteGroupsResponse } from '../../codec/generated/delete-groups.js';
import type { FindCoordinatorResponse } from '../../codec/generated/find-coordinator.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../codec/generated/offset-commit.js';
import type { ZooKeeperCluster } from '../cluster/zk-cluster.js';
import { PeerConnections } from '../cluster/peers.js';
import type { BrokerConfig } from '../config/index.js';
import type { GroupDescription, GroupOverview, GroupState } from '../groups/types.js';
import { RestError } from '../http/errors.js';
import { interBrokerClient } from '../security/inter-broker.js';
import { allowed, callApi, canDescribeGroup, Op, ResourceType, type ConsoleRequest, type ConsoleState } from './context.js';

/** One inter-broker request's wait for the console; a page's refresh gives up after it. */
const PEER_TIMEOUT_MS = 5000;

/** Inter-broker connections for the console (none with a single broker). */
export function consolePeers(config: BrokerConfig, zk: ZooKeeperCluster | null, logger: Logger): PeerConnections | null {
  if (!zk) return null;
  const client = interBrokerClient(config);
  return new PeerConnections({ cluster: zk, listenerName: client.listenerName, security: client.security, requestTimeoutMs: PEER_TIMEOUT_MS, logger });
}

function localCoordinator(state: ConsoleState) {
  const c = state.deps.broker.groupCoordinator;
  if (!c) throw new RestError(503, 503, 'No group coordinator runs on this broker', ErrorCode.COORDINATOR_NOT_AVAILABLE);
  return c;
}

function peers(state: ConsoleState): PeerConnections {
  const p = state.deps.peers;
  if (!p) throw new RestError(503, 503, 'No connection to the group coordinator', ErrorCode.COORDINATOR_NOT_AVAILABLE);
  return p;
}

/** FindCoordinator for a group, as the console user: the coordinator's node id. */
export async function findCoordinator(r: ConsoleRequest, groupId: string): Promise<number> {
  const response = await callApi<FindCoordinatorResponse>(r, 10, { key: groupId, keyType: 0, coordinatorKeys: [groupId] });
  const c = response.coordinators[0];
  if (!c || c.errorCode !== ErrorCode.NONE) throw new KafkaError(c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE, `no coordinator for group ${groupId}`);
  return c.nodeId;
}

const isSelf = (state: ConsoleState, nodeId: number) => nodeId === state.deps.broker.cluster.self.nodeId;

/** Every group of the cluster the user may describe (ListGroups to each live broker), sorted by id. */
export async function listAllGroups(r: ConsoleRequest): Promise<GroupOverview[]> {
  const { cluster } = r.state.deps.broker;
  const nodes = r.state.deps.peers ? cluster.brokers().map((b) => b.nodeId) : [cluster.self.nodeId];
  const byId = new Map<string, GroupOverview>();
  const lists = await Promise.all(
    nodes.map(async (nodeId) => {
      if (isSelf(r.state, nodeId)) return { nodeId, groups: await localCoordinator(r.state).listGroups() };
      const response = await peers(r.state).request(nodeId, 16, 4, { statesFilter: [], typesFilter: [] });
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `ListGroups on broker ${nodeId}`);
      return { nodeId, groups: response.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState as GroupState })) };
    }).map((p, i) => p.catch((err: unknown) => {
      // One unreachable broker must not hide the others' groups.
      r.state.deps.broker.logger.warn({ broker: nodes[i], err: (err as Error).message }, 'console: cannot list the groups of a broker');
      return { nodeId: nodes[i]!, groups: [] as GroupOverview[] };
    })),
  );
  for (const { nodeId, groups } of lists) {
    for (const g of groups) {
      if (!canDescribeGroup(r, g.groupId)) continue;
      // A group stored in MySQL may be listed by several brokers: its coordinator's view wins.
      if (!byId.has(g.groupId) || cluster.coordinatorFor(g.groupId, 0).nodeId === nodeId) byId.set(g.groupId, g);
    }
  }
  return [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

/** DescribeGroups at the group's coordinator. */
export async function describeGroup(r: ConsoleRequest, groupId: string): Promise<GroupDescription> {
  const node = await findCoordinator(r, groupId);
  if (isSelf(r.state, node)) {
    const [d] = await localCoordinator(r.state).describeGroups([groupId]);
    if (!d) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no description');
    return d;
  }
  const response = await peers(r.state).request(node, 15, 5, { groups: [groupId], includeAuthorizedOperations: false });
  const g = response.groups[0];
  if (!g) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'no description');
  return {
    groupId: g.groupId,
    errorCode: g.errorCode,
    state: g.groupState as GroupState | '',
    protocolType: g.protocolType,
    protocolName: g.protocolData,
    members: g.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, metadata: m.memberMetadata, assignment: m.memberAssignment })),
  };
}

/** OffsetFetch (all partitions) at the group's coordinator: "topic:partition" -> committed offset. */
export async function fetchCommitted(r: ConsoleRequest, groupId: string): Promise<Map<string, bigint>> {
  return fetchCommittedAt(r.state, await findCoordinator(r, groupId), groupId);
}

/**
 * OffsetFetch at broker `node`. Also the lag history's sampler (history.ts), which runs without
 * a user: it samples only groups a user allowed to describe them has opened, and its samples are
 * shown only to users who may describe the group.
 */
export async function fetchCommittedAt(state: ConsoleState, node: number, groupId: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (isSelf(state, node)) {
    const fetched = await localCoordinator(state).fetchOffsets(groupId, null);
    if (fetched.errorCode !== ErrorCode.NONE) throw new KafkaError(fetched.errorCode, `OffsetFetch for ${groupId}`);
    for (const o of fetched.offsets) if (o.offset >= 0n && o.errorCode === ErrorCode.NONE) out.set(`${o.topic}:${o.partition}`, o.offset);
    return out;
  }
  const response = await peers(state).request(node, 9, 8, { groupId: '', topics: null, groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }], requireStable: false });
  const g = response.groups[0];
  if (!g || g.errorCode !== ErrorCode.NONE) throw new KafkaError(g?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, `OffsetFetch for ${groupId}`);
  for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n && p.errorCode === ErrorCode.NONE) out.set(`${t.name}:${p.partitionIndex}`, p.committedOffset);
  return out;
}

/** OffsetCommit at the group's coordinator; forwarded only after READ on the group and every topic. */
export async function commitOffsets(r: ConsoleRequest, request: OffsetCommitRequest): Promise<OffsetCommitResponse> {
  const node = await findCoordinator(r, request.groupId);
  if (isSelf(r.state, node)) return callApi<OffsetCommitResponse>(r, 8, request);
  if (!allowed(r, Op.READ, ResourceType.GROUP, request.groupId)) throw new KafkaError(ErrorCode.GROUP_AUTHORIZATION_FAILED, `not allowed to commit for group ${request.groupId}`);
  for (const t of request.topics) if (!allowed(r, Op.READ, ResourceType.TOPIC, t.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not allowed to read ${t.name}`);
  return peers(r.state).request(node, 8, 8, request);
}

/** DeleteGroups at the group's coordinator; forwarded only after DELETE on the group. */
export async function deleteGroup(r: ConsoleRequest, groupId: string): Promise<DeleteGroupsResponse> {
  const node = await findCoordinator(r, groupId);
  if (isSelf(r.state, node)) return callApi<DeleteGroupsResponse>(r, 42, { groupsNames: [groupId] });
  if (!allowed(r, Op.DELETE, ResourceType.GROUP, groupId)) throw new KafkaError(ErrorCode.GROUP_AUTHORIZATION_FAILED, `not allowed to delete group ${groupId}`);
  return peers(r.state).request(node, 42, 2, { groupsNames: [groupId] });
}
