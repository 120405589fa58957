/**
 * DescribeTransactions (key 65), version 0.
 * For each transactional id: state, timeout, start time of the open transaction (-1 when none),
 * producer id and epoch, and the partitions of the open transaction by topic.
 * TRANSACTIONAL_ID_NOT_FOUND for an id this coordinator does not know.
 */
import { authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../../codec/generated/describe-transactions.js';
import type { ApiHandler } from '../handler-types.js';

type State = DescribeTransactionsResponse['transactionStates'][number];

export const describeTransactionsHandler: ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> = {
  apiKey: 65,
  minVersion: 0,
  maxVersion: 0,
  handle(request, ctx) {
    const c = ctx.broker.transactions;
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((id): State => {
        // ACLs: DESCRIBE on the transactional id.
        if (!authorizeTransactionalId(ctx, Op.DESCRIBE, id)) return empty(id, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        const r = c?.get(id);
        if (!r) return empty(id, c ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : ErrorCode.COORDINATOR_NOT_AVAILABLE);
        const byTopic = new Map<string, number[]>();
        for (const p of r.partitions) {
          let list = byTopic.get(p.topic);
          if (!list) byTopic.set(p.topic, (list = []));
          list.push(p.partition);
        }
        return {
          errorCode: ErrorCode.NONE,
          transactionalId: id,
          transactionState: r.state,
          transactionTimeoutMs: r.timeoutMs,
          transactionStartTimeMs: BigInt(r.txnStartMs),
          producerId: r.producerId,
          producerEpoch: r.producerEpoch,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        };
      }),
    };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, transactionStates: request.transactionalIds.map((id) => empty(id, errorCode)) };
  },
};

function empty(transactionalId: string, errorCode: number): State {
  return { errorCode, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
}
