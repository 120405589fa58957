/**
 * Positive KIP-890 verifications of transactional writes into the partitions this broker leads,
 * remembered until the partition's marker for that producer is written (server/transactions/
 * markers.ts) or its leadership moves (the leader epoch is part of the entry). A leader whose
 * transactional id is coordinated by another broker checks the first batch of a producer's
 * transaction in a partition against the coordinator's row in MySQL; the batches after it pass
 * here without a query, as Kafka verifies only while the producer has no transaction open in
 * the partition.
 */

/** Bound on the entries kept (one per producer and partition); beyond it they are all dropped. */
const MAX_ENTRIES = 100_000;

interface Entry {
  epoch: number;
  leaderEpoch: number;
}

export class VerifiedWrites {
  private readonly byPartition = new Map<string, Map<bigint, Entry>>();
  private size = 0;

  has(producerId: bigint, epoch: number, topic: string, partition: number, leaderEpoch: number): boolean {
    const e = this.byPartition.get(key(topic, partition))?.get(producerId);
    return e !== undefined && e.epoch === epoch && e.leaderEpoch === leaderEpoch;
  }

  remember(producerId: bigint, epoch: number, topic: string, partition: number, leaderEpoch: number): void {
    if (this.size >= MAX_ENTRIES) this.clear();
    const k = key(topic, partition);
    let m = this.byPartition.get(k);
    if (!m) this.byPartition.set(k, (m = new Map()));
    if (!m.has(producerId)) this.size++;
    m.set(producerId, { epoch, leaderEpoch });
  }

  /** The producer's transaction in the partition ended (its marker was written here). */
  forget(producerId: bigint, topic: string, partition: number): void {
    const k = key(topic, partition);
    const m = this.byPartition.get(k);
    if (m?.delete(producerId)) {
      this.size--;
      if (m.size === 0) this.byPartition.delete(k);
    }
  }

  clear(): void {
    this.byPartition.clear();
    this.size = 0;
  }

  get entries(): number {
    return this.size;
  }
}

function key(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}
