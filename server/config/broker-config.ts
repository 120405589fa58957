import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { BROKER_CONFIG_BY_KEY, BROKER_CONFIG_DEFINITIONS, SENSITIVE_BROKER_KEYS, envNameOf, type ConfigDefinition } from './definitions.js';
import { interBrokerListener, ListenerConfigError, parseListeners, type ListenerSpec } from './listeners.js';
import { PlaceholderError, resolvePlaceholders } from './placeholders.js';
import { parseProperties } from './properties.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where a value comes from: the static layers, then the dynamic ones (AlterConfigs on a broker resource). */
export type ConfigSource = 'default' | 'file' | 'environment' | 'override' | 'dynamic-default' | 'dynamic-broker';

/** The two dynamic levels, as Kafka names its DescribeConfigs sources. */
export type DynamicLevel = 'dynamic-default' | 'dynamic-broker';

export interface ListenerAddress {
  host: string;
  port: number;
}

/**
 * The broker's effective configuration: defaults, then the properties file, then
 * environment variables (KAFKA_MYSQL_<KEY>), then explicit overrides (tests, CLI flags): the
 * static layers. Above them, as in Kafka, the dynamic layers set through AlterConfigs on a
 * broker resource: the cluster-wide default, then this broker's own (applyDynamic). Static
 * values are validated once here, so the rest of the broker reads typed fields; the fields of
 * dynamic keys are getters over the current values, so whoever reads them at each use sees a
 * change at once (never keep a copy of a dynamic key's value). Values arrive with their
 * ${file:...}/${env:...} placeholders resolved (loadConfig). Logged or inspected, the object
 * shows sensitive values masked (toJSON).
 */
export class BrokerConfig {
  /** The static layers merged. */
  private readonly values = new Map<string, string | null>();
  private readonly sources = new Map<string, ConfigSource>();
  private dynamicLayers: Record<DynamicLevel, ReadonlyMap<string, string>> = { 'dynamic-default': new Map(), 'dynamic-broker': new Map() };
  /** The static layers with the dynamic ones on top (applyDynamic). */
  private current = new Map<string, string | null>();
  private currentSources = new Map<string, ConfigSource>();
  private applied = 0;

  readonly brokerId: number;
  /** The inter-broker listener (see interBrokerListener): where other brokers and the local CLI connect. */
  readonly listener: ListenerAddress;
  readonly advertised: ListenerAddress;
  /** Every listener (listeners, advertised.listeners, listener.security.protocol.map). */
  readonly listeners: readonly ListenerSpec[];
  readonly rack: string | null;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly autoCreateTopics: boolean;
  readonly deleteTopicEnable: boolean;
  readonly socketRequestMaxBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly mysqlUrl: string | null;
  readonly mysqlShards: string[];
  readonly mysqlDataDir: string;
  readonly mysqlManagedPort: number;
  readonly mysqlPoolSize: number;
  readonly tailCacheBytes: number;
  readonly groupCommitMaxDelayMs: number;
  readonly groupCommitMaxBytes: number;
  readonly metricsListener: ListenerAddress | null;
  /** metrics.listener is https://: the HTTP listener speaks TLS (listener.name.http.ssl.* keys). */
  readonly metricsListenerTls: boolean;
  readonly logLevel: string;

