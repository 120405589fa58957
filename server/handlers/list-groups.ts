/**
 * ListGroups (key 16), versions 0-4.
 * Every group this coordinator has, including groups that exist only through committed
 * offsets (after a broker restart; listed as Empty, as Kafka lists groups it loaded from its
 * offsets topic). v4 filters by state name, case-insensitively, and reports the state.
 * Deviation: a group known only by its offsets has protocol type '' (Kafka would remember
 * "consumer" from its last generation; membership is not persisted here).
 */
import type { ListGroupsRequest, ListGroupsResponse } from '../../codec/generated/list-groups.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: 16,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const groups = await groupCoordinatorOf(ctx).listGroups(ctx.apiVersion >= 4 ? request.statesFilter : []);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' })),
    };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, groups: [] };
  },
};
