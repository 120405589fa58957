/**
 * Console routes for users (SCRAM credentials), ACLs and client quotas: each is the Kafka admin
 * request of the same name (DescribeUserScramCredentials/AlterUserScramCredentials,
 * DescribeAcls/CreateAcls/DeleteAcls, DescribeClientQuotas/AlterClientQuotas) called as the
 * console user, so the handlers' own checks apply (ALTER/DESCRIBE on the cluster; without an
 * authorizer the ACL requests answer SECURITY_DISABLED, shown as such).
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { ErrorCode } from '../../codec/error-codes.js';
import { createAlterClientQuotasRequest, type AlterClientQuotasResponse } from '../../codec/generated/alter-client-quotas.js';
import { createAlterUserScramCredentialsRequest, type AlterUserScramCredentialsResponse } from '../../codec/generated/alter-user-scram-credentials.js';
import { createCreateAclsRequest, type CreateAclsResponse } from '../../codec/generated/create-acls.js';
import { createDeleteAclsRequest, type DeleteAclsResponse } from '../../codec/generated/delete-acls.js';
import { createDescribeAclsRequest, type DescribeAclsResponse } from '../../codec/generated/describe-acls.js';
import { createDescribeClientQuotasRequest, type DescribeClientQuotasResponse } from '../../codec/generated/describe-client-quotas.js';
import { createDescribeUserScramCredentialsRequest, type DescribeUserScramCredentialsResponse } from '../../codec/generated/describe-user-scram-credentials.js';
import { fromKafkaCode, RestError } from '../http/errors.js';
import { readJson } from '../http/router.js';
import { SCRAM_NAME_BY_TYPE, SCRAM_TYPE_BY_NAME } from '../security/scram-mechanisms.js';
import { callApi, type ConsoleRequest } from './context.js';
import type { ConsoleRoute } from './router.js';

const body = (r: ConsoleRequest) => readJson(r.req, r.state.deps.broker.config.int('socket.request.max.bytes'));
const check = (code: number, message: string | null) => {
  if (code !== ErrorCode.NONE) throw fromKafkaCode(code, message);
};

function int(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new RestError(422, 422, `${field} must be an integer`);
  return v;
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw new RestError(422, 422, `${field} must be a non-empty string`);
  return v;
}

/** An ACL binding from the page: Kafka's numeric codes (the page names them). */
function binding(b: Record<string, unknown>) {
  return {
    resourceType: int(b.resource_type, 'resource_type'),
    resourceName: str(b.resource_name, 'resource_name'),
    patternType: int(b.pattern_type ?? 3, 'pattern_type'),
    principal: str(b.principal, 'principal'),
    host: typeof b.host === 'string' && b.host !== '' ? b.host : '*',
    operation: int(b.operation, 'operation'),
    permissionType: int(b.permission ?? 3, 'permission'),
  };
}

