/**
 * FindCoordinator (key 10), versions 0-4.
 * Key type 0 (group) and 1 (transaction) are answered with the broker the cluster view names
 * for the key (this broker when running alone; transactions are coordinated here too once
 * they exist). v4+ batches keys (coordinator_keys) and answers per key. Another key type gets
 * INVALID_REQUEST. Min version 0 is required: librdkafka enables its consumer group (and LZ4)
 * only when FindCoordinator v0 is offered.
 */
import { authorizeGroup, authorizeTransactionalId, Op } from '../security/authorizer/checks.js';
import { endpointFor } from '../security/endpoint.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  FindCoordinatorResponseCoordinator,
} from '../../codec/generated/find-coordinator.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: 10,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const keyType = ctx.apiVersion >= 1 ? request.keyType : GROUP_KEY;
    if (ctx.apiVersion >= 4) {
      return response(ErrorCode.NONE, request.coordinatorKeys.map((key) => lookup(key, keyType, ctx)));
    }
    const c = lookup(request.key, keyType, ctx);
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
      coordinators: [],
    };
  },
  errorResponse(request, errorCode, ctx) {
    if (ctx.apiVersion >= 4) return response(ErrorCode.NONE, request.coordinatorKeys.map((key) => failed(key, errorCode)));
    return { ...response(errorCode, []), nodeId: -1, host: '', port: -1 };
  },
};

function lookup(key: string, keyType: number, ctx: RequestContext): FindCoordinatorResponseCoordinator {
  if (keyType !== GROUP_KEY && keyType !== TRANSACTION_KEY) return failed(key, ErrorCode.INVALID_REQUEST);
  // ACLs: DESCRIBE on the group or transactional id.
  if (keyType === GROUP_KEY && !authorizeGroup(ctx, Op.DESCRIBE, key)) return failed(key, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  if (keyType === TRANSACTION_KEY && !authorizeTransactionalId(ctx, Op.DESCRIBE, key)) return failed(key, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const node = ctx.broker.cluster.coordinatorFor(key, keyType);
  const { host, port } = endpointFor(node, ctx);
  return { key, nodeId: node.nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
}

function failed(key: string, errorCode: number): FindCoordinatorResponseCoordinator {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: null };
}

function response(errorCode: number, coordinators: FindCoordinatorResponseCoordinator[]): FindCoordinatorResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators };
}
