/**
 * DescribeConfigs entries as Kafka 3.9's ConfigHelper builds them. Each entry's synonyms are the
 * broker keys naming the same setting, looked up level by level, from the most specific
 * (this broker's dynamic configs, then the cluster-wide dynamic default, then the static
 * configuration, then the built-in defaults), and within a level in the synonym order
 * (log.retention.ms, .minutes, .hours); the list then starts at the entry's own key, so a
 * retention.ms taken from the default log.retention.hours has no synonym, as in Kafka. A topic
 * entry puts the topic's own value first. The entry's source is its first synonym's (default
 * when there is none). Entries come in Kafka's order (kafka-order.ts); the handler drops the
 * synonyms unless the request asks for them.
 */
import { brokerConfigSynonyms, type BrokerConfig } from './broker-config.js';
import { BROKER_CONFIG_BY_KEY, BROKER_CONFIG_DEFINITIONS, type ConfigType } from './definitions.js';
import { kafkaBrokerConfigOrder, kafkaTopicConfigOrder } from './kafka-order.js';
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

type Source = (typeof ConfigSourceCode)[keyof typeof ConfigSourceCode];

/** Kafka's ConfigHelper.configSynonyms: every level's values of `names`, starting at `name`. */
function configSynonyms(broker: BrokerConfig, name: string, names: readonly string[], sensitive: boolean): DescribedSynonym[] {
  const levels: Array<[Source, (key: string) => string | null | undefined]> = [
    [ConfigSourceCode.DYNAMIC_BROKER_CONFIG, (k) => broker.dynamicConfigs('dynamic-broker').get(k)],
    [ConfigSourceCode.DYNAMIC_DEFAULT_BROKER_CONFIG, (k) => broker.dynamicConfigs('dynamic-default').get(k)],
    [ConfigSourceCode.STATIC_BROKER_CONFIG, (k) => (broker.staticSourceOf(k) === 'default' ? undefined : broker.staticValue(k))],
    [ConfigSourceCode.DEFAULT_CONFIG, (k) => BROKER_CONFIG_BY_KEY.get(k)?.default],
  ];
  const all: DescribedSynonym[] = [];
  for (const [source, valueOf] of levels) {
    for (const key of names) {
      const value = valueOf(key);
      if (value !== undefined && value !== null) all.push({ name: key, value: sensitive ? null : value, source });
    }
  }
  const first = all.findIndex((s) => s.name === name);
  return first < 0 ? [] : all.slice(first);
}

/** The keys to describe: all (null or empty request list), else those asked, in Kafka's order either way. */
function selected(ordered: readonly string[], keys: readonly string[] | null): string[] {
  if (!keys || keys.length === 0) return [...ordered];
  const wanted = new Set(keys);
  return ordered.filter((k) => wanted.has(k));
}

const TOPIC_ORDER = kafkaTopicConfigOrder(TOPIC_CONFIG_DEFINITIONS.map((d) => d.key));
const BROKER_ORDER = kafkaBrokerConfigOrder(
  BROKER_CONFIG_DEFINITIONS.map((d) => d.key),
  (k) => BROKER_CONFIG_BY_KEY.get(k)!.kafka,
);

/** Every topic config (or only `keys`) of a topic, with value, source and synonyms. */
export function describeTopicConfigs(
  topicConfigs: Record<string, string>,
  broker: BrokerConfig,
  keys: readonly string[] | null,
): DescribedConfig[] {
  return selected(TOPIC_ORDER, keys).map((key) => {
    const definition = TOPIC_CONFIG_BY_KEY.get(key)!;
    const brokerKey = definition.brokerSynonym;
    const synonyms = brokerKey ? configSynonyms(broker, brokerKey, brokerConfigSynonyms(brokerKey), false) : [];
    const own = topicConfigs[key];
    if (own !== undefined) synonyms.unshift({ name: key, value: own, source: ConfigSourceCode.TOPIC_CONFIG });
    const source = synonyms[0]?.source ?? ConfigSourceCode.DEFAULT_CONFIG;
    return {
      name: key,
      value: effectiveTopicConfig(key, topicConfigs, broker).value,
      readOnly: false,
      isDefault: source === ConfigSourceCode.DEFAULT_CONFIG,
      source,
      isSensitive: false,
      synonyms,
      type: CONFIG_TYPE_CODE[definition.type],
      documentation: definition.applied ? null : 'Accepted for compatibility; kafka-mysql does not act on it.',
    };
  });
}

/**
 * A broker resource. `perBroker` (the resource named by this broker's id): every broker config
 * with the value in force; read-only unless it can change at run time. Otherwise (the
 * cluster-wide default, resource name ""): only the keys set at that level, with that level's
 * synonyms alone, as Kafka describes it. Sensitive keys (every password and mysql.shards, whose
 * URLs carry passwords) have a null value and isSensitive, in the entry and its synonyms.
 */
export function describeBrokerConfigs(broker: BrokerConfig, keys: readonly string[] | null, perBroker = true): DescribedConfig[] {
  const defaults = broker.dynamicConfigs('dynamic-default');
  const present = perBroker ? BROKER_ORDER : BROKER_ORDER.filter((k) => defaults.has(k));
  return selected(present, keys).map((key) => {
    const d = BROKER_CONFIG_BY_KEY.get(key)!;
    const all = configSynonyms(broker, key, brokerConfigSynonyms(key), d.sensitive);
    const synonyms = perBroker ? all : all.filter((s) => s.source === ConfigSourceCode.DYNAMIC_DEFAULT_BROKER_CONFIG);
    const source = synonyms[0]?.source ?? ConfigSourceCode.DEFAULT_CONFIG;
    const value = d.sensitive ? null : perBroker ? broker.get(key) : defaults.get(key)!;
    return {
      name: key,
      value,
      readOnly: !d.dynamic,
      isDefault: source === ConfigSourceCode.DEFAULT_CONFIG,
      source,
      isSensitive: d.sensitive,
      synonyms,
      type: CONFIG_TYPE_CODE[d.type],
      documentation: d.doc,
    };
  });
}