export const securityRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/console/api/users',
    async handle(r) {
      const res = await callApi<DescribeUserScramCredentialsResponse>(r, 50, createDescribeUserScramCredentialsRequest({ users: null }));
      check(res.errorCode, res.errorMessage);
      return { users: res.results.filter((u) => u.errorCode === ErrorCode.NONE).map((u) => ({ name: u.user, mechanisms: u.credentialInfos.map((c) => ({ mechanism: SCRAM_NAME_BY_TYPE.get(c.mechanism) ?? String(c.mechanism), iterations: c.iterations })) })) };
    },
  },
  {
    method: 'POST',
    path: '/console/api/users',
    async handle(r) {
      const b = await body(r);
      const name = str(b.name, 'name');
      const password = str(b.password, 'password');
      const mechanismName = typeof b.mechanism === 'string' ? b.mechanism : 'SCRAM-SHA-256';
      const mechanism = SCRAM_TYPE_BY_NAME.get(mechanismName);
      if (mechanism === undefined) throw new RestError(422, 422, 'mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512');
      const iterations = 8192;
      const salt = randomBytes(32);
      // Kafka's upsertion carries SaltedPassword = Hi(password, salt, i) (RFC 5802), never the password.
      const salted = pbkdf2Sync(password, salt, iterations, mechanismName === 'SCRAM-SHA-512' ? 64 : 32, mechanismName === 'SCRAM-SHA-512' ? 'sha512' : 'sha256');
      const res = await callApi<AlterUserScramCredentialsResponse>(r, 51, createAlterUserScramCredentialsRequest({ deletions: [], upsertions: [{ name, mechanism, iterations, salt, saltedPassword: salted }] }));
      for (const u of res.results) check(u.errorCode, u.errorMessage);
      return { name, mechanism: mechanismName };
    },
  },
  {
    method: 'DELETE',
    path: '/console/api/users/{user}',
    async handle(r) {
      const mechanismName = r.query.get('mechanism') ?? 'SCRAM-SHA-256';
      const mechanism = SCRAM_TYPE_BY_NAME.get(mechanismName);
      if (mechanism === undefined) throw new RestError(400, 400, 'mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512');
      const res = await callApi<AlterUserScramCredentialsResponse>(r, 51, createAlterUserScramCredentialsRequest({ deletions: [{ name: r.params.user!, mechanism }], upsertions: [] }));
      for (const u of res.results) check(u.errorCode, u.errorMessage);
      return undefined;
    },
  },
  {
    method: 'GET',
    path: '/console/api/acls',
    async handle(r) {
      const res = await callApi<DescribeAclsResponse>(r, 29, createDescribeAclsRequest({ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }));
      if (res.errorCode === ErrorCode.SECURITY_DISABLED) return { enabled: false, acls: [] };
      check(res.errorCode, res.errorMessage);
      return {
        enabled: true,
        acls: res.resources.flatMap((x) => x.acls.map((a) => ({ resource_type: x.resourceType, resource_name: x.resourceName, pattern_type: x.patternType, principal: a.principal, host: a.host, operation: a.operation, permission: a.permissionType }))),
      };
    },
  },
  {
    method: 'POST',
    path: '/console/api/acls',
    async handle(r) {
      const b = binding(await body(r));
      const res = await callApi<CreateAclsResponse>(r, 30, createCreateAclsRequest({ creations: [{ ...b, resourcePatternType: b.patternType }] }));
      for (const x of res.results) check(x.errorCode, x.errorMessage);
      return { created: 1 };
    },
  },
  {
    method: 'POST',
    path: '/console/api/acls/delete',
    async handle(r) {
      const b = binding(await body(r));
      const res = await callApi<DeleteAclsResponse>(
        r,
        31,
        createDeleteAclsRequest({ filters: [{ resourceTypeFilter: b.resourceType, resourceNameFilter: b.resourceName, patternTypeFilter: b.patternType, principalFilter: b.principal, hostFilter: b.host, operation: b.operation, permissionType: b.permissionType }] }),
      );
      for (const x of res.filterResults) check(x.errorCode, x.errorMessage);
      return { deleted: res.filterResults.reduce((s, x) => s + x.matchingAcls.length, 0) };
    },
  },
  {
    method: 'GET',
    path: '/console/api/quotas',
    async handle(r) {
      const res = await callApi<DescribeClientQuotasResponse>(r, 48, createDescribeClientQuotasRequest({ components: [], strict: false }));
      check(res.errorCode, res.errorMessage);
      return { quotas: (res.entries ?? []).map((e) => ({ entity: e.entity.map((x) => ({ type: x.entityType, name: x.entityName })), values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) })) };
    },
  },
  {
    method: 'POST',
    path: '/console/api/quotas',
    async handle(r) {
      const b = await body(r);
      if (!Array.isArray(b.entity) || b.entity.length === 0) throw new RestError(422, 422, 'entity must be a non-empty array of {"type": "user"|"client-id", "name": string or null}');
      const entity = b.entity.map((e: { type?: unknown; name?: unknown }) => ({ entityType: str(e.type, 'entity.type'), entityName: typeof e.name === 'string' ? e.name : null }));
      const key = str(b.key, 'key');
      const remove = b.value === null || b.value === undefined;
      if (!remove && typeof b.value !== 'number') throw new RestError(422, 422, 'value must be a number or null (remove)');
      const res = await callApi<AlterClientQuotasResponse>(r, 49, createAlterClientQuotasRequest({ entries: [{ entity, ops: [{ key, value: remove ? 0 : (b.value as number), remove }] }], validateOnly: false }));
      for (const e of res.entries) check(e.errorCode, e.errorMessage);
      return undefined;
    },
  },
];
