/**
 * SASL PLAIN (RFC 4616) as Kafka's PlainSaslServer: one token "[authzid] NUL authcid NUL passwd";
 * an authorization id other than the user name is refused. The password is checked against the
 * user's salted hash in MySQL, or against a user declared in the listener's JAAS config
 * (`user_NAME="password"`, Kafka's PlainServerCallbackHandler), compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { plainCredential, verifyPlain } from './credentials.js';
import { SaslFailure, type CredentialSource, type SaslServer } from './mechanism.js';

const INVALID = 'Authentication failed: Invalid username or password';
/** Hashed against when the user is unknown. */
const DUMMY = plainCredential('unused');

export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  complete = false;
  authorizationId: string | null = null;
  readonly expiresAtMs = null;

  constructor(
    private readonly users: CredentialSource,
    /** JAAS user_NAME="password" entries of the listener's PLAIN config. */
    private readonly jaasUsers: ReadonlyMap<string, string>,
  ) {}

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.complete) throw new SaslFailure('Authentication failed: unexpected token after completion', 'token after completion');
    const text = token.toString('utf8');
    const parts = text.split('\u0000');
    if (parts.length !== 3) throw new SaslFailure('Invalid SASL/PLAIN response: expected 3 tokens, got ' + parts.length, 'malformed PLAIN token');
    const [authzid, user, password] = parts as [string, string, string];
    if (user === '') throw new SaslFailure('Authentication failed: username not specified', 'empty user name');
    if (password === '') throw new SaslFailure('Authentication failed: password not specified', `empty password for ${user}`);
    if (authzid !== '' && authzid !== user) {
      throw new SaslFailure('Authentication failed: Client requested an authorization id that is different from username', `authorization id differs for ${user}`);
    }
    const declared = this.jaasUsers.get(user);
    let ok = false;
    if (declared !== undefined) ok = constantTimeEquals(declared, password);
    else {
      const stored = await this.users.credential(user, 'PLAIN');
      // An unknown user costs the same hashing as a known one, so timing does not tell them apart.
      ok = (await verifyPlain(stored ?? DUMMY, password)) && stored !== null;
      if (stored === null) throw new SaslFailure(INVALID, `unknown PLAIN user ${user}`);
    }
    if (!ok) throw new SaslFailure(INVALID, `wrong password for ${user}`);
    this.complete = true;
    this.authorizationId = user;
    return Buffer.alloc(0);
  }
}

/** Equal strings in time independent of where they differ (hashes first, so lengths do not show). */
export function constantTimeEquals(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}