  constructor(layers: { source: ConfigSource; values: Map<string, string> }[]) {
    for (const d of BROKER_CONFIG_DEFINITIONS) {
      this.values.set(d.key, d.default);
      this.sources.set(d.key, 'default');
    }
    for (const layer of layers) {
      for (const [key, value] of layer.values) {
        const definition = BROKER_CONFIG_BY_KEY.get(key) ?? listenerOverrideDefinition(key);
        if (!definition) throw new ConfigError(`unknown configuration key '${key}' (from ${layer.source})`);
        checkType(definition, value);
        this.values.set(key, value);
        this.sources.set(key, layer.source);
      }
    }
    this.current = new Map(this.values);
    this.currentSources = new Map(this.sources);
    this.brokerId = this.int('broker.id');
    try {
      this.listeners = parseListeners({
        listeners: this.string('listeners')!,
        advertisedListeners: this.string('advertised.listeners'),
        protocolMap: this.string('listener.security.protocol.map'),
        interBrokerListenerName: this.string('inter.broker.listener.name'),
      });
    } catch (err) {
      if (err instanceof ListenerConfigError) throw new ConfigError(err.message);
      throw err;
    }
    const inter = interBrokerListener(this.listeners, this.string('inter.broker.listener.name'));
    this.listener = { host: inter.host, port: inter.port };
    this.advertised = { host: inter.advertisedHost, port: inter.advertisedPort };
    this.rack = this.string('broker.rack');
    this.numPartitions = this.positive('num.partitions');
    this.defaultReplicationFactor = this.positive('default.replication.factor');
    this.autoCreateTopics = this.bool('auto.create.topics.enable');
    this.deleteTopicEnable = this.bool('delete.topic.enable');
    this.positive('message.max.bytes');
    this.socketRequestMaxBytes = this.positive('socket.request.max.bytes');
    this.int('log.retention.bytes');
    this.retentionCheckIntervalMs = this.positive('log.retention.check.interval.ms');
    this.nonNegative('log.orphan.table.grace.ms');
    this.mysqlUrl = this.string('mysql.url');
    const shards = this.string('mysql.shards');
    this.mysqlShards = shards ? shards.split(',').map((s) => s.trim()).filter(Boolean) : [];
    this.mysqlDataDir = this.string('mysql.data.dir')!;
    this.mysqlManagedPort = this.int('mysql.managed.port');
    this.mysqlPoolSize = this.positive('mysql.pool.size');
    this.tailCacheBytes = this.int('log.tail.cache.bytes');
    this.groupCommitMaxDelayMs = this.int('group.commit.max.delay.ms');
    this.groupCommitMaxBytes = this.int('group.commit.max.bytes');
    if (this.groupCommitMaxBytes < 1024 * 1024) {
      throw new ConfigError(`'group.commit.max.bytes' must be at least 1048576 (1 MiB), got ${this.groupCommitMaxBytes}`);
    }
    // http://host:port or host:port: plain HTTP; https://host:port: TLS (docs/http.md).
    const metrics = this.string('metrics.listener');
    const scheme = /^(https?):\/\//i.exec(metrics ?? '');
    this.metricsListenerTls = scheme?.[1]!.toLowerCase() === 'https';
    this.metricsListener = metrics ? parseHostPort(scheme ? metrics!.slice(scheme[0].length) : metrics, 'metrics.listener') : null;
    this.logLevel = this.string('log.level')!;
  }

  /** message.max.bytes in force. */
  get messageMaxBytes(): number {
    return this.int('message.max.bytes');
  }

  /** Effective log.retention.ms in force (ms/minutes/hours resolved as Kafka does). */
  get retentionMs(): number {
    const ms = this.string('log.retention.ms');
    if (ms !== null) return Number(ms);
    const minutes = this.string('log.retention.minutes');
    if (minutes !== null) return Number(minutes) * 60_000;
    return this.int('log.retention.hours') * 3_600_000;
  }

  get retentionBytes(): number {
    return this.int('log.retention.bytes');
  }

  get orphanTableGraceMs(): number {
    return this.int('log.orphan.table.grace.ms');
  }

  /** Value of a key in force (null when unset), placeholders resolved: a sensitive key's secret in clear. */
  get(key: string): string | null {
    return this.current.get(key) ?? null;
  }

