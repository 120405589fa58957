/**
 * EndTxn (key 26), versions 0-4.
 * Commits or aborts the producer's ongoing transaction: PrepareCommit/PrepareAbort is committed
 * to MySQL, the markers are written into every partition of the transaction, then
 * CompleteCommit/CompleteAbort (with the transaction's offsets moved into the group's committed
 * offsets on commit) in one MySQL transaction. Deviation: Kafka answers once the prepare state
 * is durable and writes markers afterwards; here the answer waits for the markers too (when
 * they fail, the prepare state stands, the answer is NONE and the markers are retried).
 * A retried EndTxn of a completed transaction is NONE; EndTxn for an unknown transactional id
 * or producer id INVALID_PRODUCER_ID_MAPPING; for an Empty one INVALID_TXN_STATE; older epoch
 * PRODUCER_FENCED (v2+; INVALID_PRODUCER_EPOCH before), as Kafka 3.9.
 */
import { authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { EndTxnRequest, EndTxnResponse } from '../../codec/generated/end-txn.js';
import type { ApiHandler } from '../handler-types.js';

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: 26,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    if (!authorizeTransactionalId(ctx, Op.WRITE, request.transactionalId)) return this.errorResponse(request, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx);
    const c = ctx.broker.transactions;
    const errorCode = c
      ? await c.endTxn(request.transactionalId, request.producerId, request.producerEpoch, request.committed, ctx.apiVersion)
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
};
