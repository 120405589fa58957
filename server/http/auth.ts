/**
 * Who is calling the REST interface: the same users as the Kafka listeners (docs/http.md,
 * authentication). In order:
 *   - `Authorization: Basic` with a user in MySQL: the password is checked by deriving the
 *     user's SCRAM keys with the stored salt and iterations and comparing StoredKey (SCRAM-SHA-512,
 *     then SCRAM-SHA-256), or against the PLAIN hash; or a PLAIN user declared in a listener's
 *     JAAS config (`user_NAME="password"`). Constant-time comparisons; an unknown user costs the
 *     same hashing as a known one.
 *   - `Authorization: Bearer` with a token validated as OAUTHBEARER tokens are (server/security's
 *     JWT validator, the same sasl.oauthbearer.* keys).
 *   - a verified client certificate on an https:// HTTP listener (ssl.client.auth), mapped to a
 *     principal with ssl.principal.mapping.rules, as on an SSL listener.
 *   - else User:ANONYMOUS, only when authentication is not required.
 * Authentication is required when rest.authentication.method names a method, and always when
 * every Kafka listener requires it (SASL, or SSL with ssl.client.auth=required): REST is never
 * an anonymous way around the Kafka listeners' authentication. Failures are 401 with
 * WWW-Authenticate, answered after connection.failed.authentication.delay.ms, logged without
 * secrets and counted. A verified password is remembered for rest.authentication.cache.ms (keyed
 * by an HMAC of it under a per-process random key), so each request does not pay PBKDF2.
 */