  /** Value of a key from the static layers alone (file, environment, overrides, default). */
  staticValue(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  /** Where the static value comes from ('default' when no static layer sets it). */
  staticSourceOf(key: string): ConfigSource {
    return this.sources.get(key) ?? 'default';
  }

  /** The keys set at one dynamic level, as last applied. */
  dynamicConfigs(level: DynamicLevel): ReadonlyMap<string, string> {
    return this.dynamicLayers[level];
  }

  /**
   * Puts the dynamic layers in force: the cluster-wide default over the static layers, this
   * broker's own over both. As Kafka's DynamicBrokerConfig.overrideProps does, a key set at a
   * level hides the lower levels' values of its synonyms (log.retention.ms/minutes/hours), so
   * they fall back to their defaults. The caller has validated the values (dynamic keys of the
   * right type). Returns the keys whose value in force changed.
   */
  applyDynamic(defaults: ReadonlyMap<string, string>, perBroker: ReadonlyMap<string, string>): string[] {
    const next = new Map(this.values);
    const nextSources = new Map(this.sources);
    for (const [level, layer] of [['dynamic-default', defaults], ['dynamic-broker', perBroker]] as const) {
      for (const [key, value] of layer) {
        for (const synonym of brokerConfigSynonyms(key)) {
          next.set(synonym, BROKER_CONFIG_BY_KEY.get(synonym)?.default ?? null);
          nextSources.set(synonym, 'default');
        }
        next.set(key, value);
        nextSources.set(key, level);
      }
    }
    const changed = [...next.keys()].filter((k) => next.get(k) !== this.current.get(k));
    this.dynamicLayers = { 'dynamic-default': new Map(defaults), 'dynamic-broker': new Map(perBroker) };
    this.current = next;
    this.currentSources = nextSources;
    this.applied++;
    return changed;
  }

  /** Changes whenever the values in force may have changed (applyDynamic): caches of values derived from them compare it. */
  get generation(): number {
    return this.applied;
  }

  /** The value fit for logs and error messages: sensitive ones with their passwords masked. */
  redacted(key: string): string | null {
    return redactConfigValue(key, this.get(key));
  }

  /** What JSON.stringify and so pino show of a logged config: every key, sensitive ones masked. */
  toJSON(): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const key of this.current.keys()) out[key] = this.redacted(key);
    return out;
  }

  /** console.log and util.inspect show the same masked view (the typed fields hold the URLs). */
  [inspect.custom](): string {
    return `BrokerConfig ${inspect(this.toJSON())}`;
  }

  /** Where the value in force comes from. */
  sourceOf(key: string): ConfigSource {
    return this.currentSources.get(key) ?? 'default';
  }

  string(key: string): string | null {
    const v = this.current.get(key);
    return v === undefined || v === null || v === '' ? null : v;
  }

  int(key: string): number {
    const v = this.string(key);
    if (v === null) throw new ConfigError(`'${key}' has no value`);
    return Number(v);
  }

  bool(key: string): boolean {
    return this.string(key) === 'true';
  }

  private positive(key: string): number {
    const n = this.int(key);
    if (n <= 0) throw new ConfigError(`'${key}' must be positive, got ${n}`);
    return n;
  }

  private nonNegative(key: string): number {
    const n = this.int(key);
    if (n < 0) throw new ConfigError(`'${key}' must be 0 or more, got ${n}`);
    return n;
  }

}

/**
 * The broker keys that name one setting (Kafka's DynamicBrokerConfig.brokerConfigSynonyms),
 * most specific first; a key without synonyms is alone in its list.
 */
export function brokerConfigSynonyms(key: string): string[] {
  return RETENTION_SYNONYMS.includes(key) ? [...RETENTION_SYNONYMS] : [key];
}

const RETENTION_SYNONYMS: readonly string[] = ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'];

/**
 * A value as logs may show it: a sensitive key's URLs with their passwords replaced by ***
 * (host and database stay visible for diagnosis); any other sensitive value entirely.
 * Non-sensitive keys pass unchanged. Unlike storage's redactUrl, the password runs to the
 * last '@', so an unencoded '@' or '/' in it leaks nothing.
 */
export function redactConfigValue(key: string, value: string | null): string | null {
  if (value === null) return value;
  const override = SENSITIVE_BROKER_KEYS.has(key) ? undefined : listenerOverrideDefinition(key);
  if (!SENSITIVE_BROKER_KEYS.has(key) && !override?.sensitive) return value;
  const items = (BROKER_CONFIG_BY_KEY.get(key) ?? override)!.type === 'list' ? value.split(',') : [value];
  return items.map(redactItem).join(',');
}

function redactItem(item: string): string {
  if (item.trim() === '') return item;
  if (!item.includes('://')) return '***';
  if (!item.includes('@')) return item; // no user info, nothing secret
  // Anything the pattern cannot take apart is hidden whole.
  return URL_PASSWORD.test(item) ? item.replace(URL_PASSWORD, '$1***@') : '***';
}

/**
 * `scheme://user:` then the password, up to the last '@' before the query: a password with an
 * unencoded '/' or '@' is hidden whole (a database name with '@' would be hidden with it).
 */
