/**
 * What Produce reads of a topic's configuration on every request — max.message.bytes,
 * message.timestamp.type, min.insync.replicas, whether cleanup.policy compacts, the timestamp
 * limits — worked out once per topic instead of per request (each read is map lookups and an
 * object, the limits parse three longs, the policy is split: about 1.5 µs a request, measured
 * with 200-byte requests). The values are those effectiveTopicConfig gives at the time.
 *
 * Kept per configs object and broker config generation: a topic's configs object is replaced,
 * never changed in place, when its configs change (the TopicCatalog keeps its own copy, see its
 * conformance tests), and BrokerConfig.generation changes when dynamic broker configs apply,
 * so a change of either is seen by the next request.
 */
import type { TopicRecord } from '../../storage/types.js';
import { effectiveTopicConfig, type BrokerConfig } from '../config/index.js';
import { isCompacted } from '../compaction/policy.js';
import { timestampLimitsOf, type TimestampLimits } from './timestamp-check.js';

export interface ProduceSettings {
  /** max.message.bytes: the largest batch accepted. */
  readonly maxBatchBytes: number;
  /** message.timestamp.type is LogAppendTime. */
  readonly logAppendTime: boolean;
  /** min.insync.replicas: what acks=-1 needs (storage/replication/semi-sync.ts). */
  readonly minInsyncReplicas: number;
  /** cleanup.policy includes compact: records without a key are refused. */
  readonly compacted: boolean;
  /** Record timestamp limits, null when nothing is checked (timestamp-check.ts). */
  readonly timestampLimits: TimestampLimits | null;
}

const cache = new WeakMap<TopicRecord['configs'], { config: BrokerConfig; generation: number; settings: ProduceSettings }>();

export function produceSettingsOf(topic: TopicRecord, config: BrokerConfig): ProduceSettings {
  const hit = cache.get(topic.configs);
  if (hit !== undefined && hit.config === config && hit.generation === config.generation) return hit.settings;
  const value = (key: string) => effectiveTopicConfig(key, topic.configs, config).value;
  const settings: ProduceSettings = {
    maxBatchBytes: Number(value('max.message.bytes')),
    logAppendTime: value('message.timestamp.type') === 'LogAppendTime',
    minInsyncReplicas: Number(value('min.insync.replicas')),
    compacted: isCompacted(topic, config),
    timestampLimits: timestampLimitsOf(topic, config),
  };
  cache.set(topic.configs, { config, generation: config.generation, settings });
  return settings;
}
