/**
 * A test webhook endpoint for push subscriptions: every request is answered by a behaviour
 * chosen per request (status, delay, headers, never), and everything is measured at the server:
 * each request's start and end, its webhook-id, body and headers; requests in flight per path
 * (the most at once) and per webhook-id (two at once = a concurrent duplicate); the Standard
 * Webhooks signature checked against a secret when one is given.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  path: string;
  id: string;
  body: string;
  headers: IncomingMessage['headers'];
  start: number;
  end: number;
  status: number;
  /** The connection closed before an answer (the broker died). */
  aborted: boolean;
  /** The count of requests this path had in flight when this one started (itself included). */
  concurrent: number;
}

export interface Behaviour {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
  /** Never answer (the connection stays open until the client gives up). */
  never?: boolean;
}

export type Decide = (req: { path: string; id: string; body: string; attempt: number; headers: IncomingMessage['headers'] }) => Behaviour;

export class WebhookServer {
  readonly hits: Hit[] = [];
  private server!: Server;
  private readonly inFlightByPath = new Map<string, number>();
  readonly maxInFlightByPath = new Map<string, number>();
  private readonly inFlightById = new Map<string, number>();
  /** webhook-ids seen with two requests at once. */
  readonly concurrentDuplicates: string[] = [];
  readonly badSignatures: string[] = [];
  private readonly attemptsById = new Map<string, number>();
  port = 0;

  constructor(
    private decide: Decide,
    private readonly secrets: Map<string, string> = new Map(),
  ) {}

  setDecide(d: Decide): void {
    this.decide = d;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Hits of one path that were answered 2xx. */
  delivered(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path && h.status >= 200 && h.status < 300);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const start = Date.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const id = String(req.headers['webhook-id'] ?? '');
    const nPath = (this.inFlightByPath.get(path) ?? 0) + 1;
    this.inFlightByPath.set(path, nPath);
    this.maxInFlightByPath.set(path, Math.max(this.maxInFlightByPath.get(path) ?? 0, nPath));
    const nId = (this.inFlightById.get(id) ?? 0) + 1;
    this.inFlightById.set(id, nId);
    if (nId > 1) this.concurrentDuplicates.push(id);
    let finished = false;
    const chunks: Buffer[] = [];
    const hit: Hit = { path, id, body: '', headers: req.headers, start, end: 0, status: 0, aborted: false, concurrent: nPath };
    const finish = (status: number, aborted: boolean) => {
      if (finished) return;
      finished = true;
      hit.end = Date.now();
      hit.status = status;
      hit.aborted = aborted;
      this.hits.push(hit);
      this.inFlightByPath.set(path, (this.inFlightByPath.get(path) ?? 1) - 1);
      this.inFlightById.set(id, (this.inFlightById.get(id) ?? 1) - 1);
    };
    res.on('close', () => finish(0, true));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hit.body = Buffer.concat(chunks).toString('utf8');
      const secret = this.secrets.get(path);
      if (secret !== undefined && !verify(secret, id, String(req.headers['webhook-timestamp'] ?? ''), hit.body, String(req.headers['webhook-signature'] ?? ''))) this.badSignatures.push(id);
      const attempt = (this.attemptsById.get(`${path} ${id}`) ?? 0) + 1;
      this.attemptsById.set(`${path} ${id}`, attempt);
      const b = this.decide({ path, id, body: hit.body, attempt, headers: req.headers });
      if (b.never) return;
      const answer = () => {
        if (finished) return;
        res.writeHead(b.status, { 'content-type': 'text/plain', ...(b.headers ?? {}) });
        res.end(`answer ${b.status}`);
        finish(b.status, false);
      };
      if (b.delayMs) setTimeout(answer, b.delayMs);
      else answer();
    });
  }
}

/** Standard Webhooks verification, written from the specification (not from the broker's code). */
export function verify(secret: string, id: string, timestamp: string, body: string, signature: string): boolean {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return signature.split(' ').some((s) => s === `v1,${expected}`) && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
}

/** The most request starts of `hits` within any window of `ms`. */
export function maxStartsInWindow(hits: readonly Hit[], ms: number): number {
  const starts = hits.map((h) => h.start).sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
