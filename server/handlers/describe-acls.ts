/**
 * DescribeAcls (key 29), versions 0-3.
 * The bindings matching the filter, from this broker's ACLs (reloaded first if MySQL's changed), grouped by resource pattern
 * (Kafka's AclBindingFilter semantics: ANY, MATCH, LITERAL, PREFIXED; v0 filters are LITERAL).
 * As Kafka: DESCRIBE on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED otherwise),
 * SECURITY_DISABLED without an authorizer, INVALID_REQUEST for a filter with UNKNOWN fields.
 */
import type { DescribeAclsRequest, DescribeAclsResponse, DescribeAclsResponseDescribeAclsResource } from '../../codec/generated/describe-acls.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { ApiHandler } from '../handler-types.js';
import { filterMatches, filterProblem, type AclFilter } from '../security/authorizer/acl.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

export const describeAclsHandler: ApiHandler<DescribeAclsRequest, DescribeAclsResponse> = {
  apiKey: 29,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const authorizer = ctx.broker.authorizer;
    if (!authorizer) return this.errorResponse(request, ErrorCode.SECURITY_DISABLED, ctx);
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const filter: AclFilter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const problem = filterProblem(filter);
    // Current bindings (one primary-key read when nothing changed), so a binding made through another broker shows at once.
    if (!problem) await authorizer.refresh();
    if (problem) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, resources: [] };
    const byPattern = new Map<string, DescribeAclsResponseDescribeAclsResource>();
    for (const b of authorizer.all()) {
      if (!filterMatches(filter, b)) continue;
      const key = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
      let resource = byPattern.get(key);
      if (!resource) byPattern.set(key, (resource = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
      resource.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byPattern.values()] };
  },
  errorResponse(_request, errorCode) {
    const errorMessage = errorCode === ErrorCode.SECURITY_DISABLED ? 'No Authorizer is configured.' : null;
    return { throttleTimeMs: 0, errorCode, errorMessage, resources: [] };
  },
};
