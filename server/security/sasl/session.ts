/**
 * One connection's SASL state on a SASL_PLAINTEXT or SASL_SSL listener, as Kafka's
 * SaslServerAuthenticator keeps it: handshake (ApiVersions and SaslHandshake only) ->
 * authenticate (SaslAuthenticate, or raw tokens after a v0 handshake) -> complete, and back to
 * authenticate when the client re-authenticates (KIP-368: SaslHandshake v1+ on a complete
 * session, same mechanism and same principal required). The session expires
 * connections.max.reauth.ms after authentication (or at an OAUTHBEARER token's expiry, if sooner).
 */
import { ErrorCode } from '../../../codec/error-codes.js';
import type { KafkaPrincipal } from '../principal.js';
import { userPrincipal } from '../principal.js';
import { SaslFailure, type SaslServer } from './mechanism.js';

export interface SaslSettings {
  /** sasl.enabled.mechanisms of the listener, in order. */
  mechanisms: readonly string[];
  /** A new server for a mechanism (one of `mechanisms`). */
  createServer(mechanism: string): SaslServer;
  /** connections.max.reauth.ms (0: sessions never expire). */
  reauthMs: number;
}

export type SaslState = 'handshake' | 'authenticate' | 'complete' | 'failed';

export interface HandshakeResult {
  errorCode: number;
  mechanisms: string[];
}

export interface AuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  sessionLifetimeMs: bigint;
}

export class SaslSession {
  state: SaslState = 'handshake';
  /** After a v0 handshake the client sends SASL tokens without Kafka headers (kafka-python). */
  rawTokens = false;
  mechanism: string | null = null;
  principal: KafkaPrincipal | null = null;
  /** When the session ends (ms since the epoch); null: never. */
  expiresAtMs: number | null = null;
  /** Why authentication failed, for the log (never a secret). */
  failure: string | null = null;
  /** Settles when the frame being authenticated has been handled (see auth-gate.ts). */
  turn: Promise<void> = Promise.resolve();
  private server: SaslServer | null = null;
  private reauthenticating = false;

  constructor(
    private readonly settings: SaslSettings,
    private readonly now: () => number,
  ) {}

  get reauthenticatingNow(): boolean {
    return this.reauthenticating;
  }

  handshake(mechanism: string, version: number): HandshakeResult {
    const mechanisms = [...this.settings.mechanisms];
    if (this.state === 'complete') {
      // Re-authentication needs SaslAuthenticate (v1+ handshake); v0 clients cannot re-authenticate.
      if (version < 1) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
      this.reauthenticating = true;
    } else if (this.state !== 'handshake') {
      return this.fail({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }, 'SaslHandshake during authentication');
    }
    if (!mechanisms.includes(mechanism)) {
      return this.fail({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }, `unsupported mechanism ${JSON.stringify(mechanism.slice(0, 64))}`);
    }
    if (this.reauthenticating && mechanism !== this.mechanism) {
      return this.fail({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }, `re-authentication changed mechanism from ${this.mechanism} to ${mechanism}`);
    }
    this.mechanism = mechanism;
    this.server = this.settings.createServer(mechanism);
    this.rawTokens = version === 0;
    this.state = 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** One token; on failure the session is failed and the result carries Kafka's error. */
  async authenticate(token: Buffer, version: number): Promise<AuthenticateResult> {
    if (this.state !== 'authenticate' || !this.server) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate request received after successful authentication', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
    }
    const server = this.server;
    let response: Buffer;
    try {
      response = await server.evaluate(token);
    } catch (err) {
      const failure = err instanceof SaslFailure ? err : new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`, String(err));
      return this.fail({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: failure.clientMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n }, failure.reason);
    }
    if (!server.complete) return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: response, sessionLifetimeMs: 0n };
    const principal = userPrincipal(server.authorizationId!);
    if (this.reauthenticating && this.principal && (this.principal.name !== principal.name || this.principal.type !== principal.type)) {
      return this.fail(
        { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: `Cannot change principals during re-authentication from ${this.principal.type}:${this.principal.name}: ${principal.type}:${principal.name}`, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n },
        'principal changed during re-authentication',
      );
    }
    const now = this.now();
    let lifetime = this.settings.reauthMs > 0 ? this.settings.reauthMs : null;
    if (server.expiresAtMs !== null) lifetime = Math.max(0, lifetime === null ? server.expiresAtMs - now : Math.min(lifetime, server.expiresAtMs - now));
    this.expiresAtMs = lifetime === null ? null : now + lifetime;
    this.principal = principal;
    this.state = 'complete';
    this.reauthenticating = false;
    this.server = null;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: response, sessionLifetimeMs: version >= 1 && lifetime !== null ? BigInt(lifetime) : 0n };
  }

  expired(): boolean {
    return this.expiresAtMs !== null && this.now() >= this.expiresAtMs;
  }

  private fail<T>(result: T, reason: string): T {
    this.state = 'failed';
    this.failure = reason;
    this.server = null;
    return result;
  }
}
