import type { Logger } from 'pino';
import { KafkaConnection, RequestTimeoutError } from '../../client/connection.js';
import type { ClientSecurity } from '../../client/security.js';
import type { ApiMessages } from '../../codec/generated/registry.js';
import type { ClusterView } from '../handler-types.js';

/**
 * Connections from this broker to the other brokers (several brokers, docs/cluster.md): one per
 * peer, opened when first needed on the peer's inter-broker listener (the address it registered
 * in ZooKeeper for that listener name), authenticated as server/security/inter-broker.ts says,
 * replaced when it closes, times out or the peer's address changes. Only the transaction
 * coordinator uses them today (WriteTxnMarkers).
 */
export interface PeerOptions {
  cluster: ClusterView;
  listenerName: string;
  security: ClientSecurity;
  requestTimeoutMs: number;
  logger: Logger;
}

interface Peer {
  address: string;
  connection: Promise<KafkaConnection>;
}

export class PeerConnections {
  private readonly peers = new Map<number, Peer>();
  private closed = false;

  constructor(private readonly o: PeerOptions) {}

  /** Sends a request to broker `nodeId`; rejects when it is not live or unreachable, or does not answer in time. */
  async request<K extends keyof ApiMessages>(nodeId: number, apiKey: K, version: number, body: ApiMessages[K]['request']): Promise<ApiMessages[K]['response']> {
    const peer = this.peer(nodeId);
    let connection: KafkaConnection;
    try {
      connection = await peer.connection;
    } catch (err) {
      this.drop(nodeId, peer);
      throw err;
    }
    try {
      return await connection.request(apiKey, version, body);
    } catch (err) {
      // A timed-out request leaves the connection suspect (a paused peer): start again.
      if (connection.isClosed || err instanceof RequestTimeoutError) this.drop(nodeId, peer);
      throw err;
    }
  }

  private peer(nodeId: number): Peer {
    if (this.closed) throw new Error('the broker is shutting down');
    const b = this.o.cluster.brokers().find((x) => x.nodeId === nodeId);
    if (!b) throw new Error(`broker ${nodeId} is not live`);
    const a = b.listeners?.[this.o.listenerName] ?? { host: b.host, port: b.port };
    const address = `${a.host}:${a.port}`;
    const known = this.peers.get(nodeId);
    if (known && known.address === address) return known;
    if (known) this.drop(nodeId, known);
    const connection = KafkaConnection.open({
      host: a.host,
      port: a.port,
      clientId: `broker-${this.o.cluster.self.nodeId}`,
      connectTimeoutMs: Math.min(5000, this.o.requestTimeoutMs),
      requestTimeoutMs: this.o.requestTimeoutMs,
      ...this.o.security,
    });
    const peer: Peer = { address, connection };
    this.peers.set(nodeId, peer);
    connection.then(
      (c) => void c.closed.then(() => this.drop(nodeId, peer)),
      (err: unknown) => this.o.logger.warn({ broker: nodeId, address, err: (err as Error).message }, 'cannot connect to another broker'),
    );
    return peer;
  }

  private drop(nodeId: number, peer: Peer): void {
    if (this.peers.get(nodeId) === peer) this.peers.delete(nodeId);
    peer.connection.then((c) => c.close(), () => undefined);
  }

  close(): void {
    this.closed = true;
    for (const [id, peer] of [...this.peers]) this.drop(id, peer);
  }
}
