/**
 * AddOffsetsToTxn (key 25), versions 0-4.
 * Adds a consumer group to the producer's ongoing transaction (starting one), so that its
 * TxnOffsetCommit offsets commit or abort with it. Kafka adds the group's __consumer_offsets
 * partition; here the group id is recorded with the transaction in MySQL.
 * Errors: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (v2+; INVALID_PRODUCER_EPOCH before),
 * CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, INVALID_GROUP_ID (empty), INVALID_REQUEST.
 */
import { authorizeGroup, authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../codec/generated/add-offsets-to-txn.js';
import type { ApiHandler } from '../handler-types.js';

export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    if (!authorizeTransactionalId(ctx, Op.WRITE, request.transactionalId)) return this.errorResponse(request, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx);
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const c = ctx.broker.transactions;
    const errorCode = c
      ? await c.addOffsets(request.transactionalId, request.producerId, request.producerEpoch, request.groupId, ctx.apiVersion)
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
};