const URL_PASSWORD = /(:\/\/[^:/?#@]*:)[^?#]*@/;

function checkType(d: ConfigDefinition, value: string): void {
  const v = value.trim();
  switch (d.type) {
    case 'int':
    case 'long':
      if (!/^-?\d+$/.test(v) || (d.type === 'int' && Math.abs(Number(v)) > 2 ** 31 - 1) || !Number.isSafeInteger(Number(v))) {
        throw new ConfigError(`'${d.key}' must be an integer, got '${value}'`);
      }
      return;
    case 'boolean':
      if (v !== 'true' && v !== 'false') throw new ConfigError(`'${d.key}' must be true or false, got '${value}'`);
      return;
    default:
      return;
  }
}

/** First listener of a Kafka listener list, e.g. `PLAINTEXT://127.0.0.1:9092`. */
export function parseListener(value: string): ListenerAddress {
  const first = value.split(',')[0]!.trim();
  const match = /^([A-Za-z0-9_]+):\/\/(.*)$/.exec(first);
  return parseHostPort(match ? match[2]! : first, 'listeners');
}

/**
 * Kafka's per-listener overrides, `listener.name.<listener>.<key>` (ssl.*, sasl.*,
 * `<mechanism>.sasl.jaas.config`, connections.max.reauth.ms): kept as strings; the listener
 * code reads them before the plain key.
 */
function listenerOverrideDefinition(key: string): ConfigDefinition | undefined {
  const match = /^listener\.name\.[a-z0-9_]+\.(.+)$/.exec(key);
  if (!match) return undefined;
  const rest = match[1]!;
  const base = BROKER_CONFIG_BY_KEY.get(rest);
  if (base && (rest.startsWith('ssl.') || rest.startsWith('sasl.') || rest === 'connections.max.reauth.ms')) return { ...base, key, dynamic: false };
  if (/^[a-z0-9-]+\.sasl\.jaas\.config$/.test(rest)) return { key, type: 'password', default: null, doc: '', kafka: true, sensitive: true, dynamic: false };
  return undefined;
}

function parseHostPort(value: string, key: string): ListenerAddress {
  const at = value.lastIndexOf(':');
  const host = at >= 0 ? value.slice(0, at).replace(/^\[|\]$/g, '') : value;
  const port = at >= 0 ? Number(value.slice(at + 1)) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`'${key}': bad host:port '${value}'`);
  return { host: host || '127.0.0.1', port };
}

export interface LoadConfigOptions {
  /** Path of a properties file; KAFKA_MYSQL_CONFIG names one too. */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, string | number | boolean>;
}

export function loadConfig(options: LoadConfigOptions = {}): BrokerConfig {
  const env = options.env ?? process.env;
  const layers: { source: ConfigSource; values: Map<string, string> }[] = [];
  const file = options.file ?? env.KAFKA_MYSQL_CONFIG ?? null;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
    }
    layers.push({ source: 'file', values: parseProperties(text) });
  }
  const fromEnv = new Map<string, string>();
  for (const d of BROKER_CONFIG_DEFINITIONS) {
    const value = env[envNameOf(d.key)];
    if (value !== undefined) fromEnv.set(d.key, value);
  }
  // The one short alias the README promises.
  if (env.KAFKA_MYSQL_URL !== undefined) fromEnv.set('mysql.url', env.KAFKA_MYSQL_URL);
  layers.push({ source: 'environment', values: fromEnv });
  if (options.overrides) {
    layers.push({
      source: 'override',
      values: new Map(Object.entries(options.overrides).map(([k, v]) => [k, String(v)])),
    });
  }
  return new BrokerConfig(layers.map((layer) => ({ source: layer.source, values: resolveLayer(layer.values, env, layer.source) })));
}

/** Every value of a layer with its ${provider:...} placeholders resolved (see placeholders.ts). */
function resolveLayer(values: Map<string, string>, env: NodeJS.ProcessEnv, source: ConfigSource): Map<string, string> {
  const resolved = new Map<string, string>();
  for (const [key, value] of values) {
    try {
      resolved.set(key, resolvePlaceholders(key, value, env));
    } catch (err) {
      if (err instanceof PlaceholderError) throw new ConfigError(`${err.message} (placeholder from ${source})`);
      throw err;
    }
  }
  return resolved;
}
