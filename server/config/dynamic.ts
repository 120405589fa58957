/**
 * Dynamic broker configuration (Kafka's KIP-226): keys changed at run time through
 * AlterConfigs / IncrementalAlterConfigs on a broker resource, kept in MySQL (storage's
 * BrokerConfigStore) and put in force on every broker without a restart.
 *
 * Two levels, as in Kafka: the cluster-wide default (resource name "", entity '') and one
 * broker's own (resource name = its id), the latter winning. Only the keys of
 * DYNAMIC_BROKER_KEYS can be set; a request naming any other is refused as a whole with
 * INVALID_REQUEST and Kafka's message, "Cannot update these configs dynamically: Set(k1, k2)"
 * (Kafka 3.9 answers every broker-config validation failure with INVALID_REQUEST, KAFKA-13609).
 * Deviation: a key kafka-mysql does not have at all is refused too ("Unknown broker configs"),
 * where Kafka would store it as a custom config and do nothing with it.
 *
 * Propagation: there is no ZooKeeper or controller to notify brokers, so each broker re-reads
 * the table every broker.config.refresh.ms (2 s; one indexed SELECT of a few rows). The broker
 * that takes a change writes it and re-reads at once, so its own answer already reflects it;
 * the others follow within one refresh interval.
 */
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { BrokerConfigStore } from '../../storage/broker-configs.js';
import type { BrokerConfig } from './broker-config.js';
import { BROKER_CONFIG_BY_KEY, type ConfigDefinition } from './definitions.js';
import { TOPIC_CONFIG_DEFINITIONS, type TopicConfigDefinition } from './topic-configs.js';

/** Entity of the cluster-wide default (Kafka's empty broker resource name). */
export const DEFAULT_ENTITY = '';

const invalidRequest = (message: string): KafkaError => new KafkaError(ErrorCode.INVALID_REQUEST, message);

/** A list of names as Kafka (Scala) prints a Set in its messages. */
export function scalaSet(keys: readonly string[]): string {
  return `Set(${keys.join(', ')})`;
}

/** Topic config whose broker default each dynamic log key is: its valid values and minimum apply. */
const TOPIC_BY_BROKER_KEY: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIG_DEFINITIONS.filter((d) => d.brokerSynonym !== null).map((d) => [d.brokerSynonym!, d]),
);

/** Minimums of kafka-mysql's own dynamic keys. */
const OWN_MINIMUM: Readonly<Record<string, number>> = {
  'max.partitions.per.topic': 1,
  'max.partitions': 1,
  'auto.create.topics.max.per.request': 0,
  'log.orphan.table.grace.ms': 0,
};

/**
 * Checks a requested set of dynamic values (one entity's keys after the change) and returns
 * them normalized. Throws INVALID_REQUEST: keys that are not dynamic (Kafka's message), keys
 * kafka-mysql does not have, then the first value of a wrong type or out of range.
 */
export function validateDynamicConfigs(configs: ReadonlyMap<string, string>): Map<string, string> {
  checkDynamicNames([...configs.keys()]);
  const out = new Map<string, string>();
  for (const [key, value] of configs) out.set(key, validateDynamicValue(BROKER_CONFIG_BY_KEY.get(key)!, value));
  return out;
}

/** Throws INVALID_REQUEST naming the keys that cannot be changed at run time, then those unknown. */
export function checkDynamicNames(keys: readonly string[]): void {
  const readOnly = keys.filter((k) => BROKER_CONFIG_BY_KEY.has(k) && !BROKER_CONFIG_BY_KEY.get(k)!.dynamic);
  if (readOnly.length > 0) throw invalidRequest(`Cannot update these configs dynamically: ${scalaSet(readOnly)}`);
  const unknown = keys.filter((k) => !BROKER_CONFIG_BY_KEY.has(k));
  if (unknown.length > 0) throw invalidRequest(`Unknown broker configs (kafka-mysql does not have them): ${scalaSet(unknown)}`);
}

/** One value, with Kafka's ConfigException wording. */
function validateDynamicValue(d: ConfigDefinition, value: string): string {
  const v = value.trim();
  const bad = (why: string) => invalidRequest(`Invalid value ${value} for configuration ${d.key}: ${why}`);
  const topic = TOPIC_BY_BROKER_KEY.get(d.key);
  switch (d.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) throw bad(`Not a number of type ${d.type.toUpperCase()}`);
      const n = BigInt(v);
      const limit = d.type === 'int' ? 2n ** 31n : 2n ** 63n;
      if (n >= limit || n < -limit) throw bad(`Not a number of type ${d.type.toUpperCase()}`);
      const min = topic?.min ?? OWN_MINIMUM[d.key];
      if (min !== undefined && n < BigInt(min)) throw bad(`Value must be at least ${min}`);
      return v;
    }
    case 'boolean':
      if (v.toLowerCase() !== 'true' && v.toLowerCase() !== 'false') throw bad('Expected value to be either true or false');
      return v.toLowerCase();
    default: {
      const allowed = topic?.validValues;
      if (allowed) {
        const items = d.type === 'list' ? v.split(',').map((s) => s.trim()) : [v];
        for (const item of items) if (!allowed.includes(item)) throw bad(`String must be one of: ${allowed.join(', ')}`);
      }
      return v;
    }
  }
}

