import type { CompactionPolicy, CompactionTarget } from '../../storage/compaction/cleaner.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfig } from '../config/index.js';

/** True when the topic's cleanup.policy includes `compact` (`compact` or `compact,delete`). */
export function isCompacted(topic: TopicRecord, config: BrokerConfig): boolean {
  return effectiveTopicConfig('cleanup.policy', topic.configs, config)
    .value.split(',')
    .some((s) => s.trim() === 'compact');
}

/**
 * A compacted topic's policy from its configs (docs/compaction.md): delete.retention.ms,
 * min/max.compaction.lag.ms, min.cleanable.dirty.ratio, and segment.ms / segment.bytes, which
 * bound the uncompacted head of each partition (there are no segment files).
 */
export function compactionPolicyOf(topic: TopicRecord, config: BrokerConfig): CompactionPolicy {
  const value = (key: string) => effectiveTopicConfig(key, topic.configs, config).value;
  return {
    deleteRetentionMs: BigInt(value('delete.retention.ms')),
    minCompactionLagMs: BigInt(value('min.compaction.lag.ms')),
    maxCompactionLagMs: BigInt(value('max.compaction.lag.ms')),
    minCleanableDirtyRatio: Number(value('min.cleanable.dirty.ratio')),
    segmentMs: BigInt(value('segment.ms')),
    segmentBytes: BigInt(value('segment.bytes')),
  };
}

/** Targets for every compacted topic (or those named, which must exist and be compacted). */
export function compactionTargets(topics: TopicRecord[], config: BrokerConfig, only: string[] | null = null): CompactionTarget[] {
  if (only) {
    const byName = new Map(topics.map((t) => [t.name, t]));
    const missing = only.filter((n) => !byName.has(n));
    if (missing.length > 0) throw new Error(`unknown topic${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
    const plain = only.filter((n) => !isCompacted(byName.get(n)!, config));
    if (plain.length > 0) throw new Error(`not compacted (cleanup.policy without compact): ${plain.join(', ')}`);
  }
  return topics
    .filter((t) => (only === null || only.includes(t.name)) && isCompacted(t, config))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((topic) => ({ topic, policy: compactionPolicyOf(topic, config) }));
}
