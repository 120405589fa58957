import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import {
  BROKER_CONFIG_DEFINITIONS,
  ConfigError,
  TOPIC_CONFIG_DEFINITIONS,
  effectiveTopicConfig,
  envNameOf,
  loadConfig,
  parseProperties,
  validateTopicConfig,
} from './index.js';

describe('properties files', () => {
  it('parses Kafka-style server.properties', () => {
    const parsed = parseProperties(
      ['# comment', '! also comment', 'num.partitions=3', 'listeners = PLAINTEXT://127.0.0.1:19092', 'log.dirs: /x', 'long.value=a\\', '  b', 'esc=tab\\there'].join('\n'),
    );
    expect(Object.fromEntries(parsed)).toEqual({
      'num.partitions': '3',
      listeners: 'PLAINTEXT://127.0.0.1:19092',
      'log.dirs': '/x',
      'long.value': 'ab',
      esc: 'tab\there',
    });
  });
});

describe('broker configuration', () => {
  it('has Kafka defaults: 30 days retention, 1 partition, auto-create on', () => {
    const config = loadConfig({ env: {} });
    expect(config.retentionMs).toBe(2_592_000_000);
    expect(config.numPartitions).toBe(1);
    expect(config.autoCreateTopics).toBe(true);
    expect(config.socketRequestMaxBytes).toBe(104_857_600);
    expect(config.listener).toEqual({ host: '127.0.0.1', port: 9092 });
  });

  it('layers file < environment < overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-mysql-config-'));
    const file = join(dir, 'server.properties');
    writeFileSync(file, 'num.partitions=4\nlog.retention.hours=1\nauto.create.topics.enable=false\n');
    const config = loadConfig({ file, env: { KAFKA_MYSQL_NUM_PARTITIONS: '6' }, overrides: { 'log.retention.ms': 5000 } });
    expect(config.numPartitions).toBe(6);
    expect(config.sourceOf('num.partitions')).toBe('environment');
    expect(config.autoCreateTopics).toBe(false);
    expect(config.sourceOf('auto.create.topics.enable')).toBe('file');
    expect(config.retentionMs).toBe(5000);
  });

  it('resolves retention ms > minutes > hours as Kafka does', () => {
    expect(loadConfig({ env: {}, overrides: { 'log.retention.hours': 2 } }).retentionMs).toBe(7_200_000);
    expect(loadConfig({ env: {}, overrides: { 'log.retention.hours': 2, 'log.retention.minutes': 3 } }).retentionMs).toBe(180_000);
  });

  it('takes KAFKA_MYSQL_URL as mysql.url', () => {
    expect(loadConfig({ env: { KAFKA_MYSQL_URL: 'mysql://u:p@127.0.0.1:3306/k' } }).mysqlUrl).toBe('mysql://u:p@127.0.0.1:3306/k');
  });

  it('rejects unknown keys and bad values with a message naming the key', () => {
    expect(() => loadConfig({ env: {}, overrides: { 'no.such.key': 1 } })).toThrow(/no\.such\.key/);
    expect(() => loadConfig({ env: {}, overrides: { 'num.partitions': 'many' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: { 'auto.create.topics.enable': 'yes' } })).toThrow(/true or false/);
    expect(() => loadConfig({ env: {}, overrides: { listeners: 'SSL://127.0.0.1:9093' } })).toThrow(/PLAINTEXT/);
  });

  it('takes group.commit.max.bytes of 1 MiB or more (4 MiB by default)', () => {
    expect(loadConfig({ env: {} }).groupCommitMaxBytes).toBe(4 * 1024 * 1024);
    expect(loadConfig({ env: { KAFKA_MYSQL_GROUP_COMMIT_MAX_BYTES: '8388608' } }).groupCommitMaxBytes).toBe(8 * 1024 * 1024);
    expect(() => loadConfig({ env: {}, overrides: { 'group.commit.max.bytes': 65536 } })).toThrow(/group\.commit\.max\.bytes/);
  });

  it('names environment variables after the key', () => {
    expect(envNameOf('log.retention.hours')).toBe('KAFKA_MYSQL_LOG_RETENTION_HOURS');
  });

  it('documents every broker and topic key in docs/configuration.md', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const d of BROKER_CONFIG_DEFINITIONS) expect(docs, d.key).toContain(`\`${d.key}\``);
    for (const d of TOPIC_CONFIG_DEFINITIONS.filter((t) => t.applied)) expect(docs, d.key).toContain(`\`${d.key}\``);
  });
});

describe('topic configuration', () => {
  const broker = loadConfig({ env: {} });

  it('accepts retention.ms above 2^31 and -1', () => {
    expect(validateTopicConfig('retention.ms', '2592000000')).toBe('2592000000');
    expect(validateTopicConfig('retention.ms', '-1')).toBe('-1');
  });

  it('rejects unknown keys and invalid values with INVALID_CONFIG naming the key', () => {
    for (const [key, value] of [
      ['retention.msx', '1'],
      ['retention.ms', 'soon'],
      ['retention.ms', '-2'],
      ['cleanup.policy', 'shred'],
      ['max.message.bytes', '99999999999'],
    ] as const) {
      try {
        validateTopicConfig(key, value);
        expect.unreachable(`${key}=${value} accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(KafkaError);
        expect((err as KafkaError).code).toBe(ErrorCode.INVALID_CONFIG);
        expect((err as KafkaError).message).toContain(key === 'cleanup.policy' ? 'shred' : key);
      }
    }
  });

  it('falls back from topic value to broker synonym to default', () => {
    expect(effectiveTopicConfig('retention.ms', { 'retention.ms': '1000' }, broker)).toEqual({ value: '1000', source: 'topic' });
    expect(effectiveTopicConfig('retention.ms', {}, broker)).toEqual({ value: '2592000000', source: 'default' });
    const tuned = loadConfig({ env: {}, overrides: { 'message.max.bytes': 2000000 } });
    expect(effectiveTopicConfig('max.message.bytes', {}, tuned)).toEqual({ value: '2000000', source: 'broker' });
  });
});
