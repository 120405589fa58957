/**
 * ListGroups (key 16), versions 0-5.
 * Every group this coordinator has, including groups that exist only through committed
 * offsets (after a broker restart; listed as Empty, as Kafka lists groups it loaded from its
 * offsets topic). v4 filters by state name, case-insensitively, and reports the state. v5
 * filters by group type (KIP-848), case-insensitively, and reports it: every group here is
 * "classic", so a filter naming only other types (consumer, share, or one Kafka does not know)
 * lists nothing, as Kafka does.
 * Deviation: a group known only by its offsets has protocol type '' (Kafka would remember
 * "consumer" from its last generation; membership is not persisted here).
 */
import { authorizeCluster, authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../../codec/generated/list-groups.js';
import { groupCoordinatorOf } from '../groups/service.js';
import { CLASSIC_GROUP_TYPE } from '../groups/types.js';
import type { ApiHandler } from '../handler-types.js';

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const v = ctx.apiVersion;
    // Only filters: refusals are not logged (Kafka's logIfDenied=false).
    const describeAll = authorizeCluster(ctx, Op.DESCRIBE, false);
    const groups = await groupCoordinatorOf(ctx).listGroups(v >= 4 ? request.statesFilter : [], v >= 5 ? request.typesFilter : []);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      // ACLs: DESCRIBE on the cluster lists every group, otherwise those the principal may DESCRIBE.
      groups: groups.filter((g) => describeAll || authorizeGroup(ctx, Op.DESCRIBE, g.groupId, false)).map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: CLASSIC_GROUP_TYPE })),
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
};
