/**
 * WriteTxnMarkers (key 27), versions 0-1: the inter-broker request a transaction coordinator
 * sends to a partition's leader (server/transactions/remote-markers.ts) so that the leader
 * writes the commit or abort marker of a producer's transaction into the partitions it leads.
 * The control batch goes through the partition log as a local marker does (the append checks
 * the producer's epoch and the leader epoch in MySQL, closes the producer's open transaction,
 * records an aborted one and moves the last stable offset), and the leader's remembered KIP-890
 * verifications of that producer in the partition are dropped.
 * Per partition: NONE; NOT_LEADER_OR_FOLLOWER when this broker does not lead it (the
 * coordinator re-reads the leaders and retries); UNKNOWN_TOPIC_OR_PARTITION; PRODUCER_FENCED
 * when a newer epoch of the producer already wrote there; KAFKA_STORAGE_ERROR when MySQL failed.
 * CLUSTER_AUTHORIZATION_FAILED for every partition without CLUSTER_ACTION on the cluster (with
 * an authorizer; brokers log in as server/security/inter-broker.ts says), as Kafka.
 * Deviation: the coordinator epoch is carried into the control batch but not checked (kafka-mysql
 * has no transaction state log partitions whose epochs it would fence).
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../../codec/generated/write-txn-markers.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { authorizeCluster, Op } from '../security/authorizer/checks.js';

type MarkerResult = WriteTxnMarkersResponse['markers'][number];

export const writeTxnMarkersHandler: ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> = {
  apiKey: 27,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, Op.CLUSTER_ACTION)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx);
    const markers = await Promise.all(request.markers.map((m) => writeMarker(m, ctx)));
    return { markers };
  },
  errorResponse(request, errorCode) {
    return {
      markers: request.markers.map((m) => ({
        producerId: m.producerId,
        topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode })) })),
      })),
    };
  },
};

async function writeMarker(m: WriteTxnMarkersRequest['markers'][number], ctx: RequestContext): Promise<MarkerResult> {
  const { broker } = ctx;
  const topics = await Promise.all(
    m.topics.map(async (t) => {
      const topic = broker.catalog.getTopic(t.name);
      const partitions = await Promise.all(
        t.partitionIndexes.map(async (partitionIndex) => {
          let errorCode: number;
          if (!topic || partitionIndex < 0 || partitionIndex >= topic.partitionCount) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (broker.cluster.leaderOf(topic.topicId, partitionIndex) !== broker.cluster.self.nodeId) errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          else if (!broker.transactions) errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
          else {
            errorCode = await broker.transactions.writeLeaderMarker(t.name, partitionIndex, m.producerId, m.producerEpoch, m.transactionResult, m.coordinatorEpoch).catch((err: unknown) => {
              broker.logger.warn({ topic: t.name, partition: partitionIndex, err: (err as Error).message }, 'writing a transaction marker failed');
              return ErrorCode.KAFKA_STORAGE_ERROR;
            });
          }
          return { partitionIndex, errorCode };
        }),
      );
      return { name: t.name, partitions };
    }),
  );
  return { producerId: m.producerId, topics };
}
