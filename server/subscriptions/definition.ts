/**
 * A push subscription's definition (docs/subscriptions.md): the JSON shape REST takes and
 * describe shows (snake_case), checked and normalised here for REST and the CLI alike, and the
 * typed form the delivery engine uses. Stored as the normalised JSON text.
 */
export class SpecError extends Error {
  override name = 'SpecError';
}

export type Ordering = 'partition' | 'key' | 'none';
export type BodyFormat = 'json' | 'raw';

export interface SubscriptionSpec {
  topics: string[];
  filter: { headerName: string | null; headerValue: string | null; keyPrefix: string | null } | null;
  endpoint: { url: string; method: string; headers: Record<string, string>; timeoutMs: number };
  bodyFormat: BodyFormat;
  ordering: Ordering;
  maxConcurrency: number;
  /** Requests per second; null: no limit. */
  rateLimit: number | null;
  retry: { initialBackoffMs: number; maxBackoffMs: number; multiplier: number; maxAttempts: number; maxAgeMs: number };
  after: string | null;
  deadLetterTopic: string | null;
  /** Standard Webhooks signing secret ("whsec_" + base64, or any other text used as UTF-8 bytes). */
  secret: string | null;
  startFrom: 'latest' | 'earliest';
}

export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;
const METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Headers the delivery sets itself. */
const RESERVED = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-length', 'host', 'connection', 'transfer-encoding']);

export const DEFAULTS = {
  method: 'POST',
  timeoutMs: 10_000,
  maxConcurrency: 4,
  ordering: 'partition' as Ordering,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  multiplier: 2,
  maxAttempts: 10,
  maxAgeMs: 86_400_000,
};

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw new SpecError('name must be 1-200 characters of letters, digits, ".", "_" and "-"');
  return name;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(`${field} must be an object`);
  return v as Record<string, unknown>;
}

function int(v: unknown, field: string, fallback: number, min: number, max: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SpecError(`${field} must be an integer from ${min} to ${max}`);
  return v;
}

function str(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new SpecError(`${field} must be a string`);
  return v;
}

