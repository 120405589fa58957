import type { ArchiveMode } from '../../storage/archive.js';
import type { RetentionPolicy, RetentionTarget } from '../../storage/retention.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfig } from '../config/index.js';

/**
 * A topic's retention policy from its configs and the broker's defaults: retention.ms
 * (log.retention.ms/minutes/hours), retention.bytes (log.retention.bytes), retention.archive.
 * Topics whose cleanup.policy does not include `delete` (compact only) are not cleaned by time
 * or size, as in Kafka; rows below their log start (DeleteRecords) still go.
 */
export function retentionPolicyOf(topic: TopicRecord, config: BrokerConfig): RetentionPolicy {
  const value = (key: string) => effectiveTopicConfig(key, topic.configs, config).value;
  const deletes = value('cleanup.policy').split(',').map((s) => s.trim()).includes('delete');
  return {
    retentionMs: deletes ? BigInt(value('retention.ms')) : -1n,
    retentionBytes: deletes ? BigInt(value('retention.bytes')) : -1n,
    archive: value('retention.archive') as ArchiveMode,
  };
}

/** Targets for every topic (or those named), each with its policy. Throws for a name that does not exist. */
export function retentionTargets(topics: TopicRecord[], config: BrokerConfig, only: string[] | null = null): RetentionTarget[] {
  if (only) {
    const known = new Set(topics.map((t) => t.name));
    const missing = only.filter((n) => !known.has(n));
    if (missing.length > 0) throw new Error(`unknown topic${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  }
  return topics
    .filter((t) => only === null || only.includes(t.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((topic) => ({ topic, policy: retentionPolicyOf(topic, config) }));
}
