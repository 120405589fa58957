export { BrokerConfig, ConfigError, brokerConfigSynonyms, loadConfig, parseListener, redactConfigValue, type ConfigSource, type DynamicLevel, type ListenerAddress } from './broker-config.js';
export { DEFAULT_ENTITY, DynamicBrokerConfigs, validateDynamicConfigs, type DynamicConfigOp } from './dynamic.js';
export { BROKER_CONFIG_DEFINITIONS, DYNAMIC_BROKER_KEYS, SENSITIVE_BROKER_KEYS, envNameOf, type ConfigDefinition } from './definitions.js';
export { CONFIG_PROVIDERS, resolvePlaceholders } from './placeholders.js';
export { parseProperties } from './properties.js';
export {
  TOPIC_CONFIG_DEFINITIONS,
  TOPIC_CONFIG_BY_KEY,
  effectiveTopicConfig,
  validateTopicConfig,
  validateTopicConfigs,
  type TopicConfigDefinition,
  type EffectiveTopicConfig,
} from './topic-configs.js';
export { ConfigSourceCode, describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from './describe.js';
