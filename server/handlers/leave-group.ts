/**
 * LeaveGroup (key 13), versions 0-5.
 * v0-2 remove one member (member_id); v3+ remove a batch, each by member id or, for an
 * administrator, by group instance id alone, with an error per member; v5 carries a reason
 * (logged). The group rebalances without the members (or goes Empty). For v0-2 the member's
 * error is the response's error, as Kafka reports it.
 */
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../codec/generated/leave-group.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { LeavingMember } from '../groups/types.js';
import type { ApiHandler } from '../handler-types.js';

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
  handle(request, ctx) {
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const batched = ctx.apiVersion >= 3;
    const leaving: LeavingMember[] = batched
      ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }))
      : [{ memberId: request.memberId, groupInstanceId: null, reason: null }];
    for (const m of leaving) {
      if (m.reason !== null) ctx.logger.debug({ groupId: request.groupId, memberId: m.memberId, reason: m.reason }, 'LeaveGroup');
    }
    const result = groupCoordinatorOf(ctx).leaveGroup(request.groupId, leaving);
    if (batched) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
    const memberError = result.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError, members: [] };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, members: [] };
  },
};
