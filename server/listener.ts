import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type FrameHandler } from './net/connection.js';
import { FrameReader } from './net/frame-reader.js';
import { withInPlaceReads } from './net/in-place-socket.js';
import type { ConnectionQuota } from './net/limits/connection-quota.js';
import type { RequestByteBudget } from './net/limits/request-bytes.js';
import type { RequestSlots } from './net/limits/request-slots.js';
import type { BrokerMetrics } from './metrics.js';
import type { ConnectionSecurity, ListenerSecurity } from './security/listener-security.js';

/** The broker-wide limits of server/net/limits/; each may be absent (no limit). */
export interface ListenerLimits {
  /** max.connections, max.connections.per.ip(.overrides). */
  quota?: ConnectionQuota | null;
  /** queued.max.request.bytes. */
  budget?: RequestByteBudget | null;
  /** queued.max.requests. */
  slots?: RequestSlots | null;
}

/**
 * The Kafka TCP listeners (one server per `listeners` entry): accept connections and hand their
 * frames to the dispatcher. Each connection carries its listener's security state (TLS socket,
 * principal, SASL session: server/security/).
 */
export class KafkaListener {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;

  constructor(
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
    private readonly maxFrameBytes: number,
    private readonly idleTimeoutMs = 0,
    private readonly limits: ListenerLimits = {},
  ) {
    const { budget, slots } = limits;
    if (budget) {
      metrics.registry
        .gauge('kafka_mysql_request_bytes', 'Bytes of requests being read or in progress, counted against queued.max.request.bytes.')
        .collect((g) => g.set(budget.used));
      metrics.registry
        .gauge('kafka_mysql_request_memory_waiting', 'Connections waiting for request memory (queued.max.request.bytes reached).')
        .collect((g) => g.set(budget.waiting));
    }
    if (slots) {
      metrics.registry.gauge('kafka_mysql_requests_in_progress', 'Requests in progress, counted against queued.max.requests.').collect((g) => g.set(slots.used));
    }
  }

  private accept(accepted: Socket, security: ListenerSecurity | null): void {
    // Over a connection limit: closed before anything is read (see ConnectionQuota).
    const address = accepted.remoteAddress ?? 'unknown';
    const quota = this.limits.quota ?? null;
    const refused = quota?.admit(address) ?? null;
    if (refused !== null) {
      this.logger.debug({ remote: address, limit: refused }, 'connection refused');
      this.metrics.connectionsClosed.inc({ reason: 'limit' });
      accepted.destroy();
      return;
    }
    if (security?.usesTls) {
      // TLS decrypts into its own buffers: frames come from 'data' events (FrameSplitter). A
      // handshake that fails closes that socket only and gives its connection slot back.
      security.acceptTls(
        accepted,
        (socket, state) => this.startConnection(socket, null, state, address),
        () => {
          quota?.release(address);
          this.metrics.connectionsClosed.inc({ reason: 'tls' });
        },
      );
      return;
    }
    let connection: Connection | undefined;
    const frameReader = new FrameReader(this.maxFrameBytes, this.limits.budget ?? null);
    const inPlace = withInPlaceReads(accepted, () => frameReader.readTarget(), (n) => connection?.onReadInPlace(n));
    if (!inPlace) accepted.resume();
    connection = this.startConnection(inPlace ?? accepted, inPlace ? frameReader : null, security?.accept(accepted).security ?? null, address);
  }

  private startConnection(socket: Socket, reader: FrameReader | null, security: ConnectionSecurity | null, address: string): Connection {
    const quota = this.limits.quota ?? null;
    const connection = new Connection(
      this.nextConnectionId++,
      socket,
      this.handler,
      this.logger,
      this.maxFrameBytes,
      (closed) => {
        quota?.release(address);
        this.connections.delete(closed);
        this.metrics.connectionsClosed.inc({ reason: closed.closeReason });
        this.metrics.connections.set(this.connections.size);
      },
      this.idleTimeoutMs,
      reader,
      this.limits,
    );
    connection.security = security;
    this.connections.add(connection);
    this.metrics.connections.set(this.connections.size);
    return connection;
  }

  /** Opens one listener; `security` null: PLAINTEXT without a listener identity (tests). Resolves with its port. */
  listen(host: string, port: number, security: ListenerSecurity | null = null): Promise<number> {
    // Paused on connect: each socket is re-wrapped (in-place reads, or TLS) before it reads anything.
    const server = createServer({ pauseOnConnect: true }, (accepted) => this.accept(accepted, security));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.logger.error({ err }, 'listener error'));
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, then drains every connection: requests already read are answered (a
   * produce request being committed gets its response, so its producer does not send it
   * again), nothing more is read, and the socket is ended. Connections still open after
   * `graceMs` are destroyed. Resolves with the number of requests answered while draining.
   */
  async close(graceMs = 30_000): Promise<number> {
    const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    const connections = [...this.connections];
    const drained = Promise.all(connections.map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([drained, late]);
    clearTimeout(timer);
    for (const c of connections) if (!c.isClosed) c.socket.destroy();
    const answered = (await drained).reduce((a, b) => a + b, 0);
    await closed;
    // Re-wrapped sockets are not in the server's count, so wait for them here.
    const sockets = connections.map((c) => c.socket);
    await Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((resolve) => s.once('close', resolve)))));
    return answered;
  }
}
