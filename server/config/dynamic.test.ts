/**
 * Dynamic broker configs without MySQL: which keys may change and Kafka's messages for the
 * others, the precedence of the dynamic levels over the static ones (and the synonym hiding
 * of Kafka's overrideProps), typed fields that follow the value in force, and the
 * DescribeConfigs entries Kafka's ConfigHelper would give (sources, synonyms, order).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { ConfigSourceCode as S, describeBrokerConfigs, describeTopicConfigs, effectiveTopicConfig, loadConfig, validateDynamicConfigs } from './index.js';
import { javaHashMapCapacity, javaHashMapOrder, javaStringHash, kafkaTopicConfigOrder } from './kafka-order.js';

const m = (entries: Record<string, string>) => new Map(Object.entries(entries));

function refused(configs: Record<string, string>): KafkaError {
  try {
    validateDynamicConfigs(m(configs));
  } catch (err) {
    return err as KafkaError;
  }
  throw new Error('accepted');
}

describe('which keys may change at run time', () => {
  it('accepts the keys Kafka 3.9 lets change, normalized', () => {
    expect(validateDynamicConfigs(m({ 'log.retention.ms': ' 60000 ', 'log.cleanup.policy': 'compact,delete', 'message.max.bytes': '2000000' }))).toEqual(
      m({ 'log.retention.ms': '60000', 'log.cleanup.policy': 'compact,delete', 'message.max.bytes': '2000000' }),
    );
  });

  it('refuses read-only keys as a whole with Kafka message, before looking at values', () => {
    // log.retention.hours and num.partitions are read-only in Kafka 3.9 (only log.retention.ms of the three is dynamic).
    const err = refused({ 'log.retention.ms': 'soon', 'num.partitions': '3', 'log.retention.hours': '1' });
    expect(err.code).toBe(ErrorCode.INVALID_REQUEST);
    expect(err.message).toBe('Cannot update these configs dynamically: Set(num.partitions, log.retention.hours)');
    expect(refused({ 'auto.create.topics.enable': 'false' }).message).toBe('Cannot update these configs dynamically: Set(auto.create.topics.enable)');
    expect(refused({ listeners: 'PLAINTEXT://127.0.0.1:1' }).message).toBe('Cannot update these configs dynamically: Set(listeners)');
  });

  it('refuses keys kafka-mysql does not have, and bad values with Kafka ConfigException wording', () => {
    expect(refused({ 'log.cleaner.threads': '2' })).toMatchObject({ code: ErrorCode.INVALID_REQUEST, message: 'Unknown broker configs (kafka-mysql does not have them): Set(log.cleaner.threads)' });
    expect(refused({ 'message.max.bytes': 'big' }).message).toBe('Invalid value big for configuration message.max.bytes: Not a number of type INT');
    expect(refused({ 'message.max.bytes': '-1' }).message).toBe('Invalid value -1 for configuration message.max.bytes: Value must be at least 0');
    expect(refused({ 'log.cleanup.policy': 'delete,shred' }).message).toBe('Invalid value delete,shred for configuration log.cleanup.policy: String must be one of: delete, compact');
    expect(refused({ 'log.message.timestamp.type': 'Now' }).code).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('the dynamic levels', () => {
  it('puts this broker over the cluster default over the static config, and typed fields follow', () => {
    const config = loadConfig({ env: {}, overrides: { 'message.max.bytes': 3000 } });
    expect(config.messageMaxBytes).toBe(3000);
    expect(config.applyDynamic(m({ 'message.max.bytes': '2000' }), new Map())).toEqual(['message.max.bytes']);
    expect([config.messageMaxBytes, config.sourceOf('message.max.bytes')]).toEqual([2000, 'dynamic-default']);
    config.applyDynamic(m({ 'message.max.bytes': '2000' }), m({ 'message.max.bytes': '1000' }));
    expect([config.messageMaxBytes, config.sourceOf('message.max.bytes')]).toEqual([1000, 'dynamic-broker']);
    expect(effectiveTopicConfig('max.message.bytes', {}, config)).toEqual({ value: '1000', source: 'broker' });
    expect(config.applyDynamic(new Map(), new Map())).toEqual(['message.max.bytes']);
    expect([config.messageMaxBytes, config.sourceOf('message.max.bytes')]).toEqual([3000, 'override']);
    expect(config.staticValue('message.max.bytes')).toBe('3000');
  });

  it('hides the static synonyms of a dynamic log.retention.ms, as Kafka overrideProps does', () => {
    const config = loadConfig({ env: {}, overrides: { 'log.retention.hours': 48, 'log.retention.minutes': 30 } });
    expect(config.retentionMs).toBe(30 * 60_000);
    config.applyDynamic(m({ 'log.retention.ms': '5000' }), new Map());
    expect(config.retentionMs).toBe(5000);
    expect(config.get('log.retention.minutes')).toBeNull();
    expect(config.get('log.retention.hours')).toBe('720');
    config.applyDynamic(new Map(), new Map());
    expect(config.retentionMs).toBe(30 * 60_000);
  });
});

describe('DescribeConfigs entries', () => {
  const byName = <T extends { name: string }>(list: T[]) => new Map(list.map((e) => [e.name, e]));

  it('lists every level of a broker key, most specific first, and marks dynamic keys writable', () => {
    const config = loadConfig({ env: {}, overrides: { 'message.max.bytes': 3000, 'log.retention.hours': 48 } });
    config.applyDynamic(m({ 'message.max.bytes': '2000', 'log.retention.ms': '60000' }), m({ 'message.max.bytes': '1000' }));
    const entries = byName(describeBrokerConfigs(config, null));
    expect(entries.get('message.max.bytes')).toMatchObject({ value: '1000', source: S.DYNAMIC_BROKER_CONFIG, readOnly: false, isDefault: false });
    expect(entries.get('message.max.bytes')!.synonyms).toEqual([
      { name: 'message.max.bytes', value: '1000', source: S.DYNAMIC_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '2000', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '3000', source: S.STATIC_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '1048588', source: S.DEFAULT_CONFIG },
    ]);
    // log.retention.hours: its own levels only (the synonym list starts at its own name); its value in force is the default again.
    expect(entries.get('log.retention.hours')).toMatchObject({ value: '720', source: S.STATIC_BROKER_CONFIG, readOnly: true });
    expect(entries.get('log.retention.hours')!.synonyms).toEqual([
      { name: 'log.retention.hours', value: '48', source: S.STATIC_BROKER_CONFIG },
      { name: 'log.retention.hours', value: '720', source: S.DEFAULT_CONFIG },
    ]);
    expect(entries.get('log.retention.ms')!.synonyms).toEqual([
      { name: 'log.retention.ms', value: '60000', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name: 'log.retention.hours', value: '48', source: S.STATIC_BROKER_CONFIG },
      { name: 'log.retention.hours', value: '720', source: S.DEFAULT_CONFIG },
    ]);
    expect(entries.get('num.partitions')).toMatchObject({ readOnly: true, source: S.DEFAULT_CONFIG });
  });

  it('describes the cluster default resource with only the keys set there and that level alone', () => {
    const config = loadConfig({ env: {}, overrides: { 'message.max.bytes': 3000 } });
    expect(describeBrokerConfigs(config, null, false)).toEqual([]);
    config.applyDynamic(m({ 'message.max.bytes': '2000' }), m({ 'message.max.bytes': '1000', 'log.retention.bytes': '5' }));
    const entries = describeBrokerConfigs(config, null, false);
    expect(entries.map((e) => [e.name, e.value, e.source, e.synonyms])).toEqual([
      ['message.max.bytes', '2000', S.DYNAMIC_DEFAULT_BROKER_CONFIG, [{ name: 'message.max.bytes', value: '2000', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG }]],
    ]);
  });

  it('gives topic entries the broker levels behind them; retention.ms from log.retention.hours has none, as in Kafka', () => {
    const config = loadConfig({ env: {}, overrides: { 'log.retention.hours': 48 } });
    let entries = byName(describeTopicConfigs({}, config, null));
    expect(entries.get('retention.ms')).toMatchObject({ value: String(48 * 3_600_000), source: S.DEFAULT_CONFIG, synonyms: [] });
    config.applyDynamic(m({ 'log.retention.ms': '60000', 'log.message.timestamp.after.max.ms': '1000' }), new Map());
    entries = byName(describeTopicConfigs({ 'retention.ms': '7' }, config, null));
    expect(entries.get('retention.ms')).toMatchObject({ value: '7', source: S.TOPIC_CONFIG });
    expect(entries.get('retention.ms')!.synonyms.map((s) => [s.name, s.source])).toEqual([
      ['retention.ms', S.TOPIC_CONFIG],
      ['log.retention.ms', S.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['log.retention.hours', S.STATIC_BROKER_CONFIG],
      ['log.retention.hours', S.DEFAULT_CONFIG],
    ]);
    expect(entries.get('message.timestamp.after.max.ms')).toMatchObject({ value: '1000', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG });
  });

  it('comes in Kafka order, a configuration_keys filter keeping it', () => {
    // String.hashCode as a JVM gives it, then a HashMap's slots for 12, 13, 36 and 385 keys.
    expect([javaStringHash('hello'), javaStringHash('retention.ms')]).toEqual([99162322, -1339220362]);
    expect([javaHashMapCapacity(12), javaHashMapCapacity(13), javaHashMapCapacity(36), javaHashMapCapacity(385)]).toEqual([16, 32, 64, 1024]);
    expect(javaHashMapOrder(['b', 'a', 'c'], 16)).toEqual(['a', 'b', 'c']);
    // The first topic entries, as a java.util.HashMap filled with Kafka 3.9's 36 topic keys iterates them (run on a JVM).
    expect(describeTopicConfigs({}, loadConfig({ env: {} }), null).slice(0, 6).map((e) => e.name)).toEqual([
      'compression.type',
      'leader.replication.throttled.replicas',
      'remote.storage.enable',
      'min.insync.replicas',
      'message.downconversion.enable',
      'segment.jitter.ms',
    ]);
    expect(describeTopicConfigs({}, loadConfig({ env: {} }), ['retention.bytes', 'cleanup.policy', 'retention.bytes']).map((e) => e.name)).toEqual([
      'cleanup.policy',
      'retention.bytes',
    ]);
    expect(kafkaTopicConfigOrder(['retention.archive', 'segment.ms', 'compression.type'])).toEqual(['compression.type', 'segment.ms', 'retention.archive']);
  });
});
