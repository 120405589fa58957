/**
 * SaslHandshake (key 17), versions 0-1.
 * On a SASL listener: picks the mechanism for the connection's SASL session (server/security/
 * sasl/session.ts) and lists the enabled ones (sasl.enabled.mechanisms). v0 means the client then
 * sends raw SASL tokens (kafka-python), v1 means SaslAuthenticate requests. A mechanism not enabled
 * gets UNSUPPORTED_SASL_MECHANISM and the connection is closed after the answer, as in Kafka. On a
 * complete session a v1 handshake starts re-authentication (KIP-368, same mechanism only); v0 there,
 * or any handshake on a listener without SASL, gets ILLEGAL_SASL_STATE.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../../codec/generated/sasl-handshake.js';
import type { ApiHandler } from '../handler-types.js';

export const saslHandshakeHandler: ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse> = {
  apiKey: 17,
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const sasl = ctx.security?.sasl;
    if (!sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    return sasl.handshake(request.mechanism, ctx.apiVersion);
  },
  errorResponse(_request, errorCode) {
    return { errorCode, mechanisms: [] };
  },
};
