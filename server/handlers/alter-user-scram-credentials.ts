/**
 * AlterUserScramCredentials (key 51), version 0.
 * Upserts and deletes SCRAM credentials in MySQL. An upsertion carries the client-computed salt
 * and SaltedPassword (Kafka's admin client never sends the password); the broker keeps only
 * StoredKey and ServerKey derived from it (RFC 5802). Checks per user, as Kafka: an empty name or
 * iterations outside 4096-16384 UNACCEPTABLE_CREDENTIAL, an unknown mechanism
 * UNSUPPORTED_SASL_MECHANISM, a (user, mechanism) altered twice DUPLICATE_RESOURCE, deleting a
 * credential that does not exist RESOURCE_NOT_FOUND; a SaltedPassword whose length is not the
 * mechanism's hash length or an empty salt is UNACCEPTABLE_CREDENTIAL. A user with any refused
 * alteration has none applied; one result per user. Not checked yet: the ALTER permission on the
 * cluster (no authorizer).
 */
import { authorizeCluster, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from '../../codec/generated/alter-user-scram-credentials.js';
import type { ApiHandler } from '../handler-types.js';
import { SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, scramHash, scramKeysFromSaltedPassword } from '../security/sasl/credentials.js';
import { SCRAM_NAME_BY_TYPE } from '../security/scram-mechanisms.js';

interface Problem {
  errorCode: number;
  errorMessage: string;
}

export const alterUserScramCredentialsHandler: ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> = {
  apiKey: 51,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const store = ctx.broker.users;
    if (!store) return this.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, ctx);
    const order: string[] = [];
    const problems = new Map<string, Problem>();
    const seen = new Map<string, number>();
    const note = (user: string) => {
      if (!order.includes(user)) order.push(user);
    };
    const refuse = (user: string, errorCode: number, errorMessage: string) => {
      if (!problems.has(user)) problems.set(user, { errorCode, errorMessage });
    };
    for (const a of [...request.deletions, ...request.upsertions]) {
      note(a.name);
      const key = `${a.mechanism}\u0000${a.name}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const a of [...request.deletions, ...request.upsertions]) {
      if (a.name === '') refuse(a.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (!SCRAM_NAME_BY_TYPE.has(a.mechanism)) refuse(a.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      else if (seen.get(`${a.mechanism}\u0000${a.name}`)! > 1) refuse(a.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
    }
    for (const u of request.upsertions) {
      if (problems.has(u.name)) continue;
      const mechanism = SCRAM_NAME_BY_TYPE.get(u.mechanism)!;
      if (u.iterations < SCRAM_MIN_ITERATIONS) refuse(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
      else if (u.iterations > SCRAM_MAX_ITERATIONS) refuse(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
      else if (u.salt.length === 0 || u.saltedPassword.length !== scramHash(mechanism).length) {
        refuse(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'The salt or salted password is not valid for the mechanism');
      }
    }
    for (const d of request.deletions) {
      if (problems.has(d.name)) continue;
      const existing = await store.credential(d.name, SCRAM_NAME_BY_TYPE.get(d.mechanism)!);
      if (!existing) refuse(d.name, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
    }
    for (const d of request.deletions) {
      if (!problems.has(d.name)) await store.delete(d.name, SCRAM_NAME_BY_TYPE.get(d.mechanism)!);
    }
    for (const u of request.upsertions) {
      if (problems.has(u.name)) continue;
      const mechanism = SCRAM_NAME_BY_TYPE.get(u.mechanism)!;
      // Copies: the request's bytes are views of the frame.
      await store.upsert(u.name, scramKeysFromSaltedPassword(mechanism, Buffer.from(u.salt), Buffer.from(u.saltedPassword), u.iterations));
    }
    return {
      throttleTimeMs: 0,
      results: order.map((user) => {
        const p = problems.get(user);
        return { user, errorCode: p?.errorCode ?? ErrorCode.NONE, errorMessage: p?.errorMessage ?? null };
      }),
    };
  },
  errorResponse(request, errorCode) {
    const users = [...new Set([...request.deletions, ...request.upsertions].map((a) => a.name))];
    return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode, errorMessage: null })) };
  },
};
