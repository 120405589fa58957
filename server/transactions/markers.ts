import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { buildControlBatch } from '../../codec/records/control-batch.js';
import { readBatchInfo } from '../../codec/records/batch-header.js';
import type { TxnPartition } from '../../storage/index.js';
import type { LogManager, TopicCatalog } from '../../storage/types.js';
import type { VerifiedWrites } from './verified-writes.js';

/**
 * Writes a transaction's commit or abort markers into every partition of it, through each
 * partition's log (the group-commit transaction checks the marker's epoch against the
 * partition's producer state and records aborted transactions with it). A partition whose
 * topic was deleted needs no marker. Resolves when every marker is committed; rejects when one
 * could not be written (the coordinator retries the whole set: a second marker for a producer
 * with no open transaction changes nothing a reader sees). The leader of a partition writes
 * its markers here whether its own coordinator or another broker's (WriteTxnMarkers) asks.
 */
export const COORDINATOR_EPOCH = 0;

export interface MarkerWriter {
  write(partitions: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<void>;
}

/** Codes after which a partition needs no marker (any more): its topic is gone, or a newer epoch of the producer wrote there. */
export function markerSettled(code: number): boolean {
  return code === ErrorCode.NONE || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.PRODUCER_FENCED;
}

export class LogMarkerWriter implements MarkerWriter {
  constructor(
    private readonly catalog: TopicCatalog,
    private readonly logs: LogManager,
    private readonly leaderEpochOf: (topicId: string, partition: number) => number,
    private readonly verified?: VerifiedWrites,
  ) {}

  async write(partitions: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<void> {
    const codes = await Promise.all(partitions.map((p) => this.writeOne(p.topic, p.partition, producerId, producerEpoch, commit)));
    const failed = codes.find((c) => !markerSettled(c));
    if (failed !== undefined) throw new KafkaError(failed, 'a transaction marker could not be written');
  }

  /**
   * One partition's marker; resolves with a Kafka error code: NONE when written,
   * UNKNOWN_TOPIC_OR_PARTITION when the partition does not exist, the append's error otherwise
   * (NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH when leadership moved, KAFKA_STORAGE_ERROR
   * when MySQL failed).
   */
  async writeOne(topicName: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch = COORDINATOR_EPOCH): Promise<number> {
    const topic = this.catalog.getTopic(topicName);
    if (!topic || partition < 0 || partition >= topic.partitionCount) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    try {
      const log = await this.logs.getLog(topic.topicId, partition);
      const batch = buildControlBatch({ producerId, producerEpoch, commit, coordinatorEpoch, timestamp: BigInt(Date.now()) });
      // Built here, not parsed: client batch validation refuses control batches.
      const infos = [readBatchInfo(batch, 0)];
      await log.append(batch, infos, {
        logAppendTime: false,
        leaderEpoch: this.leaderEpochOf(topic.topicId, partition),
        retainable: true,
        marker: { commit, coordinatorEpoch },
      });
      return ErrorCode.NONE;
    } catch (err) {
      if (err instanceof KafkaError) return err.code;
      throw err;
    } finally {
      // The producer's transaction in this partition is over: its next one is verified again.
      this.verified?.forget(producerId, topicName, partition);
    }
  }
}
