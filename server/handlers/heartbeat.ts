/**
 * Heartbeat (key 12), versions 0-4.
 * Keeps a member's session alive. REBALANCE_IN_PROGRESS while a join phase runs (the member
 * must rejoin), UNKNOWN_MEMBER_ID for members the group does not have (expired, removed, or a
 * group this coordinator does not know), ILLEGAL_GENERATION for a stale generation, and
 * FENCED_INSTANCE_ID (v3+) for a static member id that was replaced.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../../codec/generated/heartbeat.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';

export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const errorCode = groupCoordinatorOf(ctx).heartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? request.groupInstanceId : null,
      generationId: request.generationId,
    });
    return { throttleTimeMs: 0, errorCode };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
};
