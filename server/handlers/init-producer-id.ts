/**
 * InitProducerId (key 22), versions 0-5.
 * Without a transactional id: a new producer id from MySQL (unique across brokers and
 * restarts) with epoch 0, as Kafka answers an idempotent producer, whatever producer id and
 * epoch a v3+ request carries. With a transactional id: the transaction coordinator
 * (server/transactions/) fences the previous epoch, aborts its open transaction and bumps the
 * epoch (KIP-360 for a producer that sends its current id and epoch).
 * Errors: COORDINATOR_NOT_AVAILABLE when MySQL cannot allocate an id (retriable).
 */
import { authorizeIdempotentWrite, authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../codec/generated/init-producer-id.js';
import type { ApiHandler } from '../handler-types.js';

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    // ACLs: WRITE on the transactional id, or idempotent-write rights without one.
    if (request.transactionalId !== null ? !authorizeTransactionalId(ctx, Op.WRITE, request.transactionalId) : !authorizeIdempotentWrite(ctx)) {
      return this.errorResponse(request, request.transactionalId !== null ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    }
    const coordinator = ctx.broker.transactions;
    if (!coordinator) return response(ErrorCode.COORDINATOR_NOT_AVAILABLE, -1n, -1);
    const r =
      request.transactionalId === null
        ? await coordinator.initIdempotent()
        : await coordinator.initTransactional(request.transactionalId, request.transactionTimeoutMs, request.producerId, request.producerEpoch, ctx.apiVersion);
    return response(r.errorCode, r.producerId, r.producerEpoch);
  },
  errorResponse(_request, errorCode) {
    return response(errorCode, -1n, -1);
  },
};

function response(errorCode: number, producerId: bigint, producerEpoch: number): InitProducerIdResponse {
  return { throttleTimeMs: 0, errorCode, producerId, producerEpoch };
}