import { createHmac, pbkdf2, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { StoredCredential, UserStore } from '../../storage/users.js';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import { isSasl, type ListenerSpec } from '../config/listeners.js';
import type { MetricsRegistry } from '../metrics.js';
import { ANONYMOUS, userPrincipal, type KafkaPrincipal } from '../security/principal.js';
import { jaasPlainUsers } from '../security/sasl/jaas.js';
import { createOauthValidator, type OauthValidator } from '../security/sasl/oauthbearer.js';
import { constantTimeEquals } from '../security/sasl/plain.js';
import { scramCredential, scramHash, verifyPlain, type ScramMechanism } from '../security/sasl/credentials.js';
import { mapPrincipalName, parseMappingRules, rfc2253Subject } from '../security/ssl-principal.js';
import { listenerValue } from '../security/tls.js';
import { RestError } from './errors.js';

const pbkdf2Async = promisify(pbkdf2);

/** The name under which the HTTP listener's own keys are looked up: listener.name.http.<key>. */
export const HTTP_LISTENER_NAME = 'HTTP';

export type RestAuthMethod = 'BASIC' | 'BEARER';

export interface RestAuthSettings {
  /** Methods accepted in the Authorization header. */
  methods: RestAuthMethod[];
  /** A request without credentials (and without a client certificate) is refused. */
  required: boolean;
  realm: string;
  cacheMs: number;
  failedDelayMs: number;
}

/** Whether a Kafka listener lets a client in without credentials (PLAINTEXT; SSL without required client certificates). */
function allowsAnonymous(config: BrokerConfig, spec: ListenerSpec): boolean {
  if (isSasl(spec.protocol)) return false;
  if (spec.protocol === 'SSL') return (listenerValue(config, spec.name, 'ssl.client.auth') ?? 'none').toLowerCase() !== 'required';
  return true;
}

/** The REST authentication settings from the broker's configuration; `httpClientAuthRequired`: the https listener insists on a certificate. */
export function restAuthSettings(config: BrokerConfig, httpClientAuthRequired: boolean): RestAuthSettings {
  const kafkaRequires = config.listeners.length > 0 && config.listeners.every((l) => !allowsAnonymous(config, l));
  const raw = (config.string('rest.authentication.method') ?? '').trim();
  const named = raw === '' ? [] : raw.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
  for (const m of named) {
    if (m !== 'NONE' && m !== 'BASIC' && m !== 'BEARER') throw new ConfigError(`'rest.authentication.method' must be NONE, BASIC, BEARER or BASIC,BEARER, got '${raw}'`);
  }
  if (named.includes('NONE') && named.length > 1) throw new ConfigError(`'rest.authentication.method': NONE cannot be combined with other methods`);
  let methods: RestAuthMethod[];
  if (named.length === 0) {
    // Follow the Kafka listeners: Basic for password mechanisms (and always: users may exist in MySQL), Bearer where OAUTHBEARER is enabled.
    const mechanisms = new Set(config.listeners.filter((l) => isSasl(l.protocol)).flatMap((l) => (listenerValue(config, l.name, 'sasl.enabled.mechanisms') ?? '').split(',').map((m) => m.trim().toUpperCase())));
    methods = ['BASIC'];
    if (mechanisms.has('OAUTHBEARER') || oauthConfigured(config)) methods.push('BEARER');
  } else methods = named.filter((m): m is RestAuthMethod => m !== 'NONE');
  if (named.includes('NONE') && kafkaRequires && !httpClientAuthRequired) {
    throw new ConfigError(
      `'rest.authentication.method' is NONE but every Kafka listener requires authentication: the REST interface would let anonymous clients in (use BASIC or BEARER, or an https metrics.listener with listener.name.http.ssl.client.auth=required)`,
    );
  }
  return {
    methods,
    required: kafkaRequires || (named.length > 0 && !named.includes('NONE')),
    realm: config.string('rest.authentication.realm') ?? 'kafka-mysql',
    cacheMs: config.int('rest.authentication.cache.ms'),
    failedDelayMs: config.int('connection.failed.authentication.delay.ms'),
  };
}

function oauthConfigured(config: BrokerConfig): boolean {
  return !!(listenerValue(config, HTTP_LISTENER_NAME, 'sasl.oauthbearer.jwks.endpoint.url') || listenerValue(config, HTTP_LISTENER_NAME, 'sasl.oauthbearer.unsecured.tokens.allowed') === 'true');
}

/** An OAUTHBEARER setting for REST: listener.name.http.<key>, the broker-wide key, else the first SASL listener offering OAUTHBEARER's own. */
function oauthValue(config: BrokerConfig, key: string): string | null {
  const own = listenerValue(config, HTTP_LISTENER_NAME, key);
  if (own !== null && own !== '') return own;
  for (const l of config.listeners) {
    if (!isSasl(l.protocol)) continue;
    if (!(listenerValue(config, l.name, 'sasl.enabled.mechanisms') ?? '').toUpperCase().includes('OAUTHBEARER')) continue;
    const v = listenerValue(config, l.name, key);
    if (v !== null && v !== '') return v;
  }
  return null;
}

/** Every PLAIN user declared in a listener's JAAS config (listener.name.<l>.plain.sasl.jaas.config). */
function declaredPlainUsers(config: BrokerConfig): Map<string, string> {
  const users = new Map<string, string>();
  for (const l of config.listeners) {
    for (const [name, password] of jaasPlainUsers(config.get(`listener.name.${l.name.toLowerCase()}.plain.sasl.jaas.config`))) if (!users.has(name)) users.set(name, password);
  }
  return users;
}

/** Hashed against when the user is unknown, so timing does not tell known users from others. */
const DUMMY_SCRAM = scramCredential('SCRAM-SHA-512', randomBytes(16).toString('hex'));
/** Most remembered passwords (oldest dropped first). */
const CACHE_ENTRIES = 10_000;

export class RestAuthenticator {
  private readonly plainUsers: Map<string, string>;
  private readonly oauth: OauthValidator | null;
  private readonly rules: ReturnType<typeof parseMappingRules>;
  private readonly cacheKey = randomBytes(32);
  /** HMAC(user NUL password) -> user, and until when. */
  private readonly verified = new Map<string, { user: string; until: number }>();
  private readonly counter: { inc(labels: Record<string, string>): void } | null;

  constructor(
    config: BrokerConfig,
    readonly settings: RestAuthSettings,
    private readonly users: UserStore | null,
    private readonly logger: Logger,
    registry: MetricsRegistry | null,
    private readonly now: () => number = Date.now,
  ) {
    this.plainUsers = declaredPlainUsers(config);
    this.oauth = settings.methods.includes('BEARER') ? createOauthValidator((key) => oauthValue(config, key), logger, now) : null;
    try {
      this.rules = parseMappingRules(listenerValue(config, HTTP_LISTENER_NAME, 'ssl.principal.mapping.rules') ?? 'DEFAULT');
    } catch (err) {
      throw new ConfigError(`'ssl.principal.mapping.rules': ${(err as Error).message}`);
    }
    const c = registry?.counter('kafka_mysql_rest_authentications_total', 'REST authentications by method (basic, bearer, certificate) and result (success, failure).', ['method', 'result']);
    this.counter = c ? { inc: (labels) => c.inc(labels) } : null;
  }

  /** The caller's principal, or a 401 RestError (after the failed-authentication delay when credentials were wrong). */
  async authenticate(req: IncomingMessage): Promise<KafkaPrincipal> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const space = header.indexOf(' ');
      const scheme = (space < 0 ? header : header.slice(0, space)).toUpperCase();
      const credentials = space < 0 ? '' : header.slice(space + 1).trim();
      if ((scheme === 'BASIC' || scheme === 'BEARER') && this.settings.methods.includes(scheme)) {
        const method = scheme.toLowerCase();
        try {
          const principal = scheme === 'BASIC' ? await this.basic(credentials) : await this.bearer(credentials);
          this.counter?.inc({ method, result: 'success' });
          return principal;
        } catch (err) {
          this.counter?.inc({ method, result: 'failure' });
          this.logger.info({ method, remote: req.socket.remoteAddress, reason: (err as Error).message }, 'REST authentication failed');
          await delay(this.settings.failedDelayMs);
          throw this.unauthorized('Authentication failed: invalid credentials');
        }
      }
      throw this.unauthorized(`Authorization scheme ${scheme} is not accepted here (accepted: ${this.settings.methods.join(', ')})`);
    }
    const cert = this.certificatePrincipal(req);
    if (cert) return cert;
    if (this.settings.required) throw this.unauthorized('Authentication required');
    return ANONYMOUS;
  }

  private certificatePrincipal(req: IncomingMessage): KafkaPrincipal | null {
    const socket = req.socket as Partial<TLSSocket>;
    if (typeof socket.getPeerX509Certificate !== 'function' || !socket.authorized) return null;
    const cert = socket.getPeerX509Certificate();
    if (!cert) return null;
    try {
      const principal = userPrincipal(mapPrincipalName(this.rules, rfc2253Subject(cert)));
      this.counter?.inc({ method: 'certificate', result: 'success' });
      return principal;
    } catch (err) {
      this.counter?.inc({ method: 'certificate', result: 'failure' });
      this.logger.info({ remote: req.socket.remoteAddress, reason: (err as Error).message }, 'REST client certificate maps to no principal');
      return null;
    }
  }

  private unauthorized(message: string): RestError {
    const error = new RestError(401, 40101, message);
    error.headers = { 'www-authenticate': this.settings.methods.map((m) => `${m === 'BASIC' ? 'Basic' : 'Bearer'} realm="${this.settings.realm}"`).join(', ') };
    return error;
  }

  private async bearer(token: string): Promise<KafkaPrincipal> {
    if (!this.oauth || token === '') throw new Error('no bearer token');
    // exp (with sasl.oauthbearer.clock.skew.seconds), signature, issuer and audience: the validator's checks.
    const valid = await this.oauth(token);
    return userPrincipal(valid.principal);
  }

  private async basic(encoded: string): Promise<KafkaPrincipal> {
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new Error('malformed Basic credentials');
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    if (password === '') throw new Error(`empty password for ${user}`);
    const key = createHmac('sha256', this.cacheKey).update(user).update('\0').update(password).digest('base64');
    const now = this.now();
    const hit = this.verified.get(key);
    if (hit && hit.until > now && hit.user === user) return userPrincipal(user);
    if (!(await this.verifyPassword(user, password))) throw new Error(`wrong password or unknown user ${user}`);
    if (this.settings.cacheMs > 0) {
      if (this.verified.size >= CACHE_ENTRIES) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(key, { user, until: now + this.settings.cacheMs });
    }
    return userPrincipal(user);
  }

  private async verifyPassword(user: string, password: string): Promise<boolean> {
    const declared = this.plainUsers.get(user);
    if (declared !== undefined) return constantTimeEquals(declared, password);
    const stored = this.users ? ((await this.users.list([user])).get(user) ?? []) : [];
    const pick = (m: string) => stored.find((c) => c.mechanism === m) ?? null;
    const scram = pick('SCRAM-SHA-512') ?? pick('SCRAM-SHA-256');
    if (scram) return verifyScram(scram, password);
    const plain = pick('PLAIN');
    if (plain) return verifyPlain(plain, password);
    // Unknown user: the same work as a known one, then no.
    await verifyScram(DUMMY_SCRAM, password);
    return false;
  }
}

/** Whether `password` derives the stored SCRAM key: StoredKey = H(HMAC(Hi(password, salt, i), "Client Key")). */
export async function verifyScram(credential: StoredCredential, password: string): Promise<boolean> {
  const { hash, length } = scramHash(credential.mechanism as ScramMechanism);
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), credential.salt, credential.iterations, length, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  return storedKey.length === credential.storedKey.length && timingSafeEqual(storedKey, credential.storedKey);
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
