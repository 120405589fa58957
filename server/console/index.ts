/**
 * The web console (docs/console.md), served by the broker's HTTP listener under /console: the
 * single-page app built from console/ (static.ts) and the JSON routes under /console/api the
 * REST interface lacks (paged topic list, partition browsing and search, group lag and its
 * history, offset reset with preview, group delete, users, ACLs, quotas, metrics history).
 *
 * Access: `console.enable` (default true) and, unless `console.allow.remote` is true, only
 * clients on loopback addresses (127.0.0.0/8, ::1): the listener itself is loopback-only by
 * default, and a listener opened to the network does not open the console with it. With an
 * `authenticate` function (the REST interface's authentication) every /console/api request
 * runs as the user its credentials name, and 401 asks the page to log in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RestError, toRestError } from '../http/errors.js';
import { sendError } from '../http/router.js';
import { ANONYMOUS } from '../security/principal.js';
import { clusterRoutes } from './routes-cluster.js';
import type { Authenticate, ConsoleDeps, ConsoleState } from './context.js';
import { LagHistory, MetricsHistory } from './history.js';
import { groupRoutes, sampleLag } from './routes-groups.js';
import { ConsoleRouter } from './router.js';
import { securityRoutes } from './routes-security.js';
import { ConsoleFiles, defaultConsoleDir } from './static.js';
import { topicRoutes } from './routes-topics.js';

export type { Authenticate, ConsoleDeps } from './context.js';

export interface ConsoleOptions {
  allowRemote: boolean;
  /** Absent: no authentication on the HTTP listener; requests run as User:ANONYMOUS. */
  authenticate?: Authenticate;
  /** Built files (default dist/console). */
  dir?: string;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Whether a Host header names this machine's loopback (localhost, 127.x, [::1]), port aside. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The header the page sends with every API request; changes without it are refused (see handle). */
export const CONSOLE_HEADER = 'x-kafka-mysql-console';

export class ConsoleService {
  private readonly files: ConsoleFiles;
  private readonly router = new ConsoleRouter([...clusterRoutes, ...topicRoutes, ...groupRoutes, ...securityRoutes]);
  private readonly state: ConsoleState;

  constructor(
    deps: ConsoleDeps,
    private readonly options: ConsoleOptions,
  ) {
    this.files = new ConsoleFiles(options.dir ?? defaultConsoleDir());
    const now = () => deps.broker.now();
    const metricsHistory = new MetricsHistory(deps.broker.metrics, now);
    this.state = { deps, metricsHistory, lagHistory: new LagHistory(async (g) => (await sampleLag(this.state, g)).map((l) => ({ topic: l.topic, partition: l.partition, lag: l.lag })), now) };
  }

  start(): void {
    this.state.metricsHistory.start();
    this.state.lagHistory.start();
    if (!this.files.built) this.state.deps.broker.logger.warn('the console is not built (dist/console missing): run npm run build');
  }

  stop(): void {
    this.state.metricsHistory.stop();
    this.state.lagHistory.stop();
    this.state.deps.peers?.close();
  }

  /** True when the request was for the console (answered or being answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return false;
    // Loopback only: the client's address, and the Host it asked for (a page of another site
    // whose name was made to resolve to 127.0.0.1, DNS rebinding, still names its own host).
    if (!this.options.allowRemote && (!isLoopback(req.socket.remoteAddress) || !isLoopbackHost(req.headers.host))) {
      req.resume();
      sendError(res, new RestError(403, 403, 'The console answers loopback clients only (console.allow.remote)'));
      return true;
    }
    if (!url.pathname.startsWith('/console/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        req.resume();
        sendError(res, new RestError(405, 405, `HTTP ${req.method} is not allowed on ${url.pathname}`));
      } else this.files.serve(req, res, url.pathname);
      return true;
    }
    // Another site's page can send a form-like POST to 127.0.0.1 without asking first; a custom
    // header needs a CORS preflight, which this listener never grants, so only the console's page sends it.
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers[CONSOLE_HEADER] !== '1') {
      req.resume();
      sendError(res, new RestError(403, 403, `Changes through the console API need the ${CONSOLE_HEADER} header (sent by the console's page)`));
      return true;
    }
    const authenticate = this.options.authenticate;
    if (!authenticate) {
      this.router.handle(req, res, url, ANONYMOUS, this.state);
      return true;
    }
    authenticate(req).then(
      (principal) => this.router.handle(req, res, url, principal, this.state),
      (err) => {
        req.resume();
        const error = toRestError(err);
        if (error.status >= 500) this.state.deps.broker.logger.error({ err }, 'console authentication failed');
        // A fresh error without REST's WWW-Authenticate header: the page shows its own login form, not the browser's dialog.
        sendError(res, new RestError(error.status, error.errorCode, error.status === 401 ? 'Authentication required: log in with a broker user' : error.message, error.kafkaErrorCode));
      },
    );
    return true;
  }
}
