/**
 * SyncGroup (key 14), versions 0-5.
 * The leader hands in the assignment of the generation; every member gets its own part.
 * Followers wait until the leader has synced. v3+ carries the group instance id (static
 * members; a replaced one gets FENCED_INSTANCE_ID); v5+ checks the protocol type and name when
 * the client sends them and returns them. Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * REBALANCE_IN_PROGRESS (a new join phase started), INCONSISTENT_GROUP_PROTOCOL.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../codec/generated/sync-group.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';

const EMPTY = Buffer.alloc(0);

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: 14,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const v = ctx.apiVersion;
    const result = await groupCoordinatorOf(ctx).syncGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: v >= 3 ? request.groupInstanceId : null,
      generationId: request.generationId,
      protocolType: v >= 5 ? request.protocolType : null,
      protocolName: v >= 5 ? request.protocolName : null,
      assignments: request.assignments,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
  },
};
