/**
 * The client side of SASL for client/connection.ts: SaslHandshake v1 then SaslAuthenticate v1
 * (v0 where the broker has nothing newer is not needed: kafka-mysql and Kafka 1.0+ serve v1).
 * PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802/7677, the server's signature checked in constant
 * time, so a broker that does not know the password cannot pass as one) and OAUTHBEARER with a
 * token the caller already has.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type SaslCredentials =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | { mechanism: 'OAUTHBEARER'; token: string };

export class SaslAuthenticationError extends Error {
  override name = 'SaslAuthenticationError';
}

/** What the handshake needs of a connection: one request at a time, decoded. */
export interface SaslTransport {
  request(apiKey: 17, version: number, body: { mechanism: string }): Promise<{ errorCode: number; mechanisms: string[] }>;
  request(apiKey: 36, version: number, body: { authBytes: Buffer }): Promise<{ errorCode: number; errorMessage: string | null; authBytes: Buffer }>;
}

export async function authenticate(connection: SaslTransport, credentials: SaslCredentials): Promise<void> {
  const handshake = await connection.request(17, 1, { mechanism: credentials.mechanism });
  if (handshake.errorCode !== 0) {
    throw new SaslAuthenticationError(`the broker does not offer SASL ${credentials.mechanism} (it offers ${handshake.mechanisms.join(', ') || 'none'})`);
  }
  const step = async (token: Buffer): Promise<Buffer> => {
    const answer = await connection.request(36, 1, { authBytes: token });
    if (answer.errorCode !== 0) throw new SaslAuthenticationError(answer.errorMessage ?? `SASL authentication failed (error ${answer.errorCode})`);
    return answer.authBytes;
  };
  switch (credentials.mechanism) {
    case 'PLAIN':
      await step(Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8'));
      return;
    case 'OAUTHBEARER': {
      const answer = await step(Buffer.from(`n,,\u0001auth=Bearer ${credentials.token}\u0001\u0001`, 'utf8'));
      // An error challenge: RFC 7628 has the client answer %x01, and the broker then fails the exchange.
      if (answer.length > 0) await step(Buffer.from([1]));
      return;
    }
    default:
      return scram(credentials.mechanism, credentials.username, credentials.password, step);
  }
}

async function scram(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string, step: (token: Buffer) => Promise<Buffer>): Promise<void> {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const length = hash === 'sha256' ? 32 : 64;
  const clientNonce = randomBytes(24).toString('base64url');
  const bare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${bare}`, 'utf8'))).toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
  const nonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length || salt.length === 0 || !Number.isInteger(iterations) || iterations < 4096) {
    throw new SaslAuthenticationError(`malformed ${mechanism} server-first message`);
  }
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, length, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(length);
  for (let i = 0; i < length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  const serverFinal = (await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8');
  const expected = createHmac(hash, createHmac(hash, salted).update('Server Key').digest()).update(authMessage).digest();
  const got = Buffer.from(serverFinal.startsWith('v=') ? serverFinal.slice(2) : '', 'base64');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new SaslAuthenticationError(`the broker's ${mechanism} signature does not verify`);
}
