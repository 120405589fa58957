import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerContext } from '../handler-types.js';
import { checkPartitionLimits } from './partition-limits.js';

/**
 * How many topics auto-creation may still make: `auto.create.topics.max.per.second` tokens a
 * second per broker (burst of one second's worth), so a Metadata naming 100,000 topics cannot
 * fill MySQL with tables. Kafka 3.9 bounds this through the controller mutation quota instead.
 */
export class CreationBudget {
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly perSecond: number, now: number) {
    this.tokens = perSecond;
    this.refilledAt = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const budgets = new WeakMap<BrokerContext, CreationBudget>();

/**
 * Whether one more topic may be auto-created now. When not, the topic is answered
 * LEADER_NOT_AVAILABLE (retriable, what Kafka answers while a topic is being created), so
 * clients ask again later.
 */
export function mayAutoCreate(broker: BrokerContext): boolean {
  let budget = budgets.get(broker);
  if (!budget) {
    budget = new CreationBudget(broker.config.int('auto.create.topics.max.per.second'), broker.now());
    budgets.set(broker, budget);
  }
  return budget.take(broker.now());
}

/**
 * Returns the topic, creating it with the broker defaults (num.partitions) when missing.
 * Two brokers or requests racing to create one topic both end up with the winner's record.
 */
export async function ensureTopic(broker: BrokerContext, name: string): Promise<TopicRecord> {
  const existing = broker.catalog.getTopic(name);
  if (existing) return existing;
  checkPartitionLimits(broker, name, broker.config.numPartitions, broker.config.numPartitions);
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