/** Checks a definition body (REST's JSON) and fills the defaults; SpecError names the bad field. */
export function parseSpec(body: Record<string, unknown>): SubscriptionSpec {
  const rawTopics = body.topics ?? (body.topic !== undefined ? [body.topic] : undefined);
  if (!Array.isArray(rawTopics) || rawTopics.length === 0 || rawTopics.some((t) => typeof t !== 'string' || t.length === 0)) throw new SpecError('topics must be a non-empty array of topic names');
  const topics = [...new Set(rawTopics as string[])];
  let filter: SubscriptionSpec['filter'] = null;
  if (body.filter !== undefined && body.filter !== null) {
    const f = obj(body.filter, 'filter');
    filter = { headerName: str(f.header_name, 'filter.header_name'), headerValue: str(f.header_value, 'filter.header_value'), keyPrefix: str(f.key_prefix, 'filter.key_prefix') };
    if (filter.headerName === null && filter.keyPrefix === null) throw new SpecError('filter needs header_name or key_prefix');
    if (filter.headerValue !== null && filter.headerName === null) throw new SpecError('filter.header_value needs filter.header_name');
  }
  const e = obj(body.endpoint, 'endpoint');
  const url = str(e.url, 'endpoint.url');
  let parsed: URL;
  try {
    parsed = new URL(url ?? '');
  } catch {
    throw new SpecError('endpoint.url must be an absolute http or https URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SpecError('endpoint.url must be an http or https URL');
  const method = (str(e.method, 'endpoint.method') ?? DEFAULTS.method).toUpperCase();
  if (!METHODS.has(method)) throw new SpecError('endpoint.method must be POST, PUT or PATCH');
  const headers: Record<string, string> = {};
  if (e.headers !== undefined && e.headers !== null) {
    for (const [k, v] of Object.entries(obj(e.headers, 'endpoint.headers'))) {
      if (typeof v !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n]/.test(v)) throw new SpecError(`endpoint.headers.${k} must be a valid header name with a string value`);
      if (RESERVED.has(k.toLowerCase())) throw new SpecError(`endpoint.headers may not set ${k} (the delivery sets it)`);
      headers[k] = v;
    }
  }
  const timeoutMs = int(e.timeout_ms, 'endpoint.timeout_ms', DEFAULTS.timeoutMs, 100, 600_000);
  const bodyFormat = (str(body.body_format, 'body_format') ?? 'json') as BodyFormat;
  if (bodyFormat !== 'json' && bodyFormat !== 'raw') throw new SpecError('body_format must be json or raw');
  const ordering = (str(body.ordering, 'ordering') ?? DEFAULTS.ordering) as Ordering;
  if (ordering !== 'partition' && ordering !== 'key' && ordering !== 'none') throw new SpecError('ordering must be partition, key or none');
  const maxConcurrency = int(body.max_concurrency, 'max_concurrency', DEFAULTS.maxConcurrency, 1, 1000);
  let rateLimit: number | null = null;
  if (body.rate_limit_per_second !== undefined && body.rate_limit_per_second !== null) {
    const r = body.rate_limit_per_second;
    if (typeof r !== 'number' || !(r > 0) || r > 100_000) throw new SpecError('rate_limit_per_second must be a number above 0 and at most 100000');
    rateLimit = r;
  }
  const rr = body.retry === undefined || body.retry === null ? {} : obj(body.retry, 'retry');
  const initialBackoffMs = int(rr.initial_backoff_ms, 'retry.initial_backoff_ms', DEFAULTS.initialBackoffMs, 1, 86_400_000);
  const maxBackoffMs = int(rr.max_backoff_ms, 'retry.max_backoff_ms', Math.max(DEFAULTS.maxBackoffMs, initialBackoffMs), initialBackoffMs, 86_400_000);
  const multiplier = rr.multiplier === undefined || rr.multiplier === null ? DEFAULTS.multiplier : rr.multiplier;
  if (typeof multiplier !== 'number' || !(multiplier >= 1) || multiplier > 100) throw new SpecError('retry.multiplier must be a number from 1 to 100');
  const maxAttempts = int(rr.max_attempts ?? body.max_attempts, 'retry.max_attempts', DEFAULTS.maxAttempts, 1, 1000);
  const maxAgeMs = int(rr.max_age_ms, 'retry.max_age_ms', DEFAULTS.maxAgeMs, 1, 2_147_483_647);
  const after = str(body.after, 'after');
  if (after !== null) checkName(after);
  const deadLetterTopic = str(body.dead_letter_topic, 'dead_letter_topic');
  if (deadLetterTopic !== null && topics.includes(deadLetterTopic)) throw new SpecError('dead_letter_topic must not be one of the source topics');
  const secret = str(body.secret, 'secret');
  if (secret !== null && secret.length < 8) throw new SpecError('secret must be at least 8 characters');
  const startFrom = str(body.start_from, 'start_from') ?? 'latest';
  if (startFrom !== 'latest' && startFrom !== 'earliest') throw new SpecError('start_from must be latest or earliest');
  return {
    topics,
    filter,
    endpoint: { url: parsed.toString(), method, headers, timeoutMs },
    bodyFormat,
    ordering,
    maxConcurrency,
    rateLimit,
    retry: { initialBackoffMs, maxBackoffMs, multiplier, maxAttempts, maxAgeMs },
    after,
    deadLetterTopic,
    secret,
    startFrom,
  };
}

/** The REST/stored JSON of a definition; the secret only when `withSecret` (storage), else whether one is set. */
export function specJson(s: SubscriptionSpec, withSecret: boolean): Record<string, unknown> {
  return {
    topics: s.topics,
    filter: s.filter === null ? null : { header_name: s.filter.headerName, header_value: s.filter.headerValue, key_prefix: s.filter.keyPrefix },
    endpoint: { url: s.endpoint.url, method: s.endpoint.method, headers: s.endpoint.headers, timeout_ms: s.endpoint.timeoutMs },
    body_format: s.bodyFormat,
    ordering: s.ordering,
    max_concurrency: s.maxConcurrency,
    rate_limit_per_second: s.rateLimit,
    retry: { initial_backoff_ms: s.retry.initialBackoffMs, max_backoff_ms: s.retry.maxBackoffMs, multiplier: s.retry.multiplier, max_attempts: s.retry.maxAttempts, max_age_ms: s.retry.maxAgeMs },
    after: s.after,
    dead_letter_topic: s.deadLetterTopic,
    ...(withSecret ? { secret: s.secret } : { secret_set: s.secret !== null }),
    start_from: s.startFrom,
  };
}

export function readStoredSpec(text: string): SubscriptionSpec {
  return parseSpec(JSON.parse(text) as Record<string, unknown>);
}
