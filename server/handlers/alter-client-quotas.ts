/**
 * AlterClientQuotas (key 49), versions 0-1.
 * Sets or removes producer_byte_rate, consumer_byte_rate and request_percentage of quota
 * entities (user, client-id, both; a null name is the default), as Kafka's ZooKeeper and KRaft
 * brokers do, stored in MySQL (storage/quotas.ts) and applied by every broker's quota manager
 * (server/quotas/) at its next poll, at once by this one. Each entry is validated on its own:
 * INVALID_REQUEST for an empty, duplicate or unknown entity type, an unknown key, a key given
 * twice, a value that is not positive and finite (byte rates must be whole numbers). Valid
 * entries are stored together in one transaction; validate_only stores nothing.
 * With an authorizer: ALTER_CONFIGS on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every entry.
 * Deviations: "ip" entities (connection_creation_rate) and controller_mutation_rate are refused
 * with INVALID_REQUEST (not enforced by this broker).
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { AlterClientQuotasRequest, AlterClientQuotasResponse } from '../../codec/generated/alter-client-quotas.js';
import type { QuotaChange } from '../../storage/quotas.js';
import type { ApiHandler } from '../handler-types.js';
import { parseEntity } from '../quotas/entity.js';
import { QUOTA_KEYS, REQUEST_PERCENTAGE } from '../quotas/manager.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

type Entry = AlterClientQuotasResponse['entries'][number];

function validateOps(ops: AlterClientQuotasRequest['entries'][number]['ops']): Record<string, number | null> | string {
  const out: Record<string, number | null> = {};
  for (const op of ops) {
    if (!QUOTA_KEYS.includes(op.key)) return `Unknown or unsupported client quota key: ${op.key}`;
    if (op.key in out) return `Duplicate quota key: ${op.key}`;
    if (op.remove) out[op.key] = null;
    else {
      if (!Number.isFinite(op.value) || op.value <= 0) return `Invalid value ${op.value} for ${op.key}: must be positive`;
      if (op.key !== REQUEST_PERCENTAGE && !Number.isInteger(op.value)) return `Invalid value ${op.value} for ${op.key}: must be a whole number of bytes`;
      out[op.key] = op.value;
    }
  }
  return out;
}

export const alterClientQuotasHandler: ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> = {
  apiKey: 49,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.ALTER_CONFIGS)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const quotas = ctx.broker.quotas;
    if (!quotas) return this.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, ctx);
    const entries: Entry[] = [];
    const changes: QuotaChange[] = [];
    for (const e of request.entries) {
      const entity = e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName }));
      const parsed = parseEntity(e.entity);
      const ops = typeof parsed === 'string' ? parsed : validateOps(e.ops);
      const problem = typeof parsed === 'string' ? parsed : typeof ops === 'string' ? ops : null;
      if (problem !== null) {
        entries.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, entity });
        continue;
      }
      entries.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity });
      changes.push({ entity: parsed as Exclude<typeof parsed, string>, ops: ops as Record<string, number | null> });
    }
    if (!request.validateOnly && changes.length > 0) await quotas.alter(changes);
    return { throttleTimeMs: 0, entries };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      entries: request.entries.map((e) => ({ errorCode, errorMessage: null, entity: e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName })) })),
    };
  },
};
