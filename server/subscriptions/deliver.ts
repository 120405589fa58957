/**
 * One HTTP delivery attempt of a push subscription, on Node's http/https with a keep-alive agent
 * per subscription (no library: one request shape, and the agent's socket limit matches the
 * subscription's concurrency). Classifies the outcome the way docs/subscriptions.md says:
 * 2xx delivered; a timeout, a connection error, 429 or 5xx retried (Retry-After honoured);
 * anything else, and more than MAX_REDIRECTS redirects, a permanent failure (dead letter).
 * Redirects (301, 302, 303, 307, 308) are followed with the same method and body up to the bound.
 * Standard Webhooks signing: webhook-id, webhook-timestamp (seconds) and, with a secret,
 * webhook-signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
 */
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export const MAX_REDIRECTS = 3;
/** Response bytes kept for the attempt log. */
export const EXCERPT_BYTES = 512;
/** Response bytes read at most (to keep the connection); a longer body closes the connection. */
const MAX_READ_BYTES = 1 << 20;

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; excerpt: string }
  | { kind: 'retry'; status: number | null; error: string; excerpt: string | null; retryAfterMs: number | null }
  | { kind: 'failed'; status: number | null; error: string; excerpt: string | null };

export interface DeliveryTarget {
  url: string;
  method: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export class Deliverer {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(maxSockets: number) {
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  async deliver(target: DeliveryTarget, headers: Record<string, string>, body: Buffer): Promise<DeliveryOutcome> {
    const deadline = Date.now() + target.timeoutMs;
    let url = target.url;
    for (let hop = 0; ; hop++) {
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'retry', status: null, error: `timeout after ${target.timeoutMs} ms`, excerpt: null, retryAfterMs: null };
      let res: { status: number; headers: IncomingMessage['headers']; excerpt: string };
      try {
        res = await this.once(url, target.method, { ...target.headers, ...headers }, body, left);
      } catch (err) {
        const e = err as Error & { code?: string };
        const timedOut = e.code === 'ETIMEDOUT_DELIVERY';
        return { kind: 'retry', status: null, error: timedOut ? `timeout after ${target.timeoutMs} ms` : `connection error: ${e.code ?? ''} ${e.message}`.trim(), excerpt: null, retryAfterMs: null };
      }
      const s = res.status;
      if (s >= 200 && s < 300) return { kind: 'delivered', status: s, excerpt: res.excerpt };
      if ([301, 302, 303, 307, 308].includes(s)) {
        const location = res.headers.location;
        if (hop >= MAX_REDIRECTS) return { kind: 'failed', status: s, error: `more than ${MAX_REDIRECTS} redirects`, excerpt: res.excerpt };
        if (typeof location !== 'string') return { kind: 'failed', status: s, error: 'redirect without a Location header', excerpt: res.excerpt };
        try {
          const next = new URL(location, url);
          if (next.protocol !== 'http:' && next.protocol !== 'https:') return { kind: 'failed', status: s, error: `redirect to a ${next.protocol} URL`, excerpt: res.excerpt };
          url = next.toString();
        } catch {
          return { kind: 'failed', status: s, error: 'redirect to a malformed URL', excerpt: res.excerpt };
        }
        continue;
      }
      if (s === 429 || s >= 500) return { kind: 'retry', status: s, error: `HTTP ${s}`, excerpt: res.excerpt, retryAfterMs: parseRetryAfter(res.headers['retry-after']) };
      return { kind: 'failed', status: s, error: `HTTP ${s}`, excerpt: res.excerpt };
    }
  }

  private once(url: string, method: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<{ status: number; headers: IncomingMessage['headers']; excerpt: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const https = u.protocol === 'https:';
      const req = (https ? httpsRequest : httpRequest)(u, { method, headers: { ...headers, 'content-length': String(body.length) }, agent: https ? this.https : this.http });
      const timer = setTimeout(() => {
        const err = Object.assign(new Error('timeout'), { code: 'ETIMEDOUT_DELIVERY' });
        req.destroy(err);
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let read = 0;
        res.on('data', (c: Buffer) => {
          read += c.length;
          if (kept < EXCERPT_BYTES) {
            chunks.push(c.subarray(0, EXCERPT_BYTES - kept));
            kept += Math.min(c.length, EXCERPT_BYTES - kept);
          }
          // The answer is known from the status; a huge body is not worth reading.
          if (read > MAX_READ_BYTES) res.destroy();
        });
        const done = () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, excerpt: Buffer.concat(chunks).toString('utf8') });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      req.end(body);
    });
  }
}

/** Retry-After as ms: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined): number | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/** The HMAC key of a Standard Webhooks secret: the base64 after "whsec_", else the text's UTF-8 bytes. */
export function secretKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** webhook-id, webhook-timestamp and (with a key) webhook-signature for one delivery. */
export function webhookHeaders(id: string, body: Buffer, key: Buffer | null, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': timestamp };
  if (key !== null) {
    const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
    headers['webhook-signature'] = `v1,${mac}`;
  }
  return headers;
}
