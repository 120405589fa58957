// placeholder: replaced by the configuration module (properties file + environment overrides)
export interface BrokerConfig {
  [key: string]: unknown;
}
