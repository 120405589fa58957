/**
 * The checks handlers make, in one place, so each handler adds a line or two (as KafkaApis calls
 * AuthHelper). Every function allows everything when no authorizer is configured
 * (authorizer.class.name unset), so a broker without ACLs behaves as before.
 */
import { API_DEFINITIONS } from '../../../codec/generated/registry.js';
import type { RequestContext } from '../../handler-types.js';
import { CLUSTER_NAME, Op, ResourceType } from './acl.js';
import { aclHost } from './authorizer.js';

export { Op, ResourceType } from './acl.js';

/**
 * Whether the request's principal may perform `op` on the resource. A refusal is logged and
 * counted (server/security/audit.ts) unless `logIfDenied` is false: checks that only filter what
 * a response lists, as Kafka's logIfDenied=false.
 */
export function authorize(ctx: RequestContext, op: number, resourceType: number, name: string, logIfDenied = true): boolean {
  const authorizer = ctx.broker.authorizer;
  if (!authorizer) return true;
  const host = aclHost(ctx.clientHost);
  // One decision per resource and request: a Fetch of 100 partitions of a refused topic is one refusal, as Kafka checks each topic once.
  let decisions = decided.get(ctx);
  if (!decisions) decided.set(ctx, (decisions = new Map()));
  const key = `${op}\u0000${resourceType}\u0000${name}`;
  let d = decisions.get(key);
  if (!d) decisions.set(key, (d = { allowed: authorizer.authorize(ctx.principal, host, op, resourceType, name), logged: false }));
  if (!d.allowed && logIfDenied && !d.logged) {
    d.logged = true;
    denied(ctx, host, op, resourceType, name);
  }
  return d.allowed;
}

/** The decisions of each request so far (dropped with the request's context). */
const decided = new WeakMap<RequestContext, Map<string, { allowed: boolean; logged: boolean }>>();

function denied(ctx: RequestContext, host: string, op: number, resourceType: number, name: string): void {
  ctx.broker.authorizer?.audit?.denied({
    principal: ctx.principal,
    host,
    listener: ctx.security?.listener.name ?? '',
    api: API_DEFINITIONS.get(ctx.apiKey)?.name ?? `key ${ctx.apiKey}`,
    operation: op,
    resourceType,
    resource: name,
  });
}

export function authorizeCluster(ctx: RequestContext, op: number, logIfDenied = true): boolean {
  return authorize(ctx, op, ResourceType.CLUSTER, CLUSTER_NAME, logIfDenied);
}

export function authorizeTopic(ctx: RequestContext, op: number, topic: string, logIfDenied = true): boolean {
  return authorize(ctx, op, ResourceType.TOPIC, topic, logIfDenied);
}

export function authorizeGroup(ctx: RequestContext, op: number, group: string, logIfDenied = true): boolean {
  return authorize(ctx, op, ResourceType.GROUP, group, logIfDenied);
}

export function authorizeTransactionalId(ctx: RequestContext, op: number, id: string, logIfDenied = true): boolean {
  return authorize(ctx, op, ResourceType.TRANSACTIONAL_ID, id, logIfDenied);
}

/** Whether the principal may perform `op` on some resource of the type (Kafka's authorizeByResourceType). */
export function authorizeAnyOfType(ctx: RequestContext, op: number, resourceType: number): boolean {
  const authorizer = ctx.broker.authorizer;
  if (!authorizer) return true;
  return authorizer.authorizeAny(ctx.principal, aclHost(ctx.clientHost), op, resourceType);
}

/**
 * Idempotent produce and InitProducerId without a transactional id: IDEMPOTENT_WRITE on the
 * cluster, or (Kafka 2.8+, KIP-679) WRITE on any topic. A refusal is logged as IDEMPOTENT_WRITE
 * on the cluster.
 */
export function authorizeIdempotentWrite(ctx: RequestContext): boolean {
  if (authorizeCluster(ctx, Op.IDEMPOTENT_WRITE, false) || authorizeAnyOfType(ctx, Op.WRITE, ResourceType.TOPIC)) return true;
  denied(ctx, aclHost(ctx.clientHost), Op.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME);
  return false;
}

/** Topic names split into those the principal may perform `op` on, and the others (each name checked once). */
export function partitionTopics(ctx: RequestContext, op: number, topics: Iterable<string>): { allowed: Set<string>; denied: Set<string> } {
  const allowed = new Set<string>();
  const denied = new Set<string>();
  for (const t of topics) {
    if (allowed.has(t) || denied.has(t)) continue;
    (authorizeTopic(ctx, op, t) ? allowed : denied).add(t);
  }
  return { allowed, denied };
}

/** True when an authorizer is configured (handlers that only filter skip work without one). */
export function authorizerEnabled(ctx: RequestContext): boolean {
  return !!ctx.broker.authorizer;
}

/**
 * What Produce checks before any topic (KafkaApis.handleProduceRequest): WRITE on the
 * transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), else for idempotent batches
 * IDEMPOTENT_WRITE on the cluster or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED); the
 * error for every partition, or 0.
 */
export function produceRefusal(ctx: RequestContext, transactionalId: string | null, topics: readonly { partitionData: readonly { records: unknown }[] }[]): number {
  if (!ctx.broker.authorizer) return 0;
  if (transactionalId !== null) return authorizeTransactionalId(ctx, Op.WRITE, transactionalId) ? 0 : TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  const idempotent = topics.some((t) => t.partitionData.some((p) => hasProducerId(p.records)));
  return idempotent && !authorizeIdempotentWrite(ctx) ? CLUSTER_AUTHORIZATION_FAILED : 0;
}

const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
const CLUSTER_AUTHORIZATION_FAILED = 31;

/** A v2 record batch carrying a producer id (bytes 43-50; magic at 16). */
function hasProducerId(records: unknown): boolean {
  if (!Buffer.isBuffer(records) || records.length < 61 || records[16] !== 2) return false;
  return records.readBigInt64BE(43) >= 0n;
}

/**
 * A config resource's check (DescribeConfigs: DESCRIBE_CONFIGS, AlterConfigs and
 * IncrementalAlterConfigs: ALTER_CONFIGS): topics on the topic, brokers and broker loggers on
 * the cluster. The error code when refused, or 0.
 */
export function configRefusal(ctx: RequestContext, op: number, configResourceType: number, name: string): number {
  if (!ctx.broker.authorizer) return 0;
  if (configResourceType === 2) return authorizeTopic(ctx, op, name) ? 0 : TOPIC_AUTHORIZATION_FAILED;
  return authorizeCluster(ctx, op) ? 0 : CLUSTER_AUTHORIZATION_FAILED;
}

const TOPIC_AUTHORIZATION_FAILED = 29;
