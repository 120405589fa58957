/**
 * The SASL gate in front of the dispatcher, as Kafka's SaslServerAuthenticator: before
 * authentication a connection may send ApiVersions and SaslHandshake, then only SaslAuthenticate
 * (or raw SASL tokens after a v0 handshake); anything else closes it without a response. A failed
 * authentication is answered after connection.failed.authentication.delay.ms, logged (user name
 * and reason, never a secret; at most security.audit.log.max.per.second lines a second),
 * counted in kafka_mysql_authentications_total, and the connection is
 * closed once the answer is written. A connection whose session expired (connections.max.reauth.ms)
 * is closed at its next request other than SaslHandshake, which re-authenticates.
 */
import type { Logger } from 'pino';
import { API_DEFINITIONS } from '../../codec/generated/registry.js';
import type { Counter } from '../metrics.js';
import type { LogLimiter } from './audit.js';
import { ProtocolViolation, type Connection, type FrameHandler } from '../net/connection.js';
import { formatPrincipal } from './principal.js';
import type { SaslSession, SaslState } from './sasl/session.js';

/** Read through a call, so the compiler does not narrow a state the awaited handler changes. */
const stateOf = (sasl: SaslSession): SaslState => sasl.state;

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

export interface AuthGateOptions {
  failedAuthenticationDelayMs: number;
  /** sasl.server.max.receive.size: largest frame before authentication. */
  maxReceiveBeforeAuth: number;
  logger: Logger;
  /** kafka_mysql_authentications_total{listener, mechanism, result}. */
  authentications: Counter;
  /** Bounds the failed-authentication log lines (security.audit.log.max.per.second); absent: every one is logged. */
  logLimiter?: LogLimiter;
}

const apiName = (key: number) => API_DEFINITIONS.get(key)?.name ?? `key ${key}`;

export function authGate(inner: FrameHandler, options: AuthGateOptions): FrameHandler {
  const { logger, authentications } = options;

  const failed = async (connection: Connection, response: Buffer[] | undefined): Promise<Buffer[] | undefined> => {
    const security = connection.security!;
    const sasl = security.sasl!;
    authentications.inc({ listener: security.listener.name, mechanism: sasl.mechanism ?? 'none', result: 'failure' });
    // Info, as Kafka logs failed authentications; the reason names a user at most, never a secret.
    // Within the audit log's rate, so a password-guessing loop cannot flood the log (it is still counted).
    const suppressed = options.logLimiter ? options.logLimiter.take() : 0;
    if (suppressed !== null) {
      logger.info(
        { connection: connection.id, remote: connection.remoteAddress, listener: security.listener.name, mechanism: sasl.mechanism, reason: sasl.failure, ...(suppressed > 0 ? { suppressed } : {}) },
        'authentication failed',
      );
    }
    if (options.failedAuthenticationDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.failedAuthenticationDelayMs));
    // The answer is written first (the dispatcher's flush runs before this), then the connection ends.
    setImmediate(() => connection.socket.end());
    if (response === undefined) setImmediate(() => connection.socket.destroy());
    return response;
  };

  const succeeded = (connection: Connection, reauth: boolean): void => {
    const security = connection.security!;
    const sasl = security.sasl!;
    security.principal = sasl.principal!;
    authentications.inc({ listener: security.listener.name, mechanism: sasl.mechanism!, result: 'success' });
    logger.debug(
      { connection: connection.id, remote: connection.remoteAddress, listener: security.listener.name, mechanism: sasl.mechanism, principal: formatPrincipal(sasl.principal!), reauth },
      'authenticated',
    );
  };

  // Not async: a connection without SASL gets the dispatcher's own promise (no wrapper promise and its extra ticks per request).
  return (frame, connection, owned) => {
    const sasl = connection.security?.sasl;
    if (!sasl) return inner(frame, connection, owned);
    if (sasl.state === 'complete') return afterAuthentication(frame, connection, owned, sasl);
    return unauthenticated(frame, connection, owned, sasl);
  };

  async function unauthenticated(frame: Buffer, connection: Connection, owned: boolean, sasl: SaslSession): Promise<Buffer[] | undefined> {
    // Until authenticated, a connection's frames are taken one at a time, each seeing the state the
    // previous one left (a client pipelining tokens after a failure is closed, not answered twice).
    const previous = sasl.turn;
    let done!: () => void;
    sasl.turn = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      return await authenticating(frame, connection, owned, sasl);
    } finally {
      done();
    }
  }

  async function afterAuthentication(frame: Buffer, connection: Connection, owned: boolean, sasl: SaslSession): Promise<Buffer[] | undefined> {
    const apiKey = frame.length >= 2 ? frame.readInt16BE(0) : -1;
    if (apiKey === SASL_HANDSHAKE) return authenticating(frame, connection, owned, sasl);
    if (sasl.expired()) throw new ProtocolViolation('SASL session expired (connections.max.reauth.ms) without re-authentication');
    return inner(frame, connection, owned);
  }

  async function authenticating(frame: Buffer, connection: Connection, owned: boolean, sasl: SaslSession): Promise<Buffer[] | undefined> {
    if (sasl.state !== 'complete' && frame.length > options.maxReceiveBeforeAuth) {
      throw new ProtocolViolation(`frame of ${frame.length} bytes before authentication (sasl.server.max.receive.size ${options.maxReceiveBeforeAuth})`);
    }
    if (sasl.state === 'authenticate' && sasl.rawTokens) {
      // Handshake v0: the frame is a bare SASL token and so is the answer.
      const reauth = sasl.reauthenticatingNow;
      const result = await sasl.authenticate(Buffer.from(frame), 0);
      if (stateOf(sasl) === 'failed') return failed(connection, undefined);
      if (stateOf(sasl) === 'complete') succeeded(connection, reauth);
      const out = Buffer.allocUnsafe(4 + result.authBytes.length);
      out.writeInt32BE(result.authBytes.length, 0);
      result.authBytes.copy(out, 4);
      return [out];
    }
    if (frame.length < 4) throw new ProtocolViolation(`request of ${frame.length} bytes is too short for a header`);
    const apiKey = frame.readInt16BE(0);
    switch (sasl.state) {
      case 'handshake':
        if (apiKey !== API_VERSIONS && apiKey !== SASL_HANDSHAKE) throw new ProtocolViolation(`Unexpected Kafka request of type ${apiName(apiKey)} during SASL handshake`);
        break;
      case 'authenticate':
        if (apiKey !== SASL_AUTHENTICATE) throw new ProtocolViolation(`Unexpected Kafka request of type ${apiName(apiKey)} during SASL authentication`);
        break;
      case 'failed':
        throw new ProtocolViolation('request after a failed authentication');
      case 'complete':
        if (apiKey !== SASL_HANDSHAKE && sasl.expired()) throw new ProtocolViolation('SASL session expired (connections.max.reauth.ms) without re-authentication');
        break;
    }
    const before = stateOf(sasl);
    const reauth = sasl.reauthenticatingNow;
    const response = await inner(frame, connection, owned);
    if (before !== 'failed' && stateOf(sasl) === 'failed') return failed(connection, response);
    if (before === 'authenticate' && stateOf(sasl) === 'complete') succeeded(connection, reauth);
    return response;
  }
}
