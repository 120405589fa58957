import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { BrokerConfig } from './broker-config.js';

/**
 * Topic-level configuration keys, as Apache Kafka 3.9 defines them. Every key Kafka
 * accepts is accepted and reported (DescribeConfigs); `applied` says whether kafka-mysql
 * acts on it. A key Kafka does not know is rejected with INVALID_CONFIG, as Kafka does.
 */
export type TopicConfigType = 'long' | 'int' | 'boolean' | 'string' | 'list' | 'double';

export interface TopicConfigDefinition {
  key: string;
  type: TopicConfigType;
  /** Broker key whose value is the default (DescribeConfigs synonym), if any. */
  brokerSynonym: string | null;
  /** Fixed default when there is no broker synonym. */
  default: string;
  applied: boolean;
  validValues?: readonly string[];
  min?: number;
}

const t = (
  key: string,
  type: TopicConfigType,
  brokerSynonym: string | null,
  dflt: string,
  applied = false,
  extra: Partial<TopicConfigDefinition> = {},
): TopicConfigDefinition => ({ key, type, brokerSynonym, default: dflt, applied, ...extra });

const COMPRESSION = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;

export const TOPIC_CONFIG_DEFINITIONS: readonly TopicConfigDefinition[] = [
  t('cleanup.policy', 'list', 'log.cleanup.policy', 'delete', true, { validValues: ['delete', 'compact'] }),
  t('compression.type', 'string', 'compression.type', 'producer', false, { validValues: COMPRESSION }),
  // kafka-mysql's own keys (not Kafka's): delayed delivery by a deliver-at header (docs/delayed.md).
  t('delayed.delivery.enable', 'boolean', null, 'false', true),
  t('delayed.delivery.max.ms', 'long', null, '2592000000', true, { min: 0 }),
  t('delete.retention.ms', 'long', null, '86400000', true, { min: 0 }),
  t('file.delete.delay.ms', 'long', null, '60000', false, { min: 0 }),
  t('flush.messages', 'long', null, '9223372036854775807', false, { min: 1 }),
  t('flush.ms', 'long', null, '9223372036854775807', false, { min: 0 }),
  t('follower.replication.throttled.replicas', 'list', null, ''),
  t('index.interval.bytes', 'int', null, '4096', false, { min: 0 }),
  t('leader.replication.throttled.replicas', 'list', null, ''),
  t('local.retention.bytes', 'long', null, '-2', false, { min: -2 }),
  t('local.retention.ms', 'long', null, '-2', false, { min: -2 }),
  t('max.compaction.lag.ms', 'long', null, '9223372036854775807', true, { min: 1 }),
  t('max.message.bytes', 'int', 'message.max.bytes', '1048588', true, { min: 0 }),
  t('message.downconversion.enable', 'boolean', null, 'true'),
  t('message.format.version', 'string', null, '3.0-IV1'),
  t('message.timestamp.after.max.ms', 'long', 'log.message.timestamp.after.max.ms', '9223372036854775807', true, { min: 0 }),
  t('message.timestamp.before.max.ms', 'long', 'log.message.timestamp.before.max.ms', '9223372036854775807', true, { min: 0 }),
  t('message.timestamp.difference.max.ms', 'long', 'log.message.timestamp.difference.max.ms', '9223372036854775807', true, { min: 0 }),
  t('message.timestamp.type', 'string', 'log.message.timestamp.type', 'CreateTime', true, {
    validValues: ['CreateTime', 'LogAppendTime'],
  }),
  // kafka-mysql's own keys (not Kafka's): per-topic message-id deduplication (docs/outbox.md).
  t('message.id.header', 'string', null, '', true),
  t('message.id.dedupe.window.ms', 'long', null, '604800000', true, { min: 1 }),
  t('message.index.enable', 'boolean', null, 'false', true),
  t('min.cleanable.dirty.ratio', 'double', null, '0.5', true),
  t('min.compaction.lag.ms', 'long', null, '0', true, { min: 0 }),
  t('min.insync.replicas', 'int', 'min.insync.replicas', '1', false, { min: 1 }),
  t('preallocate', 'boolean', null, 'false'),
  t('remote.storage.enable', 'boolean', null, 'false'),
  t('retention.bytes', 'long', 'log.retention.bytes', '-1', true),
  t('retention.ms', 'long', 'log.retention.ms', '2592000000', true, { min: -1 }),
  // kafka-mysql's own key (not Kafka's): where the retention job moves deleted batches.
  t('retention.archive', 'string', null, 'none', true, { validValues: ['none', 'table', 'file'] }),
  // segment.bytes and segment.ms bound the uncompacted head of a compacted partition (docs/compaction.md).
  t('segment.bytes', 'int', 'log.segment.bytes', '1073741824', true, { min: 14 }),
  t('segment.index.bytes', 'int', null, '10485760', false, { min: 4 }),
  t('segment.jitter.ms', 'long', null, '0', false, { min: 0 }),
  t('segment.ms', 'long', null, '604800000', true, { min: 1 }),
  t('unclean.leader.election.enable', 'boolean', null, 'false'),
];

