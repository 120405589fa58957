/**
 * SaslAuthenticate (key 36), versions 0-2.
 * One SASL token of the mechanism chosen by SaslHandshake v1, answered with the server's token.
 * Failures: SASL_AUTHENTICATION_FAILED with Kafka's messages (never telling an unknown user from
 * a wrong password); the gate (server/security/auth-gate.ts) delays that answer by
 * connection.failed.authentication.delay.ms and closes the connection after it. On completion,
 * v1+ carries session_lifetime_ms (connections.max.reauth.ms, or sooner for an expiring
 * OAUTHBEARER token; 0 = no limit). Outside an authentication (no SASL on the listener, or
 * already authenticated) it gets ILLEGAL_SASL_STATE, as Kafka's KafkaApis answers.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../../codec/generated/sasl-authenticate.js';
import type { ApiHandler } from '../handler-types.js';

const NOT_AUTHENTICATING = 'SaslAuthenticate request received after successful authentication';

export const saslAuthenticateHandler: ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  apiKey: 36,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const sasl = ctx.security?.sasl;
    if (!sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: NOT_AUTHENTICATING, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
    // The token is a view of the request frame; mechanisms keep nothing of it past this call.
    return sasl.authenticate(request.authBytes, ctx.apiVersion);
  },
  errorResponse(_request, errorCode) {
    return { errorCode, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
  },
};
