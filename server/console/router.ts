/**
 * The console's routes: matching, principal and JSON answers. Errors use the REST interface's
 * shape (server/http/errors.ts), so a Kafka error keeps its code and name and maps to the same
 * HTTP status (403 for an authorization failure, 404 for an unknown topic, ...).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RestError, toRestError } from '../http/errors.js';
import { sendError, sendJson } from '../http/router.js';
import type { KafkaPrincipal } from '../security/principal.js';
import type { ConsoleRequest, ConsoleState } from './context.js';
import { compilePath } from '../http/router.js';

export interface ConsoleRoute {
  method: string;
  path: string;
  /** The JSON body to answer with 200 (undefined: 204). */
  handle(r: ConsoleRequest): Promise<unknown>;
}

interface Compiled extends ConsoleRoute {
  pattern: RegExp;
  names: string[];
}

export class ConsoleRouter {
  private readonly routes: Compiled[];

  constructor(routes: readonly ConsoleRoute[]) {
    this.routes = routes.map((route) => ({ ...route, ...compilePath(route.path) }));
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL, principal: KafkaPrincipal, state: ConsoleState): void {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      route.handle({ req, res, params, query: url.searchParams, principal, state }).then(
        (body) => sendJson(res, body === undefined ? 204 : 200, body),
        (err) => {
          const error = toRestError(err);
          if (error.status >= 500) state.deps.broker.logger.error({ err, path: url.pathname }, 'console request failed');
          sendError(res, error);
        },
      );
      return;
    }
    req.resume();
    sendError(res, pathMatched ? new RestError(405, 405, `HTTP ${req.method} is not allowed on ${url.pathname}`) : new RestError(404, 404, `No console resource at ${url.pathname}`));
  }
}
