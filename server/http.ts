import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsSetup } from './security/tls.js';
import type { RestRouter } from './http/router.js';
import type { MetricsRegistry } from './metrics.js';

/** What /health answers: 200 when `ok`, else 503; `details` say why (MySQL reachable, managed MariaDB state). */
export interface HealthReport {
  ok: boolean;
  details: Record<string, unknown>;
}

/**
 * HTTP side of the broker: /metrics (Prometheus text), /health (JSON) and the REST interface
 * (server/http/, docs/http.md); HTTPS when given a TLS setup (an https:// metrics.listener), with
 * client certificates requested or required as its ssl.client.auth says.
 */
export class HttpEndpoint {
  private readonly server: Server;
  private readonly handlers: Array<(req: IncomingMessage, res: ServerResponse) => boolean> = [];

  constructor(
    registry: MetricsRegistry,
    health: () => Promise<HealthReport>,
    rest: RestRouter | null = null,
    tls: TlsSetup | null = null,
  ) {
    const serve: Parameters<typeof createServer>[1] = (req, res) => {
      if (rest?.handle(req, res)) return;
      for (const handler of this.handlers) if (handler(req, res)) return;
      if (req.url === '/metrics') {
        registry.render().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(text);
          },
          () => {
            res.writeHead(500).end();
          },
        );
        return;
      }
      if (req.url === '/health') {
        health().then(
          ({ ok, details }) => {
            res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...details }));
          },
          () => {
            res.writeHead(503).end();
          },
        );
        return;
      }
      res.writeHead(404).end();
    };
    this.server = tls
      ? createHttpsServer({ ...tls.contextOptions, requestCert: tls.clientAuth !== 'none', rejectUnauthorized: tls.clientAuth === 'required' }, serve)
      : createServer(serve);
  }

  /** Adds a handler tried after the REST routes (the console, server/console/); true: it answered. */
  use(handler: (req: IncomingMessage, res: ServerResponse) => boolean): void {
    this.handlers.push(handler);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
