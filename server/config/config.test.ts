import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import {
  BROKER_CONFIG_DEFINITIONS,
  ConfigError,
  ConfigSourceCode,
  TOPIC_CONFIG_DEFINITIONS,
  describeBrokerConfigs,
  effectiveTopicConfig,
  envNameOf,
  loadConfig,
  parseProperties,
  redactConfigValue,
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
    rmSync(dir, { recursive: true, force: true });
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
    expect(() => loadConfig({ env: {}, overrides: { listeners: 'INTERNAL://127.0.0.1:9093' } })).toThrow(/listener\.security\.protocol\.map/);
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

describe('sensitive configuration', () => {
  const PASSWORD = 'pw-Secr3t';
  const url = (db: string, password = PASSWORD) => `mysql://kafka:${password}@10.0.0.5:3306/${db}`;
  const CREDENTIAL_KEYS = [
    'mysql.url',
    'mysql.shards',
    'retention.archive.mysql.url',
    'outbox.mysql.url',
    // TLS key material and passwords (Kafka's password-type ssl.* keys), and a JWKS URL that may carry user info.
    'ssl.keystore.password',
    'ssl.key.password',
    'ssl.keystore.certificate.chain',
    'ssl.keystore.key',
    'ssl.truststore.password',
    'ssl.truststore.certificates',
    'sasl.oauthbearer.jwks.endpoint.url',
  ];

  it('marks every key that can hold a credential sensitive, and no other', () => {
    expect(BROKER_CONFIG_DEFINITIONS.filter((d) => d.sensitive).map((d) => d.key).sort()).toEqual([...CREDENTIAL_KEYS].sort());
    // A key added later that names a URL, password or secret must be sensitive too.
    for (const d of BROKER_CONFIG_DEFINITIONS) {
      if (/url|shards|password|secret|credential|jaas/i.test(d.key)) expect(d.sensitive, d.key).toBe(true);
    }
  });

  it('describes each sensitive broker key with a null value and isSensitive, in its synonym too', () => {
    const config = loadConfig({
      env: {},
      overrides: { 'mysql.url': url('meta'), 'mysql.shards': `${url('s0')},${url('s1')}`, 'retention.archive.mysql.url': url('archive'), 'num.partitions': 3 },
    });
    const described = new Map(describeBrokerConfigs(config, null).map((c) => [c.name, c]));
    for (const key of ['mysql.url', 'mysql.shards', 'retention.archive.mysql.url']) {
      const entry = described.get(key)!;
      expect(entry, key).toMatchObject({ value: null, isSensitive: true, source: ConfigSourceCode.STATIC_BROKER_CONFIG, isDefault: false });
      expect(entry.synonyms, key).toEqual([{ name: key, value: null, source: ConfigSourceCode.STATIC_BROKER_CONFIG }]);
    }
    expect(described.get('mysql.shards')!.type).toBe(7); // still a LIST, as the key's type
    expect(described.get('num.partitions')).toMatchObject({ value: '3', isSensitive: false });
    expect(JSON.stringify([...described.values()])).not.toContain(PASSWORD);
  });

  it('masks passwords when the config is logged (pino), inspected or stringified', () => {
    const config = loadConfig({ env: {}, overrides: { 'mysql.url': url('meta'), 'mysql.shards': `${url('s0')},${url('s1', 'p@ss/w')}` } });
    const lines: string[] = [];
    const logger = pino({ base: null }, { write: (line: string) => void lines.push(line) });
    logger.info({ config }, 'starting');
    const logged = JSON.parse(lines[0]!) as { config: Record<string, string | null> };
    expect(logged.config['mysql.url']).toBe('mysql://kafka:***@10.0.0.5:3306/meta');
    // The second shard's password holds an unencoded '@' and '/': masked up to the last '@'.
    expect(logged.config['mysql.shards']).toBe('mysql://kafka:***@10.0.0.5:3306/s0,mysql://kafka:***@10.0.0.5:3306/s1');
    expect(logged.config['num.partitions']).toBe('1');
    expect(lines[0]).not.toContain(PASSWORD);
    expect(inspect(config)).not.toContain(PASSWORD);
    expect(JSON.stringify({ config })).not.toContain(PASSWORD);
    expect(inspect(config)).toContain('mysql://kafka:***@10.0.0.5:3306/meta');
  });

  it('redacts passwords holding an unencoded @ up to the last @', () => {
    expect(redactConfigValue('mysql.url', 'mysql://u:a@b@h:3306/d?socket=/x')).toBe('mysql://u:***@h:3306/d?socket=/x');
    expect(redactConfigValue('mysql.url', 'mysql://h:3306/d')).toBe('mysql://h:3306/d');
    expect(redactConfigValue('mysql.url', 'not-a-url-but-secret')).toBe('***');
    expect(redactConfigValue('mysql.url', 'mysql://root@h/d')).toBe('***');
    expect(redactConfigValue('listeners', 'PLAINTEXT://u:p@h:1')).toBe('PLAINTEXT://u:p@h:1');
  });
});

describe('config placeholders (Kafka config provider syntax)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-mysql-secrets-'));
  const passwordFile = join(dir, 'db-password');
  writeFileSync(passwordFile, 'file-Secr3t\n');
  const propertiesFile = join(dir, 'secrets.properties');
  writeFileSync(propertiesFile, '# secrets\ndb.password=props-Secr3t\nother=x\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes ${file:PATH} as the whole file without its trailing newline', () => {
    const config = loadConfig({ env: {}, overrides: { 'mysql.url': `mysql://kafka:\${file:${passwordFile}}@db:3306/kafka` } });
    expect(config.mysqlUrl).toBe('mysql://kafka:file-Secr3t@db:3306/kafka');
  });

  it('takes ${file:PATH:KEY} from a properties file, as FileConfigProvider', () => {
    const config = loadConfig({ env: {}, overrides: { 'mysql.shards': `mysql://a:\${file:${propertiesFile}:db.password}@s0/k,mysql://b:\${file:${propertiesFile}:db.password}@s1/k` } });
    expect(config.mysqlShards).toEqual(['mysql://a:props-Secr3t@s0/k', 'mysql://b:props-Secr3t@s1/k']);
  });

  it('takes ${directory:DIR:FILE} as that file, as DirectoryConfigProvider', () => {
    expect(loadConfig({ env: {}, overrides: { 'mysql.url': `mysql://k:\${directory:${dir}:db-password}@db/k` } }).mysqlUrl).toBe('mysql://k:file-Secr3t@db/k');
  });

  it('takes ${env:NAME} from the environment, in the file, environment and override layers', () => {
    const env = { DB_PASSWORD: 'env-Secr3t', KAFKA_MYSQL_MYSQL_SHARDS: 'mysql://k:${env:DB_PASSWORD}@s0/k' };
    const file = join(dir, 'server.properties');
    writeFileSync(file, 'retention.archive.mysql.url=mysql://k:${env:DB_PASSWORD}@archive/k\n');
    const config = loadConfig({ file, env, overrides: { 'mysql.url': 'mysql://k:${env:DB_PASSWORD}@db/k' } });
    expect(config.mysqlUrl).toBe('mysql://k:env-Secr3t@db/k');
    expect(config.mysqlShards).toEqual(['mysql://k:env-Secr3t@s0/k']);
    expect(config.string('retention.archive.mysql.url')).toBe('mysql://k:env-Secr3t@archive/k');
  });

  it('stops with a ConfigError naming the key and the file when the file cannot be read', () => {
    const missing = join(dir, 'no-such-file');
    const load = () => loadConfig({ env: {}, overrides: { 'mysql.url': `mysql://k:\${file:${missing}}@db/k` } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`'mysql.url': cannot read ${missing}: ENOENT`);
    // A directory is no file either.
    expect(() => loadConfig({ env: {}, overrides: { 'mysql.url': `mysql://k:\${file:${dir}}@db/k` } })).toThrow(/'mysql\.url': cannot read .*EISDIR/);
  });

  it('stops with a ConfigError for a missing variable or key and an unknown provider, showing no secret', () => {
    const messageOf = (overrides: Record<string, string>, env: NodeJS.ProcessEnv = {}) => {
      try {
        loadConfig({ env, overrides });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      return expect.unreachable('loaded');
    };
    expect(messageOf({ 'mysql.url': 'mysql://k:${env:NO_SUCH_VAR}@db/k' })).toBe("'mysql.url': environment variable NO_SUCH_VAR is not set (placeholder from override)");
    const noKey = messageOf({ 'mysql.url': `mysql://k:\${file:${propertiesFile}:db.pass}@db/k` });
    expect(noKey).toBe(`'mysql.url': ${propertiesFile} has no key 'db.pass' (placeholder from override)`);
    expect(noKey).not.toContain('props-Secr3t');
    expect(messageOf({ 'mysql.url': 'mysql://k:${vault:secret/db:pw}@db/k' })).toMatch(/unknown config provider 'vault'/);
    expect(messageOf({ 'mysql.url': `mysql://k:\${directory:${dir}:../etc}@db/k` })).toMatch(/takes a file name/);
  });

  it('leaves values without placeholders as they are', () => {
    expect(loadConfig({ env: {}, overrides: { 'mysql.url': 'mysql://k:p$w{d}@db/k' } }).mysqlUrl).toBe('mysql://k:p$w{d}@db/k');
  });
});
