/**
 * Listeners, TLS and SASL with real clients over real TLS (certificates made by openssl in a temp
 * dir): kafkajs with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL;
 * kcat (librdkafka) with SASL_SSL SCRAM-SHA-512; kafka-python with PLAIN (SaslHandshake v0 and raw
 * tokens). Refusals as Kafka refuses them, each while an authenticated producer keeps producing:
 * wrong password, unknown user, a mechanism the listener does not enable, a client that skips
 * SASL, Produce before authentication. Users are made with the CLI (`users set`, straight into
 * MySQL) and listed/deleted with it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { makeTestCerts, type TestCerts } from './support/certs.js';
import { closesWithin, kcat, RawClient, requireKcat, requirePython, runPython } from './support/clients.js';
import { ErrorCode } from '../codec/error-codes.js';

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

let tb: TestBroker;
let certs: TestCerts;
let ports: Record<string, number>;

function cli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--set', `mysql.url=${tb.mysqlUrl}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

beforeAll(async () => {
  requireKcat();
  requirePython(['kafka']);
  certs = makeTestCerts();
  tb = await startTestBroker('security sasl', {
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SCRAMONLY://127.0.0.1:0',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SCRAMONLY:SASL_PLAINTEXT',
    'listener.name.scramonly.sasl.enabled.mechanisms': 'SCRAM-SHA-256',
    'ssl.keystore.location': certs.brokerKeystore,
    'ssl.key.password': certs.keyPassword,
    'connection.failed.authentication.delay.ms': 300,
  });
  ports = Object.fromEntries(Object.entries(tb.broker.context.cluster.self.listeners!).map(([k, v]) => [k, v.port]));
  for (const [user, mechanism, password] of [
    ['alice', 'PLAIN', 'alice-secret'],
    ['scram256', 'SCRAM-SHA-256', 'pw-256 with spaces'],
    ['scram512', 'SCRAM-SHA-512', 'pw-512'],
  ] as const) {
    const r = await cli(['users', 'set', user, '--mechanism', mechanism, '--password-stdin'], password + '\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  await tb?.stop();
  certs?.remove();
});

const ssl = () => ({ ca: [readFileSync(certs.caCert, 'utf8')], servername: 'localhost' });

function kafka(listener: string, sasl: SASLOptions | undefined, tls = false): Kafka {
  return new Kafka({
    clientId: `compat-sec-${listener}`,
    brokers: [`127.0.0.1:${ports[listener]}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 3000,
    ...(sasl ? { sasl } : {}),
    ...(tls ? { ssl: ssl() } : {}),
  });
}

async function produceAndConsume(k: Kafka, topic: string, count = 5): Promise<string[]> {
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = k.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();
  const consumer = k.consumer({ groupId: `${topic}-g` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${count}`)), 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length === count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

describe('kafkajs', () => {
  it('produces and consumes with PLAIN over SASL_PLAINTEXT and SASL_SSL', async () => {
    expect(await produceAndConsume(kafka('SASL_PLAINTEXT', { mechanism: 'plain', username: 'alice', password: 'alice-secret' }), 'plain-pt')).toEqual(expected(5));
    expect(await produceAndConsume(kafka('SASL_SSL', { mechanism: 'plain', username: 'alice', password: 'alice-secret' }, true), 'plain-ssl')).toEqual(expected(5));
  });

  it('produces and consumes with SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL', async () => {
    const s256 = { mechanism: 'scram-sha-256', username: 'scram256', password: 'pw-256 with spaces' } as const;
    const s512 = { mechanism: 'scram-sha-512', username: 'scram512', password: 'pw-512' } as const;
    expect(await produceAndConsume(kafka('SASL_PLAINTEXT', s256), 's256-pt')).toEqual(expected(5));
    expect(await produceAndConsume(kafka('SASL_SSL', s256, true), 's256-ssl')).toEqual(expected(5));
    expect(await produceAndConsume(kafka('SASL_PLAINTEXT', s512), 's512-pt')).toEqual(expected(5));
    expect(await produceAndConsume(kafka('SASL_SSL', s512, true), 's512-ssl')).toEqual(expected(5));
  });
});

describe('librdkafka and kafka-python', () => {
  it('kcat produces and consumes with SCRAM-SHA-512 over SASL_SSL', async () => {
    const auth = ['-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=scram512', '-X', 'sasl.password=pw-512', '-X', `ssl.ca.location=${certs.caCert}`];
    const bootstrap = `127.0.0.1:${ports.SASL_SSL}`;
    await kcat(['-P', '-b', bootstrap, '-t', 'kcat-scram', '-p', '0', ...auth], { input: 'one\ntwo\nthree\n', timeoutMs: 30_000 });
    const out = await kcat(['-C', '-b', bootstrap, '-t', 'kcat-scram', '-p', '0', '-o', 'beginning', '-e', '-q', ...auth], { timeoutMs: 30_000 });
    expect(out.toString().trim().split('\n')).toEqual(['one', 'two', 'three']);
  });

  it('kafka-python produces and consumes with PLAIN (SaslHandshake v0, raw tokens)', async () => {
    const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
common = dict(bootstrap_servers=sys.argv[1], security_protocol='SASL_PLAINTEXT', sasl_mechanism='PLAIN', sasl_plain_username='alice', sasl_plain_password='alice-secret')
p = KafkaProducer(**common)
for i in range(3):
    p.send('py-plain', value=('py%d' % i).encode(), partition=0)
p.flush(); p.close()
c = KafkaConsumer(consumer_timeout_ms=5000, **common)
tp = TopicPartition('py-plain', 0)
c.assign([tp]); c.seek_to_beginning(tp)
print(','.join(m.value.decode() for m in c))
c.close()
`;
    const r = await runPython(script, [`127.0.0.1:${ports.SASL_PLAINTEXT}`]);
    expect(r.stderr.toString()).not.toMatch(/Traceback/);
    expect(r.stdout.toString().trim()).toBe('py0,py1,py2');
  });
});

/** An authenticated producer that must keep working while others are refused. */
async function stillServing(n: number): Promise<void> {
  const producer = kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-256', username: 'scram256', password: 'pw-256 with spaces' }).producer();
  await producer.connect();
  const [r] = await producer.send({ topic: 'still-serving', messages: [{ value: `after-${n}` }] });
  expect(r!.errorCode).toBe(0);
  await producer.disconnect();
}

