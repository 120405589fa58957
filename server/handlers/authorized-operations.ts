/**
 * Authorized operations (KIP-430) as Metadata, DescribeCluster and DescribeGroups report them:
 * a bit field of ACL operation codes (bit N = operation N). Without an authorizer, Kafka reports
 * every operation the resource type supports (AclEntry.supportedOperations), and so does this;
 * with one (authorizer.class.name), the supported operations the principal's ACLs allow.
 * When a client did not ask, the field holds Kafka's "omitted" value.
 */
import type { RequestContext } from '../handler-types.js';
import { CLUSTER_NAME, ResourceType } from '../security/authorizer/acl.js';
import { authorize } from '../security/authorizer/checks.js';

/** Int32 minimum: the value Kafka puts in the field when authorized operations were not requested. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** ACL operation codes (org.apache.kafka.common.acl.AclOperation). */
const READ = 3;
const WRITE = 4;
const CREATE = 5;
const DELETE = 6;
const ALTER = 7;
const DESCRIBE = 8;
const CLUSTER_ACTION = 9;
const DESCRIBE_CONFIGS = 10;
const ALTER_CONFIGS = 11;
const IDEMPOTENT_WRITE = 12;

export type AclResourceKind = 'topic' | 'group' | 'cluster';

const SUPPORTED: Record<AclResourceKind, readonly number[]> = {
  topic: [READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  group: [READ, DESCRIBE, DELETE],
  cluster: [CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE],
};

function bits(operations: readonly number[]): number {
  let field = 0;
  for (const op of operations) field |= 1 << op;
  return field;
}

const SUPPORTED_BITS: Record<AclResourceKind, number> = {
  topic: bits(SUPPORTED.topic),
  group: bits(SUPPORTED.group),
  cluster: bits(SUPPORTED.cluster),
};

const RESOURCE_TYPE: Record<AclResourceKind, number> = { topic: ResourceType.TOPIC, group: ResourceType.GROUP, cluster: ResourceType.CLUSTER };

/**
 * The operations the request's principal may perform on the resource, or the omitted value when
 * the client did not ask. Without an authorizer, every supported operation.
 */
export function authorizedOperations(requested: boolean, kind: AclResourceKind, name: string, ctx: RequestContext): number {
  if (!requested) return AUTHORIZED_OPERATIONS_OMITTED;
  if (!ctx.broker.authorizer) return SUPPORTED_BITS[kind];
  const resourceName = kind === 'cluster' ? CLUSTER_NAME : name;
  // Asking what one may do is not a refused request: nothing logged.
  return bits(SUPPORTED[kind].filter((op) => authorize(ctx, op, RESOURCE_TYPE[kind], resourceName, false)));
}
