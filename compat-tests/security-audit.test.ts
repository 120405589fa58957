/**
 * Refusals are logged and counted (issue 13): a broker with an authorizer, a SASL_PLAINTEXT
 * listener (PLAIN, SCRAM-SHA-256), a PLAINTEXT one (User:ANONYMOUS) and a mutual-TLS one, its
 * log captured as JSON lines. A kafkajs producer refused WRITE gets a line on
 * kafka.authorizer.logger naming principal, host, operation, resource, API and listener, and
 * kafka_mysql_authorization_denied_total counts it; listing all topics (a filter) logs nothing;
 * a Fetch of three partitions of a refused topic is one refusal.
 * 300 refused requests in a burst are all counted but the log keeps to
 * security.audit.log.max.per.second, and the next line says how many were left out. Failed SASL
 * authentications are counted by mechanism, a TLS client without a certificate as mechanism
 * SSL, and their log lines are bounded the same way. A kcat client certificate's subject, mapped
 * by ssl.principal.mapping.rules, is the principal its ACLs and log lines name.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { AclOperationTypes as Ops, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pat } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaConnection } from '../client/connection.js';
import { ErrorCode } from '../codec/error-codes.js';
import { createFetchRequest } from '../codec/generated/fetch.js';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { startBroker, type RunningBroker } from '../server/broker.js';
import { loadConfig } from '../server/config/index.js';
import { plainCredential, scramCredential } from '../server/security/sasl/credentials.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { makeTestCerts, type TestCerts } from './support/certs.js';
import { kcat, pollUntil, requireKcat } from './support/clients.js';

const LINES_PER_SECOND = 5;

let broker: RunningBroker;
let mysqlUrl: string;
let certs: TestCerts;
let ports: Record<string, number>;
const lines: Record<string, unknown>[] = [];

function kafka(user: string, password = `${user}-pw`, mechanism: 'plain' | 'scram-sha-256' = 'plain'): Kafka {
  return new Kafka({
    clientId: `audit-${user}`,
    brokers: [`127.0.0.1:${ports.SASL_PLAINTEXT}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    sasl: { mechanism, username: user, password } as never,
  });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await broker.context.metrics.registry.render();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const denials = () => lines.filter((l) => l.logger === 'kafka.authorizer.logger');

beforeAll(async () => {
  certs = makeTestCerts();
  mysqlUrl = await createTestDatabase('security audit');
  const capture = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({
    env: {},
    overrides: {
      'mysql.url': mysqlUrl,
      'metrics.listener': '',
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,MTLS://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'ssl.keystore.location': certs.brokerKeystore,
      'ssl.key.password': certs.keyPassword,
      'ssl.truststore.location': certs.caCert,
      'listener.name.mtls.ssl.client.auth': 'required',
      // CN=client-1,O=Acme\, Inc.,C=DE becomes User:client-1.
      'listener.name.mtls.ssl.principal.mapping.rules': 'RULE:^CN=([^,]+),.*$/$1/L,DEFAULT',
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:admin',
      'security.audit.log.max.per.second': LINES_PER_SECOND,
      'connection.failed.authentication.delay.ms': 0,
    },
  });
  broker = await startBroker(config, { logger: pino({ level: 'info' }, capture) });
  ports = Object.fromEntries(Object.entries(broker.context.cluster.self.listeners!).map(([k, v]) => [k, v.port]));
  await broker.storage.users.upsert('admin', plainCredential('admin-pw'));
  await broker.storage.users.upsert('alice', plainCredential('alice-pw'));
  await broker.storage.users.upsert('carol', scramCredential('SCRAM-SHA-256', 'carol-pw'));
  const admin = kafka('admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'open' }, { topic: 'secret' }] });
  // alice may use 'open', and see 'secret' (so kafkajs gets its metadata and sends the Produce) but not write it.
  await admin.createAcls({
    acl: [
      { resourceType: Res.TOPIC, resourceName: 'open', resourcePatternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Ops.ALL, permissionType: Perm.ALLOW },
      { resourceType: Res.TOPIC, resourceName: 'secret', resourcePatternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Ops.DESCRIBE, permissionType: Perm.ALLOW },
    ],
  });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  if (mysqlUrl) await dropTestDatabase(mysqlUrl);
  certs?.remove();
});

describe('refusals logged and counted', () => {
  it('a refused produce is logged on kafka.authorizer.logger with who, from where, what, and through which listener, and counted', async () => {
    const before = await metric('kafka_mysql_authorization_denied_total', 'operation="WRITE",resource_type="TOPIC",listener="SASL_PLAINTEXT"');
    const producer = kafka('alice').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: 'open', messages: [{ value: 'fine' }] });
      const err = await producer.send({ topic: 'secret', messages: [{ value: 'no' }] }).then(() => null, (e: unknown) => e);
      // kafkajs's words for TOPIC_AUTHORIZATION_FAILED.
      expect((err as Error | null)?.message).toContain('Topic authorization failed');
    } finally {
      await producer.disconnect();
    }
    const line = denials().find((l) => l.resource === 'secret' && l.operation === 'WRITE');
    expect(line).toMatchObject({
      level: 30,
      msg: 'authorization denied',
      principal: 'User:alice',
      host: '127.0.0.1',
      operation: 'WRITE',
      resourceType: 'TOPIC',
      resource: 'secret',
      api: 'Produce',
      listener: 'SASL_PLAINTEXT',
    });
    expect(JSON.stringify(line)).not.toContain('alice-pw');
    const after = await metric('kafka_mysql_authorization_denied_total', 'operation="WRITE",resource_type="TOPIC",listener="SASL_PLAINTEXT"');
    expect(after - before).toBeGreaterThanOrEqual(1);
    expect(after - before).toBe(denials().filter((l) => l.resource === 'secret' && l.operation === 'WRITE').length);
  });

  it('listing every topic hides the ones not allowed without logging them; naming one is a logged refusal', async () => {
    const raw = await KafkaConnection.open({ port: ports.PLAINTEXT!, host: '127.0.0.1', clientId: 'audit-raw', requestTimeoutMs: 0 });
    try {
      const count = () => denials().filter((l) => l.principal === 'User:ANONYMOUS').length;
      const before = count();
      const all = await raw.request(3, 12, createMetadataRequest({ topics: null }));
      expect(all.topics).toEqual([]);
      // Wait past the current second, so the limiter cannot be why nothing was logged.
      await new Promise((r) => setTimeout(r, 1100));
      expect(count()).toBe(before);
      const named = await raw.request(3, 12, createMetadataRequest({ topics: [{ name: 'secret', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }));
      expect(named.topics[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(await pollUntil(async () => count() === before + 1, 2000)).toBe(true);
      expect(denials().at(-1)).toMatchObject({ principal: 'User:ANONYMOUS', operation: 'DESCRIBE', resourceType: 'TOPIC', resource: 'secret', api: 'Metadata', listener: 'PLAINTEXT' });
    } finally {
      raw.close();
    }
  });

  it('a Fetch naming three partitions of a refused topic is one refusal, logged and counted once', async () => {
    const raw = await KafkaConnection.open({ port: ports.PLAINTEXT!, host: '127.0.0.1', clientId: 'audit-fetch', requestTimeoutMs: 0 });
    const labels = 'operation="READ",resource_type="TOPIC",listener="PLAINTEXT"';
    try {
      const before = await metric('kafka_mysql_authorization_denied_total', labels);
      const r = await raw.request(1, 12, createFetchRequest({
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ topic: 'secret', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [0, 1, 2].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' })) }],
      }));
      expect(r.responses[0]!.partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([29, 29, 29]);
      expect((await metric('kafka_mysql_authorization_denied_total', labels)) - before).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('a burst of 300 refusals is counted in full, logged at most security.audit.log.max.per.second a second, and the next line tells how many were left out', async () => {
    const raw = await KafkaConnection.open({ port: ports.PLAINTEXT!, host: '127.0.0.1', clientId: 'audit-flood', requestTimeoutMs: 0 });
    const labels = 'operation="DESCRIBE",resource_type="TOPIC",listener="PLAINTEXT"';
    try {
      await new Promise((r) => setTimeout(r, 1100));
      const counted = await metric('kafka_mysql_authorization_denied_total', labels);
      const logged = denials().length;
      const started = Date.now();
      await Promise.all(Array.from({ length: 300 }, () => raw.request(3, 12, createMetadataRequest({ topics: [{ name: 'secret', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }))));
      const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
      expect((await metric('kafka_mysql_authorization_denied_total', labels)) - counted).toBe(300);
      const burst = denials().length - logged;
      console.log(`300 refusals in ${Date.now() - started} ms: ${burst} lines logged`);
      expect(burst).toBeGreaterThanOrEqual(LINES_PER_SECOND);
      expect(burst).toBeLessThanOrEqual(LINES_PER_SECOND * seconds);
      // One more after the window: logged, carrying what the burst left out (and nothing is lost from the sum).
      await new Promise((r) => setTimeout(r, 1100));
      await raw.request(3, 12, createMetadataRequest({ topics: [{ name: 'secret', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }));
      const last = denials().at(-1)!;
      expect(last.suppressed).toBe(300 - burst);
    } finally {
      raw.close();
    }
  });

  it('the principal of a client certificate, mapped by ssl.principal.mapping.rules, is what the ACLs and the log see (kcat, mutual TLS)', async () => {
    requireKcat();
    const admin = kafka('admin').admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl: [{ resourceType: Res.TOPIC, resourceName: 'open', resourcePatternType: Pat.LITERAL, principal: 'User:client-1', host: '*', operation: Ops.ALL, permissionType: Perm.ALLOW }] });
    } finally {
      await admin.disconnect();
    }
    const tls = ['-b', `127.0.0.1:${ports.MTLS}`, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caCert}`, '-X', `ssl.certificate.location=${certs.clientCert}`, '-X', `ssl.key.location=${certs.clientKey}`];
    await kcat(['-P', ...tls, '-t', 'open', '-p', '0'], { input: 'from client-1\n' });
    const read = (await kcat(['-C', ...tls, '-t', 'open', '-p', '0', '-o', 'beginning', '-e', '-q'])).toString();
    expect(read).toContain('from client-1');
    const before = denials().length;
    await new Promise((r) => setTimeout(r, 1100));
    await kcat(['-L', ...tls, '-t', 'secret']);
    expect(await pollUntil(async () => denials().length > before, 3000)).toBe(true);
    expect(denials().at(-1)).toMatchObject({ principal: 'User:client-1', operation: 'DESCRIBE', resource: 'secret', api: 'Metadata', listener: 'MTLS' });
  }, 30_000);

  it('failed authentications are counted by mechanism (TLS without a client certificate as SSL), and their lines are bounded too', async () => {
    const failures = (listener: string, mechanism: string) => metric('kafka_mysql_authentications_total', `listener="${listener}",mechanism="${mechanism}",result="failure"`);
    const scram0 = await failures('SASL_PLAINTEXT', 'SCRAM-SHA-256');
    const plain0 = await failures('SASL_PLAINTEXT', 'PLAIN');
    const ssl0 = await failures('MTLS', 'SSL');
    await new Promise((r) => setTimeout(r, 1100));
    const lines0 = lines.filter((l) => l.msg === 'authentication failed').length;
    const attempts = 12;
    const started = Date.now();
    for (let i = 0; i < attempts; i++) {
      const admin = i % 2 === 0 ? kafka('carol', 'Pw-Secret-42', 'scram-sha-256').admin() : kafka('nobody', 'Pw-Secret-42').admin();
      await expect(admin.connect()).rejects.toThrow();
      await admin.disconnect();
    }
    expect((await failures('SASL_PLAINTEXT', 'SCRAM-SHA-256')) - scram0).toBe(attempts / 2);
    expect((await failures('SASL_PLAINTEXT', 'PLAIN')) - plain0).toBe(attempts / 2);

    // Mutual TLS required and no certificate: the handshake fails, counted as mechanism SSL.
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: ports.MTLS!, ca: [readFileSync(certs.caCert)], servername: 'localhost' });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('secureConnect', () => socket.write(Buffer.from([0, 0, 0, 1, 0])));
    });
    expect(await pollUntil(async () => (await failures('MTLS', 'SSL')) - ssl0 === 1, 3000)).toBe(true);

    const logged = lines.filter((l) => l.msg === 'authentication failed').slice(lines0);
    expect(logged.length).toBeGreaterThanOrEqual(1);
    // Each kind (SASL, TLS) within its limiter: at most LINES_PER_SECOND in each second that passed.
    expect(logged.length).toBeLessThanOrEqual(LINES_PER_SECOND * (Math.ceil((Date.now() - started) / 1000) + 1) + 1);
    expect(JSON.stringify(logged)).not.toContain('Pw-Secret-42');
    expect(logged.some((l) => l.mechanism === 'SCRAM-SHA-256' || l.mechanism === 'PLAIN')).toBe(true);
  }, 30_000);
});
