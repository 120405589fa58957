/**
 * DescribeUserScramCredentials (key 50), version 0.
 * The SCRAM mechanisms and iteration counts of users (never salts or keys), from MySQL. No
 * users named (null or empty): every user with a SCRAM credential. A name asked twice gets
 * DUPLICATE_RESOURCE, a user without SCRAM credentials RESOURCE_NOT_FOUND, with Kafka's messages.
 * PLAIN credentials (a kafka-mysql addition) are not listed: Kafka's API knows only SCRAM.
 * Not checked yet: the DESCRIBE permission on the cluster (no authorizer).
 */
import { authorizeCluster, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
  DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult as Result,
} from '../../codec/generated/describe-user-scram-credentials.js';
import type { ApiHandler } from '../handler-types.js';
import { SCRAM_TYPE_BY_NAME } from '../security/scram-mechanisms.js';

export const describeUserScramCredentialsHandler: ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> = {
  apiKey: 50,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const users = ctx.broker.users;
    if (!users) return this.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, ctx);
    const names = request.users?.map((u) => u.name) ?? [];
    const all = names.length === 0;
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    const stored = await users.list(all ? null : [...counts.keys()]);
    const infos = (user: string) =>
      (stored.get(user) ?? []).filter((c) => SCRAM_TYPE_BY_NAME.has(c.mechanism)).map((c) => ({ mechanism: SCRAM_TYPE_BY_NAME.get(c.mechanism)!, iterations: c.iterations }));
    const results: Result[] = [];
    if (all) {
      for (const user of stored.keys()) {
        const credentialInfos = infos(user);
        if (credentialInfos.length > 0) results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos });
      }
    } else {
      for (const [user, count] of counts) {
        const credentialInfos = infos(user);
        if (count > 1) {
          results.push({ user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] });
        } else if (credentialInfos.length === 0) {
          results.push({ user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] });
        } else results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos });
      }
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
  errorResponse(_request, errorCode) {
    return { throttleTimeMs: 0, errorCode, errorMessage: null, results: [] };
  },
};
