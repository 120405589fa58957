/**
 * Kafka's ACL model (org.apache.kafka.common.acl / resource): the codes the ACL APIs carry, how a
 * binding's pattern matches a resource, and how a DescribeAcls / DeleteAcls filter matches a
 * binding (ResourcePatternFilter and AccessControlEntryFilter).
 */
import type { StoredAcl } from '../../../storage/acls.js';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const Permission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;
export const Op = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** The one name a CLUSTER resource has. */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL name, principal or host matching every one. */
export const WILDCARD = '*';

export type AclBinding = StoredAcl;

/** The resource types bindings may name (ANY and UNKNOWN are for filters). */
export function isConcreteResourceType(t: number): boolean {
  return t >= ResourceType.TOPIC && t <= ResourceType.USER;
}

/**
 * Why a binding cannot be stored (CreateAcls answers INVALID_REQUEST with it), or null.
 * As Kafka's AclBinding.isUnknown and AuthHelper checks: no ANY/UNKNOWN/MATCH, a principal of
 * the form Type:name, a non-empty name, and kafka-cluster as the cluster's only name.
 */
export function bindingProblem(b: AclBinding): string | null {
  if (!isConcreteResourceType(b.resourceType)) return `invalid resource type ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `invalid pattern type ${b.patternType}`;
  if (b.operation < Op.ALL || b.operation > Op.DESCRIBE_TOKENS) return `invalid operation ${b.operation}`;
  if (b.permissionType !== Permission.ALLOW && b.permissionType !== Permission.DENY) return `invalid permission type ${b.permissionType}`;
  if (b.resourceName === '') return 'Invalid empty resource name';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  if (parsePrincipal(b.principal) === null) return `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from name)`;
  if (b.host === '') return 'Invalid empty host';
  return null;
}

/** "User:alice" as [type, name]; null without a colon or with an empty type. */
export function parsePrincipal(s: string): [string, string] | null {
  const i = s.indexOf(':');
  if (i <= 0) return null;
  return [s.slice(0, i), s.slice(i + 1)];
}

/** Whether a binding's pattern applies to the named resource (literal, wildcard or prefix). */
export function patternMatches(b: AclBinding, resourceType: number, name: string): boolean {
  if (b.resourceType !== resourceType) return false;
  if (b.patternType === PatternType.LITERAL) return b.resourceName === name || b.resourceName === WILDCARD;
  if (b.patternType === PatternType.PREFIXED) return name.startsWith(b.resourceName);
  return false;
}

export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** Why a filter is refused (INVALID_REQUEST), or null: no UNKNOWN anywhere. */
export function filterProblem(f: AclFilter): string | null {
  if (f.resourceType === ResourceType.UNKNOWN || f.resourceType > ResourceType.USER || f.resourceType < 0) return `invalid resource type ${f.resourceType}`;
  if (f.patternType <= PatternType.UNKNOWN || f.patternType > PatternType.PREFIXED) return `invalid pattern type ${f.patternType}`;
  if (f.operation <= Op.UNKNOWN || f.operation > Op.DESCRIBE_TOKENS) return `invalid operation ${f.operation}`;
  if (f.permissionType <= Permission.UNKNOWN || f.permissionType > Permission.ALLOW) return `invalid permission type ${f.permissionType}`;
  return null;
}

/** Kafka's AclBindingFilter.matches. */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH && f.patternType !== b.patternType) return false;
  if (f.resourceName !== null) {
    if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
      if (f.resourceName !== b.resourceName) return false;
    } else if (b.patternType === PatternType.LITERAL) {
      if (f.resourceName !== b.resourceName && b.resourceName !== WILDCARD) return false;
    } else if (!f.resourceName.startsWith(b.resourceName)) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== Op.ANY && f.operation !== b.operation) return false;
  if (f.permissionType !== Permission.ANY && f.permissionType !== b.permissionType) return false;
  return true;
}
