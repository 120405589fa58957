/**
 * ListTransactions (key 66), versions 0-1.
 * The transactional ids this coordinator knows, with producer id and state (Kafka's names:
 * Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), filtered by
 * state, producer id and (v1) how long the transaction has been open. Unknown state filters are
 * echoed in unknownStateFilters, as Kafka does.
 */
import { authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../codec/generated/list-transactions.js';
import type { ApiHandler } from '../handler-types.js';

const STATES = new Set(['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence']);

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: 66,
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const c = ctx.broker.transactions;
    if (!c) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    const unknownStateFilters = request.stateFilters.filter((s) => !STATES.has(s));
    const states = new Set(request.stateFilters);
    const pids = new Set(request.producerIdFilters);
    const now = ctx.broker.now();
    const transactionStates = c
      .all()
      .filter((r) => states.size === 0 || states.has(r.state))
      .filter((r) => pids.size === 0 || pids.has(r.producerId))
      // ACLs: only the transactional ids the principal may DESCRIBE (a filter: refusals not logged).
      .filter((r) => authorizeTransactionalId(ctx, Op.DESCRIBE, r.transactionalId, false))
      .filter((r) => ctx.apiVersion < 1 || request.durationFilter < 0n || (r.state === 'Ongoing' && BigInt(now - r.txnStartMs) >= request.durationFilter))
      .map((r) => ({ transactionalId: r.transactionalId, producerId: r.producerId, transactionState: r.state }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] };
  },
};
