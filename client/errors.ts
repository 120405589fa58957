/**
 * Kafka error codes as the client reports them: an error with the code's name as `type` and
 * the broker's message, or a short description of the code when the response has none.
 */
import { ErrorCode } from '../codec/error-codes.js';

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** What the admin commands can meet, described for people; other codes show their name only. */
const DESCRIPTIONS: Partial<Record<keyof typeof ErrorCode, string>> = {
  UNKNOWN_SERVER_ERROR: 'The broker failed unexpectedly while handling the request',
  UNKNOWN_TOPIC_OR_PARTITION: 'This server does not host this topic-partition',
  LEADER_NOT_AVAILABLE: 'The partition has no leader at the moment',
  NOT_LEADER_OR_FOLLOWER: 'This broker is not the leader of the partition',
  REQUEST_TIMED_OUT: 'The request timed out on the broker',
  COORDINATOR_LOAD_IN_PROGRESS: 'The coordinator is still loading the group',
  COORDINATOR_NOT_AVAILABLE: 'The group coordinator is not available',
  NOT_COORDINATOR: 'This broker is not the coordinator of the group',
  INVALID_TOPIC_EXCEPTION: 'The request attempted to perform an operation on an invalid topic',
  INVALID_GROUP_ID: 'The group id is not valid',
  UNKNOWN_MEMBER_ID: 'The member id is not known to the coordinator',
  REBALANCE_IN_PROGRESS: 'The group is rebalancing',
  TOPIC_AUTHORIZATION_FAILED: 'Not authorized to access the topic',
  GROUP_AUTHORIZATION_FAILED: 'Not authorized to access the group',
  CLUSTER_AUTHORIZATION_FAILED: 'Not authorized for this cluster operation',
  UNSUPPORTED_VERSION: 'The broker does not support this version of the request',
  TOPIC_ALREADY_EXISTS: 'The topic already exists',
  INVALID_PARTITIONS: 'Number of partitions is invalid',
  INVALID_REPLICATION_FACTOR: 'The replication factor is invalid',
  INVALID_CONFIG: 'The configuration is invalid',
  NOT_CONTROLLER: 'This broker is not the controller',
  INVALID_REQUEST: 'The broker found the request malformed or not allowed',
  POLICY_VIOLATION: 'The request breaks a policy of the broker',
  KAFKA_STORAGE_ERROR: 'The broker could not reach its storage',
  NON_EMPTY_GROUP: 'The group is not empty',
  GROUP_ID_NOT_FOUND: 'The group id was not found',
  TOPIC_DELETION_DISABLED: 'Topic deletion is disabled on the broker',
  GROUP_SUBSCRIBED_TO_TOPIC: 'The group still consumes this topic',
  THROTTLING_QUOTA_EXCEEDED: 'The request was refused by a quota',
};

export function errorName(code: number): string {
  return NAMES.get(code) ?? `error code ${code}`;
}

/** Codes meaning "not here or not now": the operation was not applied and may succeed when retried. */
const RETRIABLE = new Set<number>([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.NOT_CONTROLLER,
]);

export class KafkaResponseError extends Error {
  override name = 'KafkaResponseError';
  /** The code's name, e.g. INVALID_PARTITIONS. */
  readonly type: string;

  constructor(
    readonly code: number,
    brokerMessage?: string | null,
  ) {
    const type = errorName(code);
    super(brokerMessage || (DESCRIPTIONS[type as keyof typeof ErrorCode] ?? type));
    this.type = type;
  }

  get retriable(): boolean {
    return RETRIABLE.has(this.code);
  }
}

/** Throws KafkaResponseError unless `code` is NONE. */
export function check(code: number, message?: string | null): void {
  if (code !== ErrorCode.NONE) throw new KafkaResponseError(code, message);
}
