/**
 * Where things live among the live brokers (several brokers, docs/cluster.md).
 *
 * Coordinators are placed as Kafka places them: a group id (or transactional id) hashes with
 * Java's String.hashCode to a partition of __consumer_offsets (__transaction_state), of
 * offsets.topic.num.partitions (transaction.state.log.num.partitions) partitions, and the
 * coordinator is that partition's leader. kafka-mysql has no such topics: those partitions'
 * leaders are the live brokers in id order, round robin, so a coordinator moves only when the
 * set of live brokers changes.
 */

/** Java's String.hashCode (UTF-16 code units, 32-bit wrap-around). */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: |n|, and 0 for Integer.MIN_VALUE. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The internal-topic partition a group or transactional id maps to (Kafka's partitionFor). */
export function coordinatorPartition(key: string, partitions: number): number {
  return kafkaAbs(javaStringHash(key)) % Math.max(1, partitions);
}

/** The broker coordinating `key`: the leader of its partition among the live broker ids. */
export function coordinatorBroker(key: string, partitions: number, liveIds: readonly number[]): number {
  if (liveIds.length === 0) return -1;
  const sorted = [...liveIds].sort((a, b) => a - b);
  return sorted[coordinatorPartition(key, partitions) % sorted.length]!;
}

/**
 * The preferred leader of a partition among the live broker ids: a round robin that starts at
 * a position derived from the topic id, so the partitions of each topic spread over every
 * broker and different topics do not all start on the same one.
 */
export function preferredLeader(topicId: string, partition: number, liveIds: readonly number[]): number {
  if (liveIds.length === 0) return -1;
  const sorted = [...liveIds].sort((a, b) => a - b);
  return sorted[(kafkaAbs(javaStringHash(topicId)) + partition) % sorted.length]!;
}

export interface PartitionRef {
  topicId: string;
  partition: number;
}

/**
 * The leadership changes the controller makes: a partition without a leader or whose leader
 * is not live goes to its preferred leader; with `rebalance` (a broker joined, so the preferred
 * leaders changed), every partition not on its preferred leader moves there.
 */
export function planLeaders(
  partitions: readonly PartitionRef[],
  currentLeader: (p: PartitionRef) => number | undefined,
  liveIds: readonly number[],
  rebalance: boolean,
): Array<PartitionRef & { leaderId: number }> {
  if (liveIds.length === 0) return [];
  const live = new Set(liveIds);
  const out: Array<PartitionRef & { leaderId: number }> = [];
  for (const p of partitions) {
    const current = currentLeader(p);
    const preferred = preferredLeader(p.topicId, p.partition, liveIds);
    const keep = current !== undefined && live.has(current) && (!rebalance || current === preferred);
    if (!keep) out.push({ topicId: p.topicId, partition: p.partition, leaderId: preferred });
  }
  return out;
}
