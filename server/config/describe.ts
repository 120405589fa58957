import type { BrokerConfig } from './broker-config.js';
import { BROKER_CONFIG_DEFINITIONS, type ConfigType } from './definitions.js';
import { TOPIC_CONFIG_BY_KEY, TOPIC_CONFIG_DEFINITIONS, effectiveTopicConfig, type TopicConfigType } from './topic-configs.js';

/** Kafka's DescribeConfigs ConfigSource values. */
export const ConfigSourceCode = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** Kafka's DescribeConfigs ConfigType values (v3+). */
const CONFIG_TYPE_CODE: Record<TopicConfigType | ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
  password: 9,
};

export interface DescribedSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: number;
  isSensitive: boolean;
  /** Most specific first, as Kafka lists them. */
  synonyms: DescribedSynonym[];
  type: number;
  documentation: string | null;
}

function brokerSource(broker: BrokerConfig, key: string): number {
  return broker.sourceOf(key) === 'default' ? ConfigSourceCode.DEFAULT_CONFIG : ConfigSourceCode.STATIC_BROKER_CONFIG;
}

/** Every topic config (or only `keys`) of a topic, with value, source and synonyms. */
export function describeTopicConfigs(
  topicConfigs: Record<string, string>,
  broker: BrokerConfig,
  keys: readonly string[] | null,
): DescribedConfig[] {
  const wanted = keys ?? TOPIC_CONFIG_DEFINITIONS.map((d) => d.key);
  const out: DescribedConfig[] = [];
  for (const key of wanted) {
    const definition = TOPIC_CONFIG_BY_KEY.get(key);
    if (!definition) continue;
    const effective = effectiveTopicConfig(key, topicConfigs, broker);
    const synonyms: DescribedSynonym[] = [];
    if (topicConfigs[key] !== undefined) synonyms.push({ name: key, value: topicConfigs[key]!, source: ConfigSourceCode.TOPIC_CONFIG });
    const brokerKeys = key === 'retention.ms' ? ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'] : definition.brokerSynonym ? [definition.brokerSynonym] : [];
    for (const brokerKey of brokerKeys) {
      const value = broker.get(brokerKey);
      if (value !== null) synonyms.push({ name: brokerKey, value, source: brokerSource(broker, brokerKey) });
    }
    const source =
      effective.source === 'topic'
        ? ConfigSourceCode.TOPIC_CONFIG
        : effective.source === 'broker'
          ? ConfigSourceCode.STATIC_BROKER_CONFIG
          : ConfigSourceCode.DEFAULT_CONFIG;
    out.push({
      name: key,
      value: effective.value,
      readOnly: false,
      isDefault: effective.source !== 'topic',
      source,
      isSensitive: false,
      synonyms,
      type: CONFIG_TYPE_CODE[definition.type],
      documentation: definition.applied ? null : 'Accepted for compatibility; kafka-mysql does not act on it.',
    });
  }
  return out;
}

/**
 * The broker's own configuration (static: read-only). Sensitive keys (every password and
 * mysql.shards, whose URLs carry passwords) have a null value and isSensitive, in the entry and
 * in its synonym, as Kafka reports password configs.
 */
export function describeBrokerConfigs(broker: BrokerConfig, keys: readonly string[] | null): DescribedConfig[] {
  const out: DescribedConfig[] = [];
  for (const d of BROKER_CONFIG_DEFINITIONS) {
    if (keys && !keys.includes(d.key)) continue;
    const sensitive = d.sensitive;
    const value = sensitive ? null : broker.get(d.key);
    const source = brokerSource(broker, d.key);
    out.push({
      name: d.key,
      value,
      readOnly: true,
      isDefault: source === ConfigSourceCode.DEFAULT_CONFIG,
      source,
      isSensitive: sensitive,
      synonyms: [{ name: d.key, value, source }],
      type: CONFIG_TYPE_CODE[d.type],
      documentation: d.doc,
    });
  }
  return out;
}
