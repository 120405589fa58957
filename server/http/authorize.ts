/**
 * ACL checks of the REST routes that do not go through a Kafka API handler (those that do,
 * produce, topic create/delete and config changes, are checked by the handler itself, as the
 * caller's principal). Each check is the one Kafka makes for the API the route stands for:
 * cluster and brokers DESCRIBE on the cluster (DescribeCluster), a topic DESCRIBE (Metadata),
 * its configs DESCRIBE_CONFIGS, reading READ, groups DESCRIBE (DescribeGroups) and consuming in
 * one READ (JoinGroup, OffsetCommit). Refusals are 403 with error_code 40301 and Kafka's code;
 * a topic the caller may not describe is refused before its existence is looked at, so a 403
 * does not tell whether it exists. No authorizer configured: everything is allowed.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { authorizeCluster, authorizeGroup, authorizerEnabled, authorizeTopic, Op } from '../security/authorizer/checks.js';
import type { RestCaller, RestContext } from './context.js';
import { forbidden } from './errors.js';

export { Op } from '../security/authorizer/checks.js';

const OP_NAMES: Record<number, string> = {
  [Op.READ]: 'READ',
  [Op.WRITE]: 'WRITE',
  [Op.CREATE]: 'CREATE',
  [Op.DELETE]: 'DELETE',
  [Op.ALTER]: 'ALTER',
  [Op.DESCRIBE]: 'DESCRIBE',
  [Op.DESCRIBE_CONFIGS]: 'DESCRIBE_CONFIGS',
  [Op.ALTER_CONFIGS]: 'ALTER_CONFIGS',
};

const who = (caller: RestCaller) => `${caller.principal.type}:${caller.principal.name}`;

export function requireTopicOp(rest: RestContext, caller: RestCaller, op: number, topic: string): void {
  if (!authorizeTopic(rest.requestContext(caller), op, topic)) {
    throw forbidden(`Not authorized to access topics: [${topic}] (${who(caller)} lacks ${OP_NAMES[op] ?? op} on the topic)`, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  }
}

export function requireGroupOp(rest: RestContext, caller: RestCaller, op: number, group: string): void {
  if (!authorizeGroup(rest.requestContext(caller), op, group)) {
    throw forbidden(`Not authorized to access group: ${group} (${who(caller)} lacks ${OP_NAMES[op] ?? op} on the group)`, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  }
}

export function requireClusterOp(rest: RestContext, caller: RestCaller, op: number): void {
  if (!authorizeCluster(rest.requestContext(caller), op)) {
    throw forbidden(`Cluster authorization failed (${who(caller)} lacks ${OP_NAMES[op] ?? op} on the cluster)`, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  }
}

/** Whether the caller may perform `op` on the topic (lists leave out what it may not see, as Metadata does). */
export function mayTopic(rest: RestContext, caller: RestCaller, op: number, topic: string): boolean {
  return authorizeTopic(rest.requestContext(caller), op, topic);
}

export function mayGroup(rest: RestContext, caller: RestCaller, op: number, group: string): boolean {
  return authorizeGroup(rest.requestContext(caller), op, group);
}

export function aclsEnabled(rest: RestContext, caller: RestCaller): boolean {
  return authorizerEnabled(rest.requestContext(caller));
}
