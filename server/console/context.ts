/**
 * What the console's JSON routes use: the broker, its Kafka API handlers called in-process as
 * the console user's principal (so every change the console makes gets the same validation and
 * ACL checks as the same Kafka admin request), and ACL checks for what is only shown.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { MessageIndexStore } from '../../storage/message-index/index-store.js';
import type { ServerGroupStatus } from '../../storage/replication/status.js';
import type { PeerConnections } from '../cluster/peers.js';
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext, RequestContext } from '../handler-types.js';
import { aclHost } from '../security/authorizer/authorizer.js';
import { Op, ResourceType, CLUSTER_NAME } from '../security/authorizer/acl.js';
import type { KafkaPrincipal } from '../security/principal.js';
import type { LagHistory, MetricsHistory } from './history.js';

export { Op, ResourceType };

/**
 * Who a console request is from: the REST interface's authentication (server/http/auth.ts),
 * resolving to the user its credentials name (User:ANONYMOUS when none are required), or
 * rejecting with a 401 RestError when they are missing or wrong.
 */
export type Authenticate = (req: IncomingMessage) => Promise<KafkaPrincipal>;

export interface ConsoleDeps {
  broker: BrokerContext;
  registry: HandlerRegistry;
  /** The message index (lookups by key, id and time on topics with message.index.enable). */
  messageIndex: MessageIndexStore | null;
  /** MySQL servers with replicas and their state (storage/replication/status.ts); absent: single servers. */
  shardStatus?: () => Promise<ServerGroupStatus[]>;
  /** Connections to the other brokers, for groups another broker coordinates (cluster-groups.ts); null alone. */
  peers?: PeerConnections | null;
  /** Shard count and names for the overview. */
  shardCount: number;
}

export interface ConsoleState {
  deps: ConsoleDeps;
  metricsHistory: MetricsHistory;
  lagHistory: LagHistory;
}

export interface ConsoleRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  principal: KafkaPrincipal;
  state: ConsoleState;
}

/** Connection ids for the console's in-process calls: negative and apart from REST's. */
let nextConnectionId = -1_000_000_000;

/** Calls the Kafka API handler for apiKey at its highest version, as the request's principal. */
export async function callApi<Res>(r: ConsoleRequest, apiKey: number, request: unknown): Promise<Res> {
  const { broker, registry } = r.state.deps;
  const handler = registry.get(apiKey);
  if (!handler) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `API ${apiKey} is not served`);
  const ctx: RequestContext = {
    apiKey,
    apiVersion: handler.maxVersion,
    correlationId: 0,
    clientId: 'kafka-mysql-console',
    connectionId: nextConnectionId--,
    clientHost: r.req.socket.remoteAddress ?? '',
    frameOwned: true,
    clientGone: () => false,
    broker,
    logger: broker.logger,
    principal: r.principal,
  };
  return (await handler.handle(request, ctx)) as Res;
}

/** Whether the request's principal may do `op` on a resource (true without an authorizer, as Kafka). */
export function allowed(r: ConsoleRequest, op: number, resourceType: number, name: string): boolean {
  const authorizer = r.state.deps.broker.authorizer;
  if (!authorizer) return true;
  return authorizer.authorize(r.principal, aclHost(r.req.socket.remoteAddress ?? ''), op, resourceType, name);
}

export const canDescribeTopic = (r: ConsoleRequest, topic: string) => allowed(r, Op.DESCRIBE, ResourceType.TOPIC, topic);
export const canDescribeGroup = (r: ConsoleRequest, group: string) => allowed(r, Op.DESCRIBE, ResourceType.GROUP, group);
export const canDescribeCluster = (r: ConsoleRequest) => allowed(r, Op.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME);

/** Throws 403 unless allowed (for reads the console does itself, without a Kafka handler). */
export function requireAllowed(r: ConsoleRequest, op: number, resourceType: number, name: string, code: number): void {
  if (!allowed(r, op, resourceType, name)) throw new KafkaError(code, `${r.principal.type}:${r.principal.name} is not allowed to do that`);
}
