import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerContext } from '../handler-types.js';

/**
 * Returns the topic, creating it with the broker defaults (num.partitions) when missing.
 * Two brokers or requests racing to create one topic both end up with the winner's record.
 */
export async function ensureTopic(broker: BrokerContext, name: string): Promise<TopicRecord> {
  const existing = broker.catalog.getTopic(name);
  if (existing) return existing;
  try {
    const created = await broker.catalog.createTopic({ name, partitions: broker.config.numPartitions, configs: {} });
    broker.logger.info({ topic: name, partitions: created.partitionCount }, 'topic auto-created');
    return created;
  } catch (err) {
    if (err instanceof KafkaError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
      await broker.catalog.refresh();
      const winner = broker.catalog.getTopic(name);
      if (winner) return winner;
    }
    throw err;
  }
}
