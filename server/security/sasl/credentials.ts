/**
 * Deriving what the user store keeps from a password. SCRAM (RFC 5802): SaltedPassword =
 * Hi(password, salt, i) (PBKDF2 with HMAC of the mechanism's hash), StoredKey = H(HMAC(SaltedPassword,
 * "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"); the password and SaltedPassword are
 * never stored. PLAIN: PBKDF2-HMAC-SHA-512 of the password with its own salt. Passwords are
 * taken as UTF-8 without SASLprep, as Kafka's ScramFormatter does.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
import type { StoredCredential } from '../../../storage/users.js';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export function scramHash(mechanism: ScramMechanism): { hash: 'sha256' | 'sha512'; length: number } {
  return mechanism === 'SCRAM-SHA-256' ? { hash: 'sha256', length: 32 } : { hash: 'sha512', length: 64 };
}

/** Kafka's limits on SCRAM iterations (ScramMechanism.minIterations, AlterUserScramCredentials' maximum). */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
export const PLAIN_ITERATIONS = 10000;

export function scramKeysFromSaltedPassword(mechanism: ScramMechanism, salt: Buffer, saltedPassword: Buffer, iterations: number): StoredCredential {
  const { hash } = scramHash(mechanism);
  const clientKey = createHmac(hash, saltedPassword).update('Client Key').digest();
  return {
    mechanism,
    salt,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, saltedPassword).update('Server Key').digest(),
    iterations,
  };
}

export function scramCredential(mechanism: ScramMechanism, password: string, iterations = SCRAM_MIN_ITERATIONS, salt = randomBytes(32)): StoredCredential {
  const { hash, length } = scramHash(mechanism);
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, length, hash);
  return scramKeysFromSaltedPassword(mechanism, salt, salted, iterations);
}

export function plainCredential(password: string, salt = randomBytes(32), iterations = PLAIN_ITERATIONS): StoredCredential {
  return { mechanism: 'PLAIN', salt, storedKey: plainHash(password, salt, iterations), serverKey: Buffer.alloc(0), iterations };
}

function plainHash(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 64, 'sha512');
}

/** Whether `password` is the one a PLAIN credential was made from; constant time in the hash, off the event loop. */
export async function verifyPlain(credential: StoredCredential, password: string): Promise<boolean> {
  const computed = await pbkdf2Async(Buffer.from(password, 'utf8'), credential.salt, credential.iterations, 64, 'sha512');
  return computed.length === credential.storedKey.length && timingSafeEqual(computed, credential.storedKey);
}
