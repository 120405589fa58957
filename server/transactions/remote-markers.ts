import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { WriteTxnMarkersRequest } from '../../codec/generated/write-txn-markers.js';
import type { TxnPartition } from '../../storage/index.js';
import type { TopicCatalog } from '../../storage/types.js';
import type { PeerConnections } from '../cluster/peers.js';
import type { ClusterView } from '../handler-types.js';
import { COORDINATOR_EPOCH, markerSettled, type LogMarkerWriter, type MarkerWriter } from './markers.js';

/**
 * Markers on several brokers (docs/cluster.md), as Kafka's TransactionMarkerChannelManager: each
 * partition's marker is written by its leader: here for the partitions this broker leads, with
 * one WriteTxnMarkers request (v1) per other leader for the rest. A partition whose leader is
 * unknown, moved (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH) or unreachable is tried again
 * after re-reading the leaders, with a backoff, for up to `retryMs`; then write() rejects and the
 * transaction stays prepared in MySQL, retried by the coordinator's timer (or by the next
 * coordinator if this one dies). Resolves only when every partition's marker is written.
 */
export interface ClusterMarkerOptions {
  local: LogMarkerWriter;
  cluster: ClusterView;
  catalog: TopicCatalog;
  peers: PeerConnections;
  /** Re-reads the partition leaders from MySQL. */
  refreshLeaders(): Promise<void>;
  retryMs: number;
  logger: Logger;
}

const WRITE_TXN_MARKERS_VERSION = 1;

export class ClusterMarkerWriter implements MarkerWriter {
  constructor(private readonly o: ClusterMarkerOptions) {}

  async write(partitions: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<void> {
    const deadline = Date.now() + this.o.retryMs;
    let remaining = [...partitions];
    for (let attempt = 0; ; attempt++) {
      const byLeader = new Map<number, TxnPartition[]>();
      const failed: TxnPartition[] = [];
      let lastCode: number = ErrorCode.LEADER_NOT_AVAILABLE;
      for (const p of remaining) {
        const topic = this.o.catalog.getTopic(p.topic);
        // The topic went away: nothing to mark.
        if (!topic || p.partition >= topic.partitionCount) continue;
        const leader = this.o.cluster.leaderOf(topic.topicId, p.partition);
        if (leader < 0) failed.push(p);
        else byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      await Promise.all(
        [...byLeader].map(async ([leader, ps]) => {
          const codes = leader === this.o.cluster.self.nodeId ? await this.writeHere(ps, producerId, producerEpoch, commit) : await this.writeThere(leader, ps, producerId, producerEpoch, commit);
          ps.forEach((p, i) => {
            if (markerSettled(codes[i]!)) return;
            failed.push(p);
            lastCode = codes[i]!;
          });
        }),
      );
      if (failed.length === 0) return;
      if (Date.now() >= deadline) throw new KafkaError(lastCode, `transaction markers not written into ${failed.map((p) => `${p.topic}-${p.partition}`).join(', ')}`);
      remaining = failed;
      await this.o.refreshLeaders().catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }

  private writeHere(ps: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<number[]> {
    return Promise.all(ps.map((p) => this.o.local.writeOne(p.topic, p.partition, producerId, producerEpoch, commit).catch(() => ErrorCode.KAFKA_STORAGE_ERROR)));
  }

  private async writeThere(leader: number, ps: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<number[]> {
    const topics = new Map<string, number[]>();
    for (const p of ps) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition]);
    const request: WriteTxnMarkersRequest = {
      markers: [{ producerId, producerEpoch, transactionResult: commit, coordinatorEpoch: COORDINATOR_EPOCH, topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }],
    };
    try {
      const response = await this.o.peers.request(leader, 27, WRITE_TXN_MARKERS_VERSION, request);
      const codes = new Map<string, number>();
      for (const m of response.markers) {
        for (const t of m.topics) for (const r of t.partitions) codes.set(`${r.partitionIndex}:${t.name}`, r.errorCode);
      }
      return ps.map((p) => codes.get(`${p.partition}:${p.topic}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    } catch (err) {
      this.o.logger.warn({ broker: leader, producerId: String(producerId), err: (err as Error).message }, 'WriteTxnMarkers to a partition leader failed; retrying');
      return ps.map(() => ErrorCode.NETWORK_EXCEPTION);
    }
  }
}
