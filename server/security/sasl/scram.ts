/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as Kafka's ScramSaslServer:
 *   client-first  "n,[a=authzid]," + bare "n=user,r=cnonce[,ext]"   -> server-first "r=cnonce+snonce,s=salt,i=n"
 *   client-final  "c=biws,r=nonce[,ext],p=proof"                    -> server-final "v=signature"
 * The proof is checked as the RFC says: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and
 * H(ClientKey) must equal StoredKey (crypto.timingSafeEqual). Channel binding is not offered ("n"
 * only; "y" is accepted as the RFC allows a client that thinks the server has none). Delegation
 * tokens (the tokenauth extension) are not served. Unknown users fail at the first message with
 * the same message as a wrong password.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SCRAM_MIN_ITERATIONS, scramHash, type ScramMechanism } from './credentials.js';
import { SaslFailure, type CredentialSource, type SaslServer } from './mechanism.js';
import type { StoredCredential } from '../../../storage/users.js';

export class ScramServer implements SaslServer {
  complete = false;
  authorizationId: string | null = null;
  readonly expiresAtMs = null;
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';
  private credential: StoredCredential | null = null;
  private readonly failed: string;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly users: CredentialSource,
    /** The server's part of the nonce (tests give RFC vectors' fixed one). */
    private readonly serverNonce: () => string = () => randomBytes(24).toString('base64url'),
  ) {
    this.failed = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
  }

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.state === 'first') return this.first(token.toString('utf8'));
    if (this.state === 'final') return this.final(token.toString('utf8'));
    throw new SaslFailure(this.failed, 'SCRAM token after completion');
  }

  private async first(message: string): Promise<Buffer> {
    const gs2 = /^([ny]),(a=[^,]*)?,/.exec(message);
    if (!gs2) throw new SaslFailure(this.failed, 'malformed SCRAM client-first message (channel binding or bad GS2 header)');
    this.gs2Header = gs2[0];
    const bare = message.slice(gs2[0].length);
    const attrs = bare.split(',');
    if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=') || attrs[1]!.length < 3) {
      throw new SaslFailure(this.failed, 'malformed SCRAM client-first message');
    }
    const user = decodeSaslName(attrs[0]!.slice(2));
    if (user === null || user === '') throw new SaslFailure(this.failed, 'bad SCRAM user name');
    for (const ext of attrs.slice(2)) {
      if (/^tokenauth=true$/i.test(ext)) throw new SaslFailure(this.failed, `delegation token authentication for ${user} (not served)`);
    }
    const authzid = gs2[2] ? decodeSaslName(gs2[2].slice(2)) : '';
    if (authzid !== '' && authzid !== user) {
      throw new SaslFailure(this.failed, `authorization id differs from user ${user}`);
    }
    const credential = await this.users.credential(user, this.mechanism);
    if (!credential) throw new SaslFailure(this.failed, `unknown ${this.mechanism} user ${user}`);
    if (credential.iterations < SCRAM_MIN_ITERATIONS) throw new SaslFailure(this.failed, `${user}: stored iterations below ${SCRAM_MIN_ITERATIONS}`);
    this.user = user;
    this.credential = credential;
    this.clientFirstBare = bare;
    this.nonce = attrs[1]!.slice(2) + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = 'final';
    return Buffer.from(this.serverFirst, 'utf8');
  }

  private async final(message: string): Promise<Buffer> {
    const credential = this.credential!;
    const at = message.lastIndexOf(',p=');
    if (at < 0) throw new SaslFailure(this.failed, 'SCRAM client-final message without proof');
    const withoutProof = message.slice(0, at);
    const attrs = withoutProof.split(',');
    const binding = attrs[0]?.startsWith('c=') ? attrs[0].slice(2) : null;
    const nonce = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : null;
    if (binding !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) throw new SaslFailure(this.failed, `${this.user}: channel binding mismatch`);
    // Kafka's ScramSaslServer checks endsWith, not equality: librdkafka 2.0 sends its own nonce
    // in front of the combined one, and Kafka accepts it.
    if (nonce === null || !nonce.endsWith(this.nonce)) throw new SaslFailure(this.failed, `${this.user}: nonce mismatch`);
    const { hash, length } = scramHash(this.mechanism);
    const proof = Buffer.from(message.slice(at + 3), 'base64');
    if (proof.length !== length) throw new SaslFailure(this.failed, `${this.user}: proof of ${proof.length} bytes`);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = createHmac(hash, credential.storedKey).update(authMessage).digest();
    const clientKey = Buffer.alloc(length);
    for (let i = 0; i < length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const computed = createHash(hash).update(clientKey).digest();
    if (computed.length !== credential.storedKey.length || !timingSafeEqual(computed, credential.storedKey)) {
      throw new SaslFailure(this.failed, `wrong ${this.mechanism} password for ${this.user}`);
    }
    const serverSignature = createHmac(hash, credential.serverKey).update(authMessage).digest();
    this.state = 'done';
    this.complete = true;
    this.authorizationId = this.user;
    return Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8');
  }
}

/** RFC 5802 saslname: "=2C" is ',', "=3D" is '='; any other '=' makes the name invalid (null). */
export function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}
