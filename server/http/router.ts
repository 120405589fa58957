/**
 * The REST router served on the broker's HTTP listener (beside /metrics and /health): matches
 * method and path against the routes of each resource file, reads bounded JSON bodies, and
 * answers errors in Confluent REST Proxy's shape (server/http/errors.ts). Node's http alone:
 * a dozen fixed path patterns do not need a framework.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, RestError, toRestError } from './errors.js';
import type { RestAuthenticator } from './auth.js';
import type { RestCaller, RestContext } from './context.js';
import { ANONYMOUS } from '../security/principal.js';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  rest: RestContext;
  /** The authenticated caller (server/http/auth.ts); the routes' ACL checks are made for it. */
  caller: RestCaller;
}

/** A route's answer: a status and a JSON body (undefined: no body), or null when it wrote the response itself. */
export type RouteResult = { status: number; body?: unknown; contentType?: string } | null;

export interface Route {
  method: string;
  /** Path with {name} segments. */
  path: string;
  handle(r: RouteRequest): Promise<RouteResult>;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

/** A route path with {name} segments as an anchored pattern and the names of its groups, in order. */
export function compilePath(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), names };
}

export class RestRouter {
  private readonly routes: CompiledRoute[];

  constructor(
    private readonly rest: RestContext,
    routes: readonly Route[],
    /** null: every caller is User:ANONYMOUS. */
    private readonly authenticator: RestAuthenticator | null = null,
  ) {
    this.routes = routes.map((route) => ({ ...route, ...compilePath(route.path) }));
  }

  private async authenticated(req: IncomingMessage): Promise<RestCaller> {
    return { principal: this.authenticator ? await this.authenticator.authenticate(req) : ANONYMOUS, host: req.socket.remoteAddress ?? '' };
  }

  /** True when the request was for a REST path (answered or being answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/v3/') && !url.pathname.startsWith('/consumers/') && url.pathname !== '/openapi.json' && url.pathname !== '/v3') return false;
    if (fromAnotherSite(req)) {
      drain(req);
      sendError(res, new RestError(403, 40302, 'cross-site requests are refused: the REST interface does not serve pages of other origins'));
      return true;
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]!);
      });
      this.authenticated(req)
        .then((caller) => route.handle({ req, res, params, query: url.searchParams, rest: this.rest, caller }))
        .then(
          (result) => {
            if (result !== null) sendJson(res, result.status, result.body, result.contentType);
          },
          (err) => {
            const error = toRestError(err);
            if (error.status >= 500) this.rest.broker.logger.error({ err, path: url.pathname }, 'REST request failed');
            sendError(res, error);
          },
        );
      return true;
    }
    drain(req);
    if (this.authenticator) {
      // Authentication first: without it, a 404 or 405 would tell an anonymous client which routes exist.
      this.authenticated(req).then(
        () => sendError(res, pathMatched ? new RestError(405, 405, `HTTP ${req.method} is not allowed on ${url.pathname}`) : new RestError(404, 404, `No REST resource at ${url.pathname}`)),
        (err) => sendError(res, toRestError(err)),
      );
      return true;
    }
    sendError(res, pathMatched ? new RestError(405, 405, `HTTP ${req.method} is not allowed on ${url.pathname}`) : new RestError(404, 404, `No REST resource at ${url.pathname}`));
    return true;
  }
}

/**
 * A browser sends Origin (and Sec-Fetch-Site) with a request another site's page makes; such a
 * request could produce, create topics or move a v2 consumer with the user's loopback access or
 * saved credentials (CSRF), whatever content type it claims. Clients that are not browsers send
 * neither header, and the console is same-origin.
 */
export function fromAnotherSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: RestError): void {
  if (res.headersSent) {
    // Streaming already began: the error goes in the stream as one more object.
    res.end(JSON.stringify(error.body()));
    return;
  }
  // Whatever of the body is still unread is not wanted; closing keeps a big upload from continuing.
  res.setHeader('connection', 'close');
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, error.body());
}

function drain(req: IncomingMessage): void {
  req.resume();
}

/** Reads the whole body, refusing more than `limit` bytes (413) before buffering it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? -1);
  if (declared > limit) throw new RestError(413, 413, `Request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RestError(413, 413, `Request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a JSON body (an object); an empty body is `{}` when allowed. */
export async function readJson(req: IncomingMessage, limit: number, allowEmpty = false): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit);
  if (body.length === 0 && allowEmpty) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`Malformed JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RestError(422, 422, 'The request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Body limit of non-produce requests: socket.request.max.bytes, as for a Kafka request frame. */
export function requestLimit(rest: RestContext): number {
  return rest.broker.config.int('socket.request.max.bytes');
}

// Field checks: a wrong type is a 422 naming the field, before anything is done.
export function optInt(body: Record<string, unknown>, field: string, min = -2147483648): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2147483647) throw new RestError(422, 422, `${field} must be an integer${min > -2147483648 ? ` >= ${min}` : ''}`);
  return v;
}

export function reqString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0) throw new RestError(422, 422, `${field} must be a non-empty string`);
  return v;
}

export function intParam(value: string | null | undefined, name: string, fallback?: number, min = 0): number {
  if (value === null || value === undefined || value === '') {
    if (fallback === undefined) throw badRequest(`${name} is required`);
    return fallback;
  }
  if (!/^-?\d+$/.test(value)) throw badRequest(`${name} must be an integer, got '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw badRequest(`${name} must be an integer >= ${min}`);
  return n;
}
