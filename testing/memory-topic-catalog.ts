import { KafkaError } from '../codec/error-codes.js';
import { canonicalName, firstShard, newTopicId, validateTopicName } from '../storage/topic-catalog.js';
import type { CreateTopicRequest, TopicCatalog, TopicConfigs, TopicRecord } from '../storage/types.js';

/**
 * TopicCatalog in two Maps, with the MySQL catalog's semantics (same name rules, error codes
 * and placement), for unit tests that need topics without a database; not used by the broker.
 * storage/topic-catalog.conformance.ts runs the same suite on it and on MySQL.
 */
export class MemoryTopicCatalog implements TopicCatalog {
  private readonly byName = new Map<string, TopicRecord>();
  private readonly byId = new Map<string, TopicRecord>();

  constructor(private readonly shardCount = 1) {}

  getTopic(name: string): TopicRecord | undefined {
    return this.byName.get(name);
  }

  getTopicById(topicId: string): TopicRecord | undefined {
    return this.byId.get(topicId);
  }

  listTopics(): TopicRecord[] {
    return [...this.byName.values()];
  }

  /** Nothing to pick up: this process holds the only copy. */
  async refresh(): Promise<void> {}

  async createTopic(request: CreateTopicRequest): Promise<TopicRecord> {
    validateTopicName(request.name);
    if (!Number.isInteger(request.partitions) || request.partitions < 1) {
      throw KafkaError.of('INVALID_PARTITIONS', `Number of partitions must be at least 1, got ${request.partitions}`);
    }
    const canonical = canonicalName(request.name);
    const existing = [...this.byName.keys()].find((n) => n === request.name || canonicalName(n) === canonical);
    if (existing === request.name) throw KafkaError.of('TOPIC_ALREADY_EXISTS', `Topic '${request.name}' already exists.`);
    if (existing !== undefined) {
      throw KafkaError.of('INVALID_TOPIC_EXCEPTION', `Topic '${request.name}' collides with existing topic: ${existing}`);
    }
    const start = firstShard(request.name, this.shardCount);
    const rec: TopicRecord = {
      name: request.name,
      topicId: newTopicId(),
      partitionCount: request.partitions,
      configs: { ...request.configs },
      shardOfPartition: Array.from({ length: request.partitions }, (_, p) => (start + p) % this.shardCount),
      isInternal: request.isInternal ?? false,
    };
    this.byName.set(rec.name, rec);
    this.byId.set(rec.topicId, rec);
    return rec;
  }

  async deleteTopic(name: string): Promise<TopicRecord> {
    const rec = this.require(name);
    this.byName.delete(name);
    this.byId.delete(rec.topicId);
    return { ...rec, configs: { ...rec.configs }, shardOfPartition: [...rec.shardOfPartition] };
  }

  async setTopicConfigs(name: string, configs: TopicConfigs): Promise<void> {
    this.require(name).configs = { ...configs };
  }

  async addPartitions(name: string, newTotal: number): Promise<TopicRecord> {
    const known = this.require(name);
    const current = known.partitionCount;
    if (!Number.isInteger(newTotal) || newTotal <= current) {
      throw KafkaError.of('INVALID_PARTITIONS', `Topic currently has ${current} partitions, which is higher than or equal to the requested ${newTotal}`);
    }
    const start = firstShard(name, this.shardCount);
    const shardOfPartition = [...known.shardOfPartition];
    for (let p = current; p < newTotal; p++) shardOfPartition[p] = (start + p) % this.shardCount;
    const rec: TopicRecord = { ...known, partitionCount: newTotal, shardOfPartition };
    this.byName.set(rec.name, rec);
    this.byId.set(rec.topicId, rec);
    return rec;
  }

  private require(name: string): TopicRecord {
    const rec = this.byName.get(name);
    if (!rec) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
    return rec;
  }
}
