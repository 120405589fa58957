import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { buildControlBatch } from '../../codec/records/control-batch.js';
import { readBatchInfo } from '../../codec/records/batch-header.js';
import type { TxnPartition } from '../../storage/index.js';
import type { LogManager, TopicCatalog } from '../../storage/types.js';

/**
 * Writes a transaction's commit or abort markers into every partition of it, through each
 * partition's log (the group-commit transaction checks the marker's epoch against the
 * partition's producer state and records aborted transactions with it). A partition whose
 * topic was deleted needs no marker. Resolves when every marker is committed; rejects when one
 * could not be written (the coordinator retries the whole set: a second marker for a producer
 * with no open transaction changes nothing a reader sees).
 */
export const COORDINATOR_EPOCH = 0;

export interface MarkerWriter {
  write(partitions: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<void>;
}

export class LogMarkerWriter implements MarkerWriter {
  constructor(
    private readonly catalog: TopicCatalog,
    private readonly logs: LogManager,
    private readonly leaderEpochOf: (topicId: string, partition: number) => number,
  ) {}

  async write(partitions: readonly TxnPartition[], producerId: bigint, producerEpoch: number, commit: boolean): Promise<void> {
    const results = await Promise.allSettled(
      partitions.map(async (p) => {
        const topic = this.catalog.getTopic(p.topic);
        if (!topic || p.partition >= topic.partitionCount) return;
        const log = await this.logs.getLog(topic.topicId, p.partition);
        const batch = buildControlBatch({ producerId, producerEpoch, commit, coordinatorEpoch: COORDINATOR_EPOCH, timestamp: BigInt(Date.now()) });
        // Built here, not parsed: client batch validation refuses control batches.
        const infos = [readBatchInfo(batch, 0)];
        await log.append(batch, infos, {
          logAppendTime: false,
          leaderEpoch: this.leaderEpochOf(topic.topicId, p.partition),
          retainable: true,
          marker: { commit, coordinatorEpoch: COORDINATOR_EPOCH },
        });
      }),
    );
    for (const r of results) {
      if (r.status === 'rejected') {
        const err = r.reason;
        // The topic went away meanwhile: nothing to mark.
        if (err instanceof KafkaError && err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
        // The partition already has a newer epoch of this producer: its transaction is over there.
        if (err instanceof KafkaError && err.code === ErrorCode.PRODUCER_FENCED) continue;
        throw err;
      }
    }
  }
}
