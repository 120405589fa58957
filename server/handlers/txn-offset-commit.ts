/**
 * TxnOffsetCommit (key 28), versions 0-4.
 * Offsets committed inside a transaction: kept with the transaction in MySQL (txn_offsets) and
 * moved into the group's committed offsets only when the transaction commits (dropped on
 * abort), so OffsetFetch never sees them before. The group must have been added with
 * AddOffsetsToTxn (INVALID_TXN_STATE otherwise).
 * Deviations: the v3+ member id / generation are not checked against the group (Kafka fences a
 * zombie consumer there; the producer epoch check fences zombie producers either way), and
 * OffsetFetch's require_stable gets no UNSTABLE_OFFSET_COMMIT for pending offsets.
 * Errors, on every partition: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (v3+;
 * INVALID_PRODUCER_EPOCH before), INVALID_TXN_STATE, OFFSET_METADATA_TOO_LARGE (per partition,
 * over offset.metadata.max.bytes), UNKNOWN_TOPIC_OR_PARTITION, NOT_COORDINATOR.
 */
import { authorizeGroup, authorizeTopic, authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../codec/generated/txn-offset-commit.js';
import type { TxnOffset } from '../../storage/index.js';
import type { ApiHandler } from '../handler-types.js';

export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: 28,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    // ACLs: WRITE on the transactional id, READ on the group, READ on each topic.
    if (!authorizeTransactionalId(ctx, Op.WRITE, request.transactionalId)) return this.errorResponse(request, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx);
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const c = ctx.broker.transactions;
    const maxMetadata = ctx.broker.config.int('offset.metadata.max.bytes');
    const now = ctx.broker.now();
    const errors = new Map<string, number>();
    const offsets: TxnOffset[] = [];
    for (const t of request.topics) {
      const topic = ctx.broker.catalog.getTopic(t.name);
      for (const p of t.partitions) {
        const key = `${p.partitionIndex}:${t.name}`;
        if (!authorizeTopic(ctx, Op.READ, t.name)) errors.set(key, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        else if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitionCount) errors.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > maxMetadata) errors.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
        else {
          offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata, commitTimestamp: now });
        }
      }
    }
    const code =
      offsets.length === 0
        ? ErrorCode.NONE
        : c
          ? await c.commitOffsets(request.transactionalId, request.groupId, request.producerId, request.producerEpoch, offsets, ctx.apiVersion)
          : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${p.partitionIndex}:${t.name}`) ?? code })),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    };
  },
};
