/**
 * OAUTHBEARER token validation (Kafka's OAuthBearerValidatorCallbackHandler, on the `jose`
 * library for JWS/JWKS: well kept, no dependencies). Signed JWTs are checked against a JWKS
 * from sasl.oauthbearer.jwks.endpoint.url (https:// fetched and cached by jose, refreshed on an
 * unknown key id; file:// read once at start), with exp required, iss and aud checked when
 * configured, sasl.oauthbearer.clock.skew.seconds of tolerance, and the principal read from
 * sasl.oauthbearer.sub.claim.name. Unsigned tokens (alg none, what Kafka's default unsecured
 * validator accepts) only with sasl.oauthbearer.unsecured.tokens.allowed=true; without either,
 * every token is refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, UnsecuredJWT, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/index.js';

export interface ValidatedToken {
  principal: string;
  /** exp, ms since the epoch. */
  expiresAtMs: number;
}

export type OauthValidator = (token: string) => Promise<ValidatedToken>;

export function createOauthValidator(get: (key: string) => string | null, logger: Logger, now: () => number): OauthValidator {
  const skew = Number(get('sasl.oauthbearer.clock.skew.seconds') ?? '30');
  const issuer = get('sasl.oauthbearer.expected.issuer') ?? undefined;
  const audienceList = get('sasl.oauthbearer.expected.audience');
  const audience = audienceList ? audienceList.split(',').map((a) => a.trim()).filter(Boolean) : undefined;
  const subClaim = get('sasl.oauthbearer.sub.claim.name') ?? 'sub';
  const url = get('sasl.oauthbearer.jwks.endpoint.url');
  const options = { issuer, audience, clockTolerance: skew, currentDate: undefined as Date | undefined };

  const principalOf = (payload: JWTPayload): ValidatedToken => {
    if (typeof payload.exp !== 'number') throw new Error('token has no exp claim');
    const sub = payload[subClaim];
    if (typeof sub !== 'string' || sub === '') throw new Error(`token has no ${subClaim} claim`);
    return { principal: sub, expiresAtMs: payload.exp * 1000 };
  };

  if (url) {
    let keys: ReturnType<typeof createLocalJWKSet> | ReturnType<typeof createRemoteJWKSet>;
    if (url.startsWith('file:')) {
      try {
        keys = createLocalJWKSet(JSON.parse(readFileSync(fileURLToPath(url), 'utf8')));
      } catch (err) {
        throw new ConfigError(`'sasl.oauthbearer.jwks.endpoint.url': cannot read ${url}: ${(err as Error).message}`);
      }
    } else if (url.startsWith('https:') || url.startsWith('http:')) {
      keys = createRemoteJWKSet(new URL(url));
    } else {
      throw new ConfigError(`'sasl.oauthbearer.jwks.endpoint.url' must be an https:// URL or a file:// path, got '${url}'`);
    }
    return async (token) => {
      const { payload } = await jwtVerify(token, keys, { ...options, currentDate: new Date(now()) });
      return principalOf(payload);
    };
  }
  if (get('sasl.oauthbearer.unsecured.tokens.allowed') === 'true') {
    logger.warn('OAUTHBEARER accepts unsigned tokens (sasl.oauthbearer.unsecured.tokens.allowed): for tests only');
    return async (token) => {
      const { payload } = UnsecuredJWT.decode(token, { ...options, currentDate: new Date(now()) });
      return principalOf(payload);
    };
  }
  return async () => {
    throw new Error('no token validator configured (sasl.oauthbearer.jwks.endpoint.url)');
  };
}
