/**
 * What a listener's security protocol asks of each accepted connection: TLS (SSL, SASL_SSL) with
 * the principal of a verified client certificate, and a SASL session (SASL_PLAINTEXT, SASL_SSL).
 * TLS sockets read through 'data' events (the in-place read path needs the raw handle); plaintext
 * listeners keep the fast path untouched.
 */
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { isSasl, isTls, type ListenerSpec } from '../config/listeners.js';
import { ANONYMOUS, userPrincipal, type KafkaPrincipal } from './principal.js';
import { SaslSession, type SaslSettings } from './sasl/session.js';
import { mapPrincipalName, parseMappingRules, rfc2253Subject } from './ssl-principal.js';
import type { TlsSetup } from './tls.js';
import type { Counter } from '../metrics.js';
import type { LogLimiter } from './audit.js';

/** A TLS handshake not done by then closes its connection. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Where TLS authentication failures are counted and how often they are logged. */
export interface TlsFailureAudit {
  /** kafka_mysql_authentications_total{listener, mechanism, result} */
  authentications: Counter;
  limiter: LogLimiter;
}

/** The security state of one connection, which the dispatcher puts on every RequestContext. */
export interface ConnectionSecurity {
  listener: ListenerSpec;
  /** ANONYMOUS until authenticated (SASL) or from the client certificate (SSL). */
  principal: KafkaPrincipal;
  /** The SASL session on SASL listeners, else null. */
  sasl: SaslSession | null;
}

export class ListenerSecurity {
  private readonly rules: ReturnType<typeof parseMappingRules>;
  private readonly tlsServer: TlsServer | null = null;
  /** Accepted TLS sockets whose handshake is under way, by remote address and port. */
  private readonly pending = new Map<string, (socket: TLSSocket, security: ConnectionSecurity) => void>();

  constructor(
    readonly spec: ListenerSpec,
    private readonly tls: TlsSetup | null,
    private readonly sasl: SaslSettings | null,
    principalMappingRules: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly failures?: TlsFailureAudit,
  ) {
    if (isTls(spec.protocol) !== (tls !== null)) throw new Error(`listener ${spec.name}: TLS setup does not match ${spec.protocol}`);
    if (isSasl(spec.protocol) !== (sasl !== null)) throw new Error(`listener ${spec.name}: SASL setup does not match ${spec.protocol}`);
    this.rules = parseMappingRules(principalMappingRules);
    if (tls) {
      this.tlsServer = createTlsServer({
        ...tls.contextOptions,
        requestCert: tls.clientAuth !== 'none',
        rejectUnauthorized: tls.clientAuth === 'required',
        handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      });
      this.tlsServer.on('secureConnection', (socket: TLSSocket) => this.secured(socket));
      this.tlsServer.on('tlsClientError', (err, socket) => {
        this.failed(socket.remoteAddress, `TLS handshake failed: ${err.message}`);
        socket.destroy();
      });
    }
  }

  /**
   * A TLS authentication failure (handshake, refused or unmappable client certificate), counted as
   * Kafka counts SSL handshake failures among failed authentications (mechanism SSL) and logged at
   * info within the audit log's rate (server/security/audit.ts).
   */
  private failed(remote: string | undefined, reason: string): void {
    if (!this.failures) {
      this.logger.info({ listener: this.spec.name, remote, reason }, 'authentication failed');
      return;
    }
    this.failures.authentications.inc({ listener: this.spec.name, mechanism: 'SSL', result: 'failure' });
    const suppressed = this.failures.limiter.take();
    if (suppressed !== null) this.logger.info({ listener: this.spec.name, remote, mechanism: 'SSL', reason, ...(suppressed > 0 ? { suppressed } : {}) }, 'authentication failed');
  }

  get usesTls(): boolean {
    return this.tls !== null;
  }

  /** A plaintext listener's connection: the accepted socket itself and its security state. */
  accept(accepted: Socket): { socket: Socket; security: ConnectionSecurity } {
    return { socket: accepted, security: this.newState() };
  }

  /**
   * A TLS listener's connection: the handshake runs in a tls.Server that never listens (the
   * documented way to hand it a socket, and the one where Node verifies client certificates),
   * then `onSecure` gets the TLSSocket and its state, the principal taken from a verified client
   * certificate on SSL listeners. `onFailed` runs once if the socket closes before that (handshake
   * failure, TLS garbage, timeout): that connection only.
   */
  acceptTls(accepted: Socket, onSecure: (socket: TLSSocket, security: ConnectionSecurity) => void, onFailed: () => void): void {
    const key = `${accepted.remoteAddress}|${accepted.remotePort}`;
    this.pending.set(key, onSecure);
    accepted.once('close', () => {
      if (this.pending.get(key) === onSecure) {
        this.pending.delete(key);
        onFailed();
      }
    });
    this.tlsServer!.emit('connection', accepted);
  }

  private newState(): ConnectionSecurity {
    return { listener: this.spec, principal: ANONYMOUS, sasl: this.sasl ? new SaslSession(this.sasl, this.now) : null };
  }

  private secured(socket: TLSSocket): void {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    const onSecure = this.pending.get(key);
    if (!onSecure) {
      socket.destroy();
      return;
    }
    this.pending.delete(key);
    const security = this.newState();
    const cert = socket.getPeerX509Certificate();
    if (cert && !socket.authorized) {
      // requested: a certificate that is sent must verify, as Java's SSLEngine insists.
      this.failed(socket.remoteAddress, `client certificate refused: ${String(socket.authorizationError)}`);
      socket.destroy();
      return;
    }
    if (cert && !this.sasl) {
      const dn = rfc2253Subject(cert);
      try {
        security.principal = userPrincipal(mapPrincipalName(this.rules, dn));
      } catch (err) {
        this.failed(socket.remoteAddress, `client certificate maps to no principal: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
    }
    onSecure(socket, security);
  }
}
