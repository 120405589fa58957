/**
 * OffsetCommit (key 8), versions 0-8.
 * Stores committed offsets in MySQL (storage/offset-store.ts) after the coordinator's checks:
 * a member of the current generation may commit (REBALANCE_IN_PROGRESS between JoinGroup and
 * SyncGroup, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID otherwise); generation
 * -1 with no member is a simple commit, accepted while the group is Empty or unknown (it
 * creates the group, as Kafka does). Partitions of topics that do not exist get
 * UNKNOWN_TOPIC_OR_PARTITION (as Kafka 3.x checks its metadata cache); metadata over
 * offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE; the rest is written in one
 * statement. v1 per-partition commit timestamps and v2-v4 retention times are kept (the
 * latter as an explicit expiry); v6+ leader epochs; v7+ group instance id; v8 flexible.
 * Deviation: v0 commits (ZooKeeper-stored in old Kafka, refused by KRaft Kafka) are stored
 * like v1 commits with generation -1.
 */
import { authorizeGroup, authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../codec/generated/offset-commit.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { CommitPartition } from '../groups/types.js';
import type { ApiHandler } from '../handler-types.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: 8,
  minVersion: 0,
  maxVersion: 8,
  async handle(request, ctx) {
    const v = ctx.apiVersion;
    // ACLs: READ on the group for the whole request, READ on each topic.
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    // Per request partition: an error decided here, or the index into `partitions`.
    const slots: (number | { error: number })[][] = [];
    const partitions: CommitPartition[] = [];
    for (const t of request.topics) {
      const topic = ctx.broker.catalog.getTopic(t.name);
      const allowed = authorizeTopic(ctx, Op.READ, t.name);
      slots.push(
        t.partitions.map((p) => {
          if (!allowed) return { error: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
          if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitionCount) {
            return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          partitions.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
            metadata: p.committedMetadata,
            commitTimestamp: v === 1 ? Number(p.commitTimestamp) : -1,
          });
          return partitions.length - 1;
        }),
      );
    }
    const results =
      partitions.length === 0
        ? []
        : await groupCoordinatorOf(ctx).commitOffsets({
            groupId: request.groupId,
            memberId: v >= 1 ? request.memberId : '',
            groupInstanceId: v >= 7 ? request.groupInstanceId : null,
            generationId: v >= 1 ? request.generationIdOrMemberEpoch : -1,
            retentionTimeMs: v >= 2 && v <= 4 ? Number(request.retentionTimeMs) : -1,
            partitions,
          });
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t, i) => ({
        name: t.name,
        partitions: t.partitions.map((p, j) => {
          const slot = slots[i]![j]!;
          return { partitionIndex: p.partitionIndex, errorCode: typeof slot === 'number' ? results[slot]!.errorCode : slot.error };
        }),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  },
};
