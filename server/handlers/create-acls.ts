/**
 * CreateAcls (key 30), versions 0-3.
 * Stores ACL bindings (storage/acls.ts) and reloads this broker's authorizer at once; other
 * brokers see them within acl.refresh.ms. As Kafka: ALTER on the cluster is needed
 * (CLUSTER_AUTHORIZATION_FAILED for every creation otherwise), SECURITY_DISABLED without an
 * authorizer, INVALID_REQUEST for a binding with ANY/UNKNOWN/MATCH fields, an empty name, a
 * cluster named other than kafka-cluster or a principal without a type. Creating a binding
 * that exists succeeds and leaves one copy.
 */
import type { CreateAclsRequest, CreateAclsResponse } from '../../codec/generated/create-acls.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { ApiHandler } from '../handler-types.js';
import { bindingProblem, type AclBinding } from '../security/authorizer/acl.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

export const createAclsHandler: ApiHandler<CreateAclsRequest, CreateAclsResponse> = {
  apiKey: 30,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const authorizer = ctx.broker.authorizer;
    if (!authorizer) return this.errorResponse(request, ErrorCode.SECURITY_DISABLED, ctx);
    if (!authorizeCluster(ctx, Op.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const results = request.creations.map((c) => {
      const binding: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      };
      const problem = bindingProblem(binding);
      return { binding, errorCode: problem ? ErrorCode.INVALID_REQUEST : ErrorCode.NONE, errorMessage: problem };
    });
    const valid = results.filter((r) => r.errorCode === ErrorCode.NONE).map((r) => r.binding);
    if (valid.length > 0) {
      await authorizer.create(valid);
    }
    return { throttleTimeMs: 0, results: results.map(({ errorCode, errorMessage }) => ({ errorCode, errorMessage })) };
  },
  errorResponse(request, errorCode) {
    const errorMessage = errorCode === ErrorCode.SECURITY_DISABLED ? 'No Authorizer is configured.' : null;
    return { throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode, errorMessage })) };
  },
};
