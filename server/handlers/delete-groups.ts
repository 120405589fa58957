/**
 * DeleteGroups (key 42), versions 0-2.
 * Deletes Empty groups and their committed offsets; groups known only by their offsets count
 * as Empty. NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for a group that does not
 * exist, INVALID_GROUP_ID for an id too long to store.
 */
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../codec/generated/delete-groups.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const results = await groupCoordinatorOf(ctx).deleteGroups(request.groupsNames);
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
};
