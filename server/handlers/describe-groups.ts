/**
 * DescribeGroups (key 15), versions 0-5.
 * State, protocol type, selected protocol and members of each group. Member metadata and
 * assignments are filled only when the group is Stable, and the protocol is '' otherwise, as
 * in Kafka. A group this broker does not know is reported Dead with no error (v0-5 semantics);
 * a group known only by its offsets is Empty. v3+ may ask for authorized operations: with no
 * authorizer these are all a group supports (READ, DELETE, DESCRIBE), as Kafka answers; v4+
 * reports group instance ids. With an authorizer, a group the principal may not DESCRIBE is
 * answered GROUP_AUTHORIZATION_FAILED.
 */
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../../codec/generated/describe-groups.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import type { GroupDescription } from '../groups/types.js';
import { ErrorCode } from '../../codec/error-codes.js';
import { AUTHORIZED_OPERATIONS_OMITTED, authorizedOperations } from './authorized-operations.js';

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const asked = ctx.apiVersion >= 3 && request.includeAuthorizedOperations;
    // ACLs: DESCRIBE on each group; the others are answered GROUP_AUTHORIZATION_FAILED in their place.
    const allowed = request.groups.filter((g) => authorizeGroup(ctx, Op.DESCRIBE, g));
    const described = allowed.length === request.groups.length ? await groupCoordinatorOf(ctx).describeGroups(request.groups) : await describeAllowed(allowed, request.groups, ctx);
    return {
      throttleTimeMs: 0,
      groups: described.map((g) => ({
        errorCode: g.errorCode,
        groupId: g.groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocolName,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
        authorizedOperations: authorizedOperations(asked, 'group', g.groupId, ctx),
      })),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => ({
        errorCode,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    };
  },
};

/** The allowed groups described, the others as GROUP_AUTHORIZATION_FAILED entries, in request order. */
async function describeAllowed(allowed: string[], all: string[], ctx: RequestContext): Promise<GroupDescription[]> {
  const described = allowed.length === 0 ? [] : await groupCoordinatorOf(ctx).describeGroups(allowed);
  const byId = new Map(described.map((g) => [g.groupId, g]));
  return all.map(
    (groupId) =>
      byId.get(groupId) ?? { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, state: '', protocolType: '', protocolName: '', members: [] },
  );
}
