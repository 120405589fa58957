/**
 * What a listener's security protocol asks of each accepted connection: TLS (SSL, SASL_SSL) with
 * the principal of a verified client certificate, and a SASL session (SASL_PLAINTEXT, SASL_SSL).
 * TLS sockets read through 'data' events (the in-place read path needs the raw handle); plaintext
 * listeners keep the fast path untouched.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { isSasl, isTls, type ListenerSpec } from '../config/listeners.js';
import { ANONYMOUS, userPrincipal, type KafkaPrincipal } from './principal.js';
import { SaslSession, type SaslSettings } from './sasl/session.js';
import { mapPrincipalName, parseMappingRules, rfc2253Subject } from './ssl-principal.js';
import type { TlsSetup } from './tls.js';

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

  constructor(
    readonly spec: ListenerSpec,
    private readonly tls: TlsSetup | null,
    private readonly sasl: SaslSettings | null,
    principalMappingRules: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    if (isTls(spec.protocol) !== (tls !== null)) throw new Error(`listener ${spec.name}: TLS setup does not match ${spec.protocol}`);
    if (isSasl(spec.protocol) !== (sasl !== null)) throw new Error(`listener ${spec.name}: SASL setup does not match ${spec.protocol}`);
    this.rules = parseMappingRules(principalMappingRules);
  }

  get usesTls(): boolean {
    return this.tls !== null;
  }

  /**
   * The socket the connection reads and writes (a TLSSocket over the accepted one for TLS
   * listeners) and its security state. A TLS handshake that fails closes that socket only.
   */
  accept(accepted: Socket): { socket: Socket; security: ConnectionSecurity } {
    const security: ConnectionSecurity = {
      listener: this.spec,
      principal: ANONYMOUS,
      sasl: this.sasl ? new SaslSession(this.sasl, this.now) : null,
    };
    if (!this.tls) return { socket: accepted, security };
    const { secureContext, clientAuth } = this.tls;
    const socket = new TLSSocket(accepted, {
      isServer: true,
      secureContext,
      requestCert: clientAuth !== 'none',
      rejectUnauthorized: clientAuth === 'required',
    });
    socket.once('secure', () => {
      const cert = socket.getPeerX509Certificate();
      if (!cert) return;
      if (!socket.authorized) {
        // requested: a certificate that is sent must verify, as Java's SSLEngine insists.
        this.logger.warn({ listener: this.spec.name, remote: accepted.remoteAddress, reason: String(socket.authorizationError) }, 'client certificate refused');
        socket.destroy();
        return;
      }
      if (this.sasl) return; // SASL_SSL: the principal comes from SASL
      const dn = rfc2253Subject(cert);
      try {
        security.principal = userPrincipal(mapPrincipalName(this.rules, dn));
      } catch (err) {
        this.logger.warn({ listener: this.spec.name, remote: accepted.remoteAddress, reason: (err as Error).message }, 'client certificate maps to no principal');
        socket.destroy();
      }
    });
    return { socket, security };
  }
}
