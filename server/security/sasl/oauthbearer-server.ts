/**
 * SASL OAUTHBEARER (RFC 7628) as Kafka's OAuthBearerSaslServer: the client's first message
 * "n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01]*\x01" carries the token. A token that
 * does not validate is answered, as the RFC and Kafka do, with a JSON error challenge
 * {"status":"invalid_token"}; the client's "\x01" that follows ends the exchange with
 * SASL_AUTHENTICATION_FAILED. The session lasts no longer than the token (exp).
 */
import type { OauthValidator } from './oauthbearer.js';
import { SaslFailure, type SaslServer } from './mechanism.js';

const FAILED = 'Authentication failed: the OAUTHBEARER token was refused';

export class OauthBearerServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER';
  complete = false;
  authorizationId: string | null = null;
  expiresAtMs: number | null = null;
  private pendingFailure: string | null = null;

  constructor(private readonly validate: OauthValidator) {}

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.pendingFailure !== null) throw new SaslFailure(FAILED, this.pendingFailure);
    const message = token.toString('utf8');
    const match = /^([ny]),(a=[^,]*)?,\x01(.*)\x01\x01$/s.exec(message);
    if (!match) throw new SaslFailure('Invalid OAUTHBEARER client first message', 'malformed OAUTHBEARER message');
    const fields = new Map<string, string>();
    for (const kv of match[3]!.split('\x01')) {
      const eq = kv.indexOf('=');
      if (eq > 0) fields.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    const auth = /^Bearer\s+(\S+)$/i.exec(fields.get('auth') ?? '');
    if (!auth) throw new SaslFailure('Invalid OAUTHBEARER client first message', 'no bearer token');
    try {
      const valid = await this.validate(auth[1]!);
      const authzid = match[2] ? match[2].slice(2) : '';
      if (authzid !== '' && authzid !== valid.principal) throw new Error('authorization id differs from the token\'s principal');
      this.complete = true;
      this.authorizationId = valid.principal;
      this.expiresAtMs = valid.expiresAtMs;
      return Buffer.alloc(0);
    } catch (err) {
      this.pendingFailure = `token refused: ${(err as Error).message}`;
      return Buffer.from(JSON.stringify({ status: 'invalid_token' }), 'utf8');
    }
  }
}
