import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type FrameHandler } from './net/connection.js';
import type { BrokerMetrics } from './metrics.js';

/** The Kafka TCP listener: accepts connections and hands their frames to the dispatcher. */
export class KafkaListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;

  constructor(
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
    private readonly metrics: BrokerMetrics,
    private readonly maxFrameBytes: number,
    private readonly idleTimeoutMs = 0,
  ) {
    this.server = createServer((socket) => {
      const connection = new Connection(
        this.nextConnectionId++,
        socket,
        this.handler,
        this.logger,
        this.maxFrameBytes,
        (closed) => {
          this.connections.delete(closed);
          this.metrics.connectionsClosed.inc({ reason: closed.closeReason });
          this.metrics.connections.set(this.connections.size);
        },
        this.idleTimeoutMs,
      );
      this.connections.add(connection);
      this.metrics.connections.set(this.connections.size);
    });
    this.server.on('error', (err) => this.logger.error({ err }, 'listener error'));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, then closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.close();
    await closed;
  }
}
