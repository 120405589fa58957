/**
 * DeleteGroups (key 42), versions 0-2.
 * Deletes Empty groups and their committed offsets; groups known only by their offsets count
 * as Empty. NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for a group that does not
 * exist, INVALID_GROUP_ID for an id too long to store.
 */
import { authorizeGroup, Op } from '../security/authorizer/checks.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../codec/generated/delete-groups.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';
import { ErrorCode } from '../../codec/error-codes.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: 42,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    // ACLs: DELETE on each group; the others are answered GROUP_AUTHORIZATION_FAILED.
    const allowed = request.groupsNames.filter((g) => authorizeGroup(ctx, Op.DELETE, g));
    const deleted = allowed.length === 0 ? [] : await groupCoordinatorOf(ctx).deleteGroups(allowed);
    const byId = new Map(deleted.map((r) => [r.groupId, r]));
    const results = request.groupsNames.map((groupId) => byId.get(groupId) ?? { groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
    return { throttleTimeMs: 0, results };
  },
  errorResponse(request, errorCode) {
    return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) };
  },
};
