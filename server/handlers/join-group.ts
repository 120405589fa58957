/**
 * JoinGroup (key 11), versions 0-9.
 * Classic group membership through the group coordinator (server/groups): v4+ members without
 * a group instance id get MEMBER_ID_REQUIRED on their first join; v5+ static members
 * (group.instance.id) take their slot back on restart; v8 carries a reason (logged); v9 tells a
 * returning static leader to skip the assignment. The response waits for the join phase to
 * end (initial rebalance delay for a new group, else until every member rejoined or the
 * rebalance timeout). v0 has no rebalance timeout: the session timeout serves, as in Kafka.
 * Limits: group.max.size (GROUP_MAX_SIZE_REACHED, as Kafka); protocol names and metadata over
 * group.member.metadata.max.bytes get INVALID_REQUEST, and a join that would take the group
 * past group.metadata.max.bytes gets GROUP_MAX_SIZE_REACHED (kafka-mysql's own limits: Kafka
 * has none, and the leader's response carries every member's metadata).
 * A client that disconnects while its JoinGroup waits stays a member, as in Kafka (its session
 * timeout removes it); its response, once the join phase ends, is not encoded.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../../codec/generated/join-group.js';
import { clientHostOf, groupCoordinatorOf } from '../groups/service.js';
import type { JoinResult } from '../groups/types.js';
import type { ApiHandler } from '../handler-types.js';

export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: 11,
  minVersion: 0,
  maxVersion: 9,
  async handle(request, ctx) {
    if (!authorizeGroup(ctx, Op.READ, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const v = ctx.apiVersion;
    const groupInstanceId = v >= 5 ? request.groupInstanceId : null;
    if (request.reason !== null) {
      ctx.logger.debug({ groupId: request.groupId, memberId: request.memberId, reason: request.reason }, 'JoinGroup');
    }
    const result = await groupCoordinatorOf(ctx).joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId,
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx),
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      requireKnownMemberId: v >= 4 && groupInstanceId === null,
      supportSkippingAssignment: v >= 9,
      reason: request.reason,
    });
    // The leader's response holds every member's metadata: nobody is left to read it.
    if (ctx.clientGone()) return undefined;
    return toResponse(result, v);
  },
  errorResponse(request, errorCode, ctx) {
    return toResponse(
      {
        errorCode,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        skipAssignment: false,
        memberId: request.memberId,
        members: [],
      },
      ctx.apiVersion,
    );
  },
};

function toResponse(result: JoinResult, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // Before v7 the protocol name is not nullable: Kafka sends '' for "none".
    protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leader,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}
