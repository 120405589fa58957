/**
 * DescribeClientQuotas (key 48), versions 0-1.
 * The quotas of the entities matching the filter, from MySQL (re-read first when another broker
 * changed them). Each component names an entity type ("user", "client-id") and a match: exact
 * name (0), the default (1), or any name or the default (2). strict: only entities with exactly
 * the filter's types; otherwise entities may have other components too. An unknown or repeated
 * entity type or match type: INVALID_REQUEST at the top, with no entries.
 * With an authorizer: DESCRIBE_CONFIGS on the cluster, else CLUSTER_AUTHORIZATION_FAILED.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeClientQuotasRequest, DescribeClientQuotasResponse } from '../../codec/generated/describe-client-quotas.js';
import type { QuotaEntity } from '../../storage/quotas.js';
import type { ApiHandler } from '../handler-types.js';
import { CLIENT_ID, entityComponents, USER } from '../quotas/entity.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

type Component = DescribeClientQuotasRequest['components'][number];

function componentOf(e: QuotaEntity, type: string): string | null | undefined {
  return type === USER ? e.user : e.clientId;
}

function matches(e: QuotaEntity, components: readonly Component[], strict: boolean): boolean {
  for (const c of components) {
    const name = componentOf(e, c.entityType);
    if (name === undefined) return false;
    if (c.matchType === MATCH_EXACT && name !== c.match) return false;
    if (c.matchType === MATCH_DEFAULT && name !== null) return false;
  }
  if (strict) return entityComponents(e).length === components.length;
  return true;
}

function filterProblem(components: readonly Component[]): string | null {
  const seen = new Set<string>();
  for (const c of components) {
    if (c.entityType !== USER && c.entityType !== CLIENT_ID) return `Custom entity type '${c.entityType}' not supported`;
    if (seen.has(c.entityType)) return `Duplicate ${c.entityType} filter component entity type`;
    seen.add(c.entityType);
    if (c.matchType !== MATCH_EXACT && c.matchType !== MATCH_DEFAULT && c.matchType !== MATCH_SPECIFIED) return `Unknown match type ${c.matchType}`;
    if (c.matchType === MATCH_EXACT && c.match === null) return `Exact match of ${c.entityType} needs a name`;
  }
  return null;
}

export const describeClientQuotasHandler: ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse> = {
  apiKey: 48,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.DESCRIBE_CONFIGS)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const problem = filterProblem(request.components);
    if (problem !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, entries: null };
    const quotas = ctx.broker.quotas;
    if (!quotas) return this.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, ctx);
    const entries = (await quotas.describe())
      .filter((q) => matches(q.entity, request.components, request.strict))
      .map((q) => ({ entity: entityComponents(q.entity), values: Object.entries(q.values).map(([key, value]) => ({ key, value })) }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, entries: null };
  },
};