async function rawAuth(port: number, mechanism: string, token: Buffer): Promise<{ client: RawClient; handshake: { errorCode: number; mechanisms: string[] }; auth?: { errorCode: number; errorMessage: string | null }; ms: number }> {
  const client = await RawClient.connect(port);
  const handshake = await client.request(17, 1, { mechanism });
  if (handshake.errorCode !== 0) return { client, handshake, ms: 0 };
  const started = Date.now();
  const auth = await client.request(36, 1, { authBytes: token });
  return { client, handshake, auth, ms: Date.now() - started };
}

describe('refusals, each while the broker keeps serving others', () => {
  it('a wrong password and an unknown user get SASL_AUTHENTICATION_FAILED after the delay, with the same message, and the connection closes', async () => {
    const wrong = await rawAuth(ports.SASL_PLAINTEXT!, 'PLAIN', Buffer.from('\u0000alice\u0000not-it'));
    expect(wrong.auth).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Authentication failed: Invalid username or password' });
    expect(wrong.ms).toBeGreaterThanOrEqual(290); // connection.failed.authentication.delay.ms 300
    expect(await closesWithin(wrong.client, 2000)).toBe(true);
    const unknown = await rawAuth(ports.SASL_PLAINTEXT!, 'PLAIN', Buffer.from('\u0000mallory\u0000alice-secret'));
    expect(unknown.auth).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Authentication failed: Invalid username or password' });
    expect(await closesWithin(unknown.client, 2000)).toBe(true);
    await stillServing(1);

    // kafkajs sees the broker's refusal for SCRAM too.
    const bad = kafka('SASL_SSL', { mechanism: 'scram-sha-512', username: 'scram512', password: 'wrong' }, true).producer();
    await expect(bad.connect()).rejects.toThrow(/invalid credentials with SASL mechanism SCRAM-SHA-512/);
    const nobody = kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-256', username: 'nobody', password: 'x' }).producer();
    await expect(nobody.connect()).rejects.toThrow(/invalid credentials with SASL mechanism SCRAM-SHA-256/);
    await stillServing(2);
    const scrape = await tb.broker.context.metrics.registry.render();
    expect(scrape).toMatch(/kafka_mysql_authentications_total\{listener="SASL_PLAINTEXT",mechanism="PLAIN",result="failure"\} 2/);
    expect(scrape).toMatch(/kafka_mysql_authentications_total\{listener="SASL_SSL",mechanism="SCRAM-SHA-512",result="failure"\} 1/);
  });

  it('a mechanism the listener does not enable gets UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes', async () => {
    const r = await rawAuth(ports.SCRAMONLY!, 'PLAIN', Buffer.alloc(0));
    expect(r.handshake).toEqual({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['SCRAM-SHA-256'] });
    expect(await closesWithin(r.client, 2000)).toBe(true);
    const k = kafka('SCRAMONLY', { mechanism: 'plain', username: 'alice', password: 'alice-secret' }).producer();
    await expect(k.connect()).rejects.toThrow();
    await stillServing(3);
  });

  it('a client that skips SASL may ask ApiVersions, and is closed at its first other request (Metadata), with no answer', async () => {
    const client = await RawClient.connect(ports.SASL_PLAINTEXT!);
    const versions = await client.request(18, 3, { clientSoftwareName: 'compat', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    await expect(client.request(3, 9, createMetadataRequest({ topics: null }))).rejects.toThrow();
    expect(client.isClosed).toBe(true);
    const admin = kafka('SASL_PLAINTEXT', undefined).admin();
    await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow();
    await admin.disconnect();
    await stillServing(4);
  });

  it('Produce before authentication closes the connection, first thing or between handshake and SaslAuthenticate; nothing is written', async () => {
    const produce = createProduceRequest({ acks: -1, timeoutMs: 1000, topicData: [{ name: 'still-serving', partitionData: [{ index: 0, records: Buffer.alloc(0) }] }] });
    const first = await RawClient.connect(ports.SASL_PLAINTEXT!);
    await expect(first.request(0, 9, produce)).rejects.toThrow();
    const second = await RawClient.connect(ports.SASL_PLAINTEXT!);
    expect((await second.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    await expect(second.request(0, 9, produce)).rejects.toThrow();
    expect(second.isClosed).toBe(true);
    await stillServing(5);
  });

  it('the plaintext listener serves ANONYMOUS without SASL, and SASL requests there get ILLEGAL_SASL_STATE', async () => {
    const client = await RawClient.connect(ports.PLAINTEXT!);
    expect((await client.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    const metadata = await client.request(3, 9, createMetadataRequest({ topics: null }));
    expect(metadata.brokers.map((b) => b.port)).toEqual([ports.PLAINTEXT]);
    client.close();
  });

  it('Metadata over each listener advertises that listener\'s port', async () => {
    const seen: Record<string, number> = {};
    for (const [listener, mechanism] of [['SASL_PLAINTEXT', 'PLAIN'], ['SCRAMONLY', 'SCRAM-SHA-256']] as const) {
      const k = kafka(listener, mechanism === 'PLAIN' ? { mechanism: 'plain', username: 'alice', password: 'alice-secret' } : { mechanism: 'scram-sha-256', username: 'scram256', password: 'pw-256 with spaces' });
      const admin = k.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      seen[listener] = cluster.brokers[0]!.port;
      await admin.disconnect();
    }
    expect(seen).toEqual({ SASL_PLAINTEXT: ports.SASL_PLAINTEXT, SCRAMONLY: ports.SCRAMONLY });
    expect(new Set(Object.values(ports)).size).toBe(4);
  });
});

describe('users CLI', () => {
  it('lists users with their mechanisms and no secrets; delete removes a user, who can no longer log in', async () => {
    await cli(['users', 'set', 'temp', '--mechanism', 'SCRAM-SHA-512', '--password-stdin'], 'temp-pw');
    const listed = await cli(['users', 'list', '--json']);
    expect(listed.code).toBe(0);
    const users = JSON.parse(listed.stdout) as { user: string; mechanisms: { mechanism: string; iterations: number }[] }[];
    expect(users.find((u) => u.user === 'temp')).toEqual({ user: 'temp', mechanisms: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] });
    expect(users.map((u) => u.user)).toEqual(['alice', 'scram256', 'scram512', 'temp']);
    expect(listed.stdout).not.toMatch(/pw|secret/);
    const ok = kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-512', username: 'temp', password: 'temp-pw' }).producer();
    await ok.connect();
    await ok.disconnect();
    expect((await cli(['users', 'delete', 'temp'])).code).toBe(0);
    expect((await cli(['users', 'delete', 'temp'])).code).toBe(1);
    const gone = kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-512', username: 'temp', password: 'temp-pw' }).producer();
    await expect(gone.connect()).rejects.toThrow(/invalid credentials/);
    expect((await cli(['users', 'set', 'x', '--mechanism', 'PLAIN'])).code).toBe(2);
  });
});

describe('CLI admin commands over TLS and SASL (--command-config)', () => {
  const props = (name: string, lines: string[]) => {
    const file = join(certs.dir, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  it('creates and lists topics with SCRAM-SHA-512 over SASL_SSL (sasl.jaas.config) and PLAIN over SASL_PLAINTEXT (sasl.username); a wrong password exits 1', async () => {
    const scram = props('scram.properties', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="scram512" password="pw-512";',
      `ssl.truststore.location=${certs.caCert}`,
    ]);
    const created = await cli(['topics', 'create', '--topic', 'cli-secure', '--partitions', '2', '--bootstrap-server', `localhost:${ports.SASL_SSL}`, '--command-config', scram]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const plain = props('plain.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=alice', 'sasl.password=alice-secret']);
    const listed = await cli(['topics', 'list', '--json', '--bootstrap-server', `127.0.0.1:${ports.SASL_PLAINTEXT}`, '--command-config', plain]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('cli-secure');
    const wrong = props('wrong.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=alice', 'sasl.password=nope']);
    const refused = await cli(['topics', 'list', '--bootstrap-server', `127.0.0.1:${ports.SASL_PLAINTEXT}`, '--command-config', wrong]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Authentication failed: Invalid username or password');
    // Without --command-config the SASL listener closes the connection: the CLI cannot reach the broker.
    expect((await cli(['topics', 'list', '--bootstrap-server', `127.0.0.1:${ports.SASL_PLAINTEXT}`])).code).toBe(3);
  });
});
