/**
 * The group coordinator's own vocabulary: requests and results in plain terms, no codec
 * types. Handlers translate the wire messages to and from these.
 */

/** The one group type this coordinator has (KIP-848 names it; ListGroups v5 reports and filters it). */
export const CLASSIC_GROUP_TYPE = 'classic';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

export interface GroupCoordinatorConfig {
  /** group.initial.rebalance.delay.ms (Kafka default 3000). */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms (6000). */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms (1800000). */
  maxSessionTimeoutMs: number;
  /** offsets.retention.minutes (10080 = 7 days). */
  offsetsRetentionMinutes: number;
  /** offset.metadata.max.bytes (4096; counted in UTF-16 units as Kafka counts String.length). */
  offsetMetadataMaxBytes: number;
  /** offsets.retention.check.interval.ms (600000). */
  offsetsRetentionCheckIntervalMs?: number;
  /** group.max.size: members per group (Kafka's default, Integer.MAX_VALUE: no limit). */
  maxSize?: number;
  /** group.member.metadata.max.bytes: protocol names and metadata one member may send in a JoinGroup (1 MiB). */
  memberMetadataMaxBytes?: number;
  /** group.metadata.max.bytes: protocol names and metadata of all members of one group together (32 MiB). */
  groupMetadataMaxBytes?: number;
}

export const DEFAULT_GROUP_CONFIG: Required<GroupCoordinatorConfig> = {
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  offsetsRetentionMinutes: 10080,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionCheckIntervalMs: 600_000,
  maxSize: 2_147_483_647,
  memberMetadataMaxBytes: 1_048_576,
  groupMetadataMaxBytes: 33_554_432,
};

/** Timers the coordinator schedules; injectable so tests drive time by hand. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ProtocolEntry {
  name: string;
  metadata: Buffer;
}

export interface JoinParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolEntry[];
  /** JoinGroup v4+ without a group instance id: a first join gets MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader rejoining a Stable group is told to skip the assignment. */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface JoinMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: JoinMember[];
}

export interface SyncParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** v5+: checked against the group's when not null. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface LeaveResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Metadata of the selected protocol; empty unless the group is Stable. */
  metadata: Buffer;
  /** Empty unless the group is Stable. */
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  /** '' when the group id was refused (Kafka's "no state"). */
  state: GroupState | '';
  protocolType: string;
  /** Selected protocol when Stable, '' otherwise (as Kafka describes it). */
  protocolName: string;
  members: MemberDescription[];
}

export interface GroupOverview {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface CommitPartition {
  topic: string;
  partition: number;
  offset: bigint;
  /** -1 when the client did not send one. */
  leaderEpoch: number;
  metadata: string | null;
  /** OffsetCommit v1 per-partition commit timestamp; -1 = now. */
  commitTimestamp: number;
}

export interface CommitParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  /** -1 for simple (group-less) commits and OffsetCommit v0. */
  generationId: number;
  /** OffsetCommit v2-v4 retention_time_ms; -1 = broker default. */
  retentionTimeMs: number;
  partitions: CommitPartition[];
}

export interface PartitionError {
  topic: string;
  partition: number;
  errorCode: number;
}

export interface FetchTopic {
  topic: string;
  partitions: number[];
}

export interface FetchedOffset {
  topic: string;
  partition: number;
  /** -1n when nothing is committed. */
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchResult {
  errorCode: number;
  offsets: FetchedOffset[];
}

export interface DeleteOffsetsResult {
  errorCode: number;
  partitions: PartitionError[];
}
