/**
 * DeleteAcls (key 31), versions 0-3.
 * Removes the bindings each filter matches (Kafka's AclBindingFilter semantics, v0 filters are
 * LITERAL) and lists them per filter; this broker's authorizer reloads at once, others within
 * acl.refresh.ms. As Kafka: ALTER on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED for
 * every filter otherwise), SECURITY_DISABLED without an authorizer, INVALID_REQUEST for a filter
 * with UNKNOWN fields. A binding two filters match is listed under each.
 */
import type { DeleteAclsRequest, DeleteAclsResponse } from '../../codec/generated/delete-acls.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { ApiHandler } from '../handler-types.js';
import { filterMatches, filterProblem, type AclBinding, type AclFilter } from '../security/authorizer/acl.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

export const deleteAclsHandler: ApiHandler<DeleteAclsRequest, DeleteAclsResponse> = {
  apiKey: 31,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const authorizer = ctx.broker.authorizer;
    if (!authorizer) return this.errorResponse(request, ErrorCode.SECURITY_DISABLED, ctx);
    if (!authorizeCluster(ctx, Op.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    // Filter against MySQL's current bindings, not the cache, so a binding made through another broker is found.
    await authorizer.refresh();
    const current = authorizer.all();
    const perFilter = request.filters.map((f) => {
      const filter: AclFilter = {
        resourceType: f.resourceTypeFilter,
        resourceName: f.resourceNameFilter,
        patternType: f.patternTypeFilter,
        principal: f.principalFilter,
        host: f.hostFilter,
        operation: f.operation,
        permissionType: f.permissionType,
      };
      const problem = filterProblem(filter);
      return { problem, matches: problem ? [] : current.filter((b) => filterMatches(filter, b)) };
    });
    const toDelete = new Set<AclBinding>(perFilter.flatMap((p) => p.matches));
    if (toDelete.size > 0) {
      await authorizer.delete([...toDelete]);
    }
    return {
      throttleTimeMs: 0,
      filterResults: perFilter.map(({ problem, matches }) => ({
        errorCode: problem ? ErrorCode.INVALID_REQUEST : ErrorCode.NONE,
        errorMessage: problem,
        matchingAcls: matches.map((b) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permissionType,
        })),
      })),
    };
  },
  errorResponse(request, errorCode) {
    const errorMessage = errorCode === ErrorCode.SECURITY_DISABLED ? 'No Authorizer is configured.' : null;
    return { throttleTimeMs: 0, filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) };
  },
};