/** The broker resource name's entity: '' or this broker's id; anything else is refused as Kafka does. */
export function entityOf(resourceName: string, brokerId: number): string {
  if (resourceName === DEFAULT_ENTITY || resourceName === String(brokerId)) return resourceName;
  throw invalidRequest(`Unexpected broker id, expected ${brokerId} or empty string, but received ${resourceName}`);
}

/** An IncrementalAlterConfigs operation on a broker resource. */
export interface DynamicConfigOp {
  name: string;
  /** 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT (Kafka's AlterConfigOp codes). */
  op: number;
  value: string | null;
}

/**
 * Reads, validates and puts in force this broker's dynamic configuration; writes changes.
 * One per broker process (BrokerContext.dynamicConfigs).
 */
export class DynamicBrokerConfigs {
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<string[]> | undefined;
  /** Rows already reported as unusable, so a bad row is logged once, not every refresh. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly store: BrokerConfigStore,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  private get self(): string {
    return String(this.config.brokerId);
  }

  /**
   * Re-reads both levels and puts them in force; returns the keys whose value changed. A row
   * that is no longer valid (a key made static, a bad value) is skipped with a warning, as
   * Kafka ignores invalid persisted dynamic configs. Concurrent calls share one read.
   */
  refresh(): Promise<string[]> {
    this.refreshing ??= (async () => {
      try {
        const rows = await this.store.read([DEFAULT_ENTITY, this.self]);
        const changed = this.config.applyDynamic(this.usable(DEFAULT_ENTITY, rows.get(DEFAULT_ENTITY)!), this.usable(this.self, rows.get(this.self)!));
        if (changed.length > 0) {
          this.logger.info({ changed: Object.fromEntries(changed.map((k) => [k, this.config.redacted(k)])) }, 'dynamic broker configs applied');
        }
        return changed;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Refreshes every broker.config.refresh.ms until stop(). */
  start(): void {
    const interval = this.config.int('broker.config.refresh.ms');
    if (interval <= 0) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.logger.warn({ err }, 'dynamic broker config refresh failed'));
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
  }

  /** Legacy AlterConfigs: `configs` (null values dropped) becomes the entity's whole set. */
  async replace(resourceName: string, configs: ReadonlyArray<{ name: string; value: string | null }>, validateOnly: boolean): Promise<void> {
    const entity = entityOf(resourceName, this.config.brokerId);
    const wanted = new Map<string, string>();
    for (const c of configs) if (c.value !== null) wanted.set(c.name, c.value);
    const valid = validateDynamicConfigs(wanted);
    if (validateOnly) return;
    await this.store.replace(entity, valid);
    this.logger.info({ entity, configs: this.redactedMap(valid) }, 'broker configs replaced');
    await this.refresh();
  }

  /**
   * IncrementalAlterConfigs: SET and DELETE touch only the keys named (rows written and removed
   * in one transaction); APPEND and SUBTRACT work on the entity's stored value of a list key,
   * or the key's default when the entity has none (as Kafka does), read just before.
   */
  async alter(resourceName: string, ops: readonly DynamicConfigOp[], validateOnly: boolean): Promise<void> {
    const entity = entityOf(resourceName, this.config.brokerId);
    const stored = ops.some((o) => o.op === 2 || o.op === 3) ? (await this.store.read([entity])).get(entity)! : new Map<string, string>();
    const set = new Map<string, string>();
    const remove: string[] = [];
    for (const { name, op, value } of ops) {
      switch (op) {
        case 0:
          if (value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for configuration ${name}`);
          set.set(name, value);
          break;
        case 1:
          remove.push(name);
          break;
        case 2:
        case 3: {
          const d = BROKER_CONFIG_BY_KEY.get(name);
          if (d && d.type !== 'list') {
            throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value ${op === 2 ? 'append' : 'subtract'} is not allowed for config key: ${name}`);
          }
          const items = splitList(stored.get(name) ?? d?.default ?? '');
          const change = splitList(value ?? '');
          set.set(name, (op === 2 ? [...items, ...change.filter((v) => !items.includes(v))] : items.filter((v) => !change.includes(v))).join(','));
          break;
        }
        default:
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op} for key ${name}`);
      }
    }
    // Deleting a static or unknown key is refused too: Kafka validates every key named.
    checkDynamicNames([...new Set([...set.keys(), ...remove])]);
    const valid = validateDynamicConfigs(set);
    if (validateOnly) return;
    await this.store.update(entity, valid, remove);
    this.logger.info({ entity, set: this.redactedMap(valid), deleted: remove }, 'broker configs altered');
    await this.refresh();
  }

  private usable(entity: string, rows: ReadonlyMap<string, string>): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, value] of rows) {
      try {
        out.set(key, validateDynamicConfigs(new Map([[key, value]])).get(key)!);
      } catch (err) {
        const id = `${entity}\u0000${key}\u0000${value}`;
        if (!this.reported.has(id)) {
          this.reported.add(id);
          this.logger.warn({ entity, key, reason: (err as Error).message }, 'stored dynamic broker config ignored');
        }
      }
    }
    return out;
  }

  private redactedMap(configs: ReadonlyMap<string, string>): Record<string, string | null> {
    return Object.fromEntries([...configs.keys()].map((k) => [k, BROKER_CONFIG_BY_KEY.get(k)?.sensitive ? '***' : configs.get(k)!]));
  }
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