export const TOPIC_CONFIG_BY_KEY: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIG_DEFINITIONS.map((d) => [d.key, d]),
);

function invalid(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_CONFIG, message);
}

/** Checks one topic config; throws KafkaError INVALID_CONFIG naming the key. Returns the normalized value. */
export function validateTopicConfig(key: string, value: string | null): string {
  const d = TOPIC_CONFIG_BY_KEY.get(key);
  if (!d) throw invalid(`Unknown topic config name: ${key}`);
  if (value === null) throw invalid(`Null value not supported for topic configs: ${key}`);
  const v = value.trim();
  switch (d.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value ${value} for configuration ${key}: Not a number of type ${d.type.toUpperCase()}`);
      const n = BigInt(v);
      const limit = d.type === 'int' ? 2n ** 31n : 2n ** 63n;
      if (n >= limit || n < -limit) throw invalid(`Invalid value ${value} for configuration ${key}: Not a number of type ${d.type.toUpperCase()}`);
      if (d.min !== undefined && n < BigInt(d.min)) throw invalid(`Invalid value ${value} for configuration ${key}: Value must be at least ${d.min}`);
      return v;
    }
    case 'double':
      if (v === '' || Number.isNaN(Number(v))) throw invalid(`Invalid value ${value} for configuration ${key}: Not a number of type DOUBLE`);
      return v;
    case 'boolean':
      if (v.toLowerCase() !== 'true' && v.toLowerCase() !== 'false') {
        throw invalid(`Invalid value ${value} for configuration ${key}: Expected value to be either true or false`);
      }
      return v.toLowerCase();
    case 'list': {
      if (d.validValues) {
        for (const item of v.split(',').map((s) => s.trim())) {
          if (!d.validValues.includes(item)) throw invalid(`Invalid value ${item} for configuration ${key}: String must be one of: ${d.validValues.join(', ')}`);
        }
      }
      return v;
    }
    case 'string':
      if (d.validValues && !d.validValues.includes(v)) {
        throw invalid(`Invalid value ${value} for configuration ${key}: String must be one of: ${d.validValues.join(', ')}`);
      }
      return v;
  }
}

export function validateTopicConfigs(configs: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) out[key] = validateTopicConfig(key, value);
  return out;
}

export interface EffectiveTopicConfig {
  value: string;
  /** 'topic' when set on the topic, 'broker' when it comes from a broker key that was set, else 'default'. */
  source: 'topic' | 'broker' | 'default';
}

/** The value in force for one key of a topic: the topic's own, else the broker's synonym, else Kafka's default. */
export function effectiveTopicConfig(
  key: string,
  topicConfigs: Record<string, string>,
  broker: BrokerConfig,
): EffectiveTopicConfig {
  const own = topicConfigs[key];
  if (own !== undefined) return { value: own, source: 'topic' };
  const d = TOPIC_CONFIG_BY_KEY.get(key);
  if (!d) throw invalid(`Unknown topic config name: ${key}`);
  if (key === 'retention.ms') {
    const set = broker.sourceOf('log.retention.ms') !== 'default' || broker.sourceOf('log.retention.minutes') !== 'default' || broker.sourceOf('log.retention.hours') !== 'default';
    return { value: String(broker.retentionMs), source: set ? 'broker' : 'default' };
  }
  if (d.brokerSynonym) {
    const value = broker.get(d.brokerSynonym);
    if (value !== null) return { value, source: broker.sourceOf(d.brokerSynonym) === 'default' ? 'default' : 'broker' };
  }
  return { value: d.default, source: 'default' };
}
