/**
 * What a SASL mechanism's server side does (Kafka's SaslServer): evaluate each client token and
 * answer one, until complete. A failure throws SaslFailure with the message the client is told
 * (never the reason, which only the broker's log has: no secret, no "user exists").
 */
import type { StoredCredential } from '../../../storage/users.js';

export interface SaslServer {
  readonly mechanism: string;
  evaluate(token: Buffer): Promise<Buffer>;
  readonly complete: boolean;
  /** The authenticated user name, once complete. */
  readonly authorizationId: string | null;
  /** OAUTHBEARER: when the token expires (ms since the epoch), bounding the session; otherwise null. */
  readonly expiresAtMs: number | null;
}

export class SaslFailure extends Error {
  override name = 'SaslFailure';
  /**
   * @param clientMessage what SaslAuthenticate's error_message says
   * @param reason what the broker logs (a user name at most, never a secret)
   */
  constructor(
    readonly clientMessage: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Where mechanisms find credentials: MySQL (storage/users.ts), plus users declared in the JAAS config for PLAIN. */
export interface CredentialSource {
  credential(user: string, mechanism: string): Promise<StoredCredential | null>;
}

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export const SUPPORTED_MECHANISMS: readonly string[] = ['PLAIN', ...SCRAM_MECHANISMS, 'OAUTHBEARER'];
