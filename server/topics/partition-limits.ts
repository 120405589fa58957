import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { BrokerContext } from '../handler-types.js';

/**
 * Bounds on partitions, checked before any MySQL work or allocation: a topic may not have more
 * than `max.partitions.per.topic` partitions (INVALID_PARTITIONS) and the cluster not more than
 * `max.partitions` (POLICY_VIOLATION). Kafka 3.9 has neither key (its controller would create
 * them, slowly); a partition here is rows and a placement in MySQL and an entry in every
 * Metadata response, and librdkafka refuses Metadata with more than 100,000 partitions.
 */
export function checkPartitionLimits(broker: BrokerContext, topic: string, newTotal: number, added: number): void {
  const perTopic = broker.config.int('max.partitions.per.topic');
  if (newTotal > perTopic) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `Topic '${topic}' would have ${newTotal} partitions; at most ${perTopic} are allowed (max.partitions.per.topic).`,
    );
  }
  const cluster = broker.config.int('max.partitions');
  let existing = 0;
  for (const t of broker.catalog.listTopics()) existing += t.partitionCount;
  if (existing + added > cluster) {
    throw new KafkaError(
      ErrorCode.POLICY_VIOLATION,
      `The cluster has ${existing} partitions; ${added} more would pass its limit of ${cluster} (max.partitions).`,
    );
  }
}
