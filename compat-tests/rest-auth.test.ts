/**
 * REST authentication and authorization (docs/http.md): a broker whose only Kafka listener is
 * SASL_PLAINTEXT, with the ACL authorizer, so its REST interface must authenticate too. Basic
 * with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN users from MySQL, Bearer with a signed JWT checked
 * against a JWKS file, and a second broker on the same database whose HTTP listener is https://
 * with required client certificates (mutual TLS, the principal from the certificate). Every
 * refusal is checked for what it must not do: a 403 produce writes nothing (read back with the
 * admin user), a refused consumer instance reads nothing.
 */
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AclOperationTypes as Ops, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pat } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainCredential, scramCredential } from '../server/security/sasl/credentials.js';
import { makeTestCerts, type TestCerts } from './support/certs.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

let tb: TestBroker;
let base: string;
let cluster: string;
let certs: TestCerts;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ADMIN = basic('admin', 'admin-pw');
const ALICE = basic('alice', 'alice-pw');
const BOB = basic('bob', 'bob-pw');
const CAROL = basic('carol', 'carol-pw');

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function api(method: string, path: string, auth: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth !== null) headers.authorization = auth;
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

const v3 = (path: string) => `/v3/clusters/${cluster}${path}`;
const record = (value: string) => ({ value: { type: 'STRING', data: value } });

/** Records of orders-0 as the admin reads them. */
async function stored(topic: string): Promise<string[]> {
  const r = await api('GET', v3(`/topics/${topic}/partitions/0/records?format=string&limit=1000`), ADMIN);
  expect(r.status, r.text).toBe(200);
  return r.body.data.map((x: { value: string }) => x.value);
}

function kafkaAdmin(): Kafka {
  return new Kafka({
    clientId: 'rest-auth-admin',
    brokers: [tb.bootstrap],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'admin-pw' },
  });
}

beforeAll(async () => {
  certs = makeTestCerts('/C=DE/O=Acme/CN=rest-client');
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  const jwks = join(certs.dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
  tb = await startTestBroker('rest auth', {
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    'sasl.oauthbearer.jwks.endpoint.url': `file://${jwks}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:admin',
    'acl.refresh.ms': 200,
    'metrics.listener': '127.0.0.1:0',
    'connection.failed.authentication.delay.ms': 50,
    'group.min.session.timeout.ms': 1000,
  });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  cluster = tb.broker.context.cluster.clusterId;
  const users = tb.broker.storage.users;
  await users.upsert('admin', scramCredential('SCRAM-SHA-512', 'admin-pw'));
  await users.upsert('alice', scramCredential('SCRAM-SHA-256', 'alice-pw'));
  await users.upsert('bob', scramCredential('SCRAM-SHA-512', 'bob-pw'));
  await users.upsert('carol', plainCredential('carol-pw'));
  const admin = kafkaAdmin().admin();
  await admin.connect();
  await admin.createTopics({ topics: ['orders', 'secret'].map((topic) => ({ topic, numPartitions: 1 })) });
  const acl = (resourceType: number, resourceName: string, principal: string, operation: number, pattern = Pat.LITERAL) => ({
    resourceType,
    resourceName,
    resourcePatternType: pattern,
    principal,
    host: '*',
    operation,
    permissionType: Perm.ALLOW,
  });
  await admin.createAcls({
    acl: [
      acl(Res.TOPIC, 'orders', 'User:alice', Ops.WRITE),
      acl(Res.TOPIC, 'orders', 'User:alice', Ops.READ),
      acl(Res.GROUP, 'alice-', 'User:alice', Ops.READ, Pat.PREFIXED),
      acl(Res.TOPIC, 'orders', 'User:carol', Ops.DESCRIBE),
      acl(Res.TOPIC, 'orders', 'User:rest-client', Ops.WRITE),
      acl(Res.TOPIC, 'orders', 'User:rest-client', Ops.READ),
    ],
  });
  await admin.disconnect();
}, 90_000);

afterAll(async () => {
  await tb?.stop();
  certs?.remove();
});

describe('REST authentication', () => {
  it('no credentials: 401 with WWW-Authenticate naming Basic and Bearer, on every path (no route listing for anonymous callers)', async () => {
    for (const [method, path] of [
      ['GET', '/v3/clusters'],
      ['POST', v3('/topics/orders/records')],
      ['GET', '/v3/no/such/route'],
      ['POST', '/consumers/alice-g'],
    ] as const) {
      const r = await api(method, path, null, method === 'POST' ? record('x') : undefined);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body.error_code).toBe(40101);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="kafka-mysql", Bearer realm="kafka-mysql"');
    }
    // /metrics and /health are not part of the REST interface and stay open (scrapers, probes).
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await stored('orders')).toEqual([]);
  });

  it('wrong password, unknown user, malformed header, unknown scheme: 401; nothing written', async () => {
    for (const auth of [basic('alice', 'wrong'), basic('mallory', 'alice-pw'), 'Basic !!!', 'Digest username="alice"', basic('alice', '')]) {
      const r = await api('POST', v3('/topics/orders/records'), auth, record('refused'));
      expect(r.status, auth).toBe(401);
      expect(r.body.error_code).toBe(40101);
    }
    expect(await stored('orders')).toEqual([]);
  });

  it('Basic with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN users: the password is checked against the stored keys', async () => {
    const alice = await api('POST', v3('/topics/orders/records'), ALICE, record('from-alice'));
    expect(alice.status, alice.text).toBe(200);
    expect(alice.body.offset).toBe(0);
    expect((await api('GET', v3('/topics/orders'), CAROL)).status).toBe(200);
    expect((await api('GET', v3('/topics/orders'), ADMIN)).status).toBe(200);
    // A cached success does not let another password in.
    expect((await api('GET', v3('/topics/orders'), basic('alice', 'alice-pw2'))).status).toBe(401);
    expect(await stored('orders')).toEqual(['from-alice']);
  });

  it('Bearer: a JWT signed by the JWKS key is User:<sub>; an unsigned, expired or foreign token is 401', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('alice').setIssuedAt().setExpirationTime('5m').sign(signingKey);
    const ok = await api('POST', v3('/topics/orders/records'), `Bearer ${token}`, record('bearer-alice'));
    expect(ok.status, ok.text).toBe(200);
    const stranger = (await generateKeyPair('RS256')).privateKey;
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('admin').setExpirationTime('5m').sign(stranger);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('admin').setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(signingKey);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url')}.`;
    for (const t of [foreign, expired, unsigned, 'not-a-jwt']) {
      const r = await api('GET', v3('/topics/orders'), `Bearer ${t}`);
      expect(r.status, t).toBe(401);
    }
    expect(await stored('orders')).toEqual(['from-alice', 'bearer-alice']);
  });
});

describe('REST authorization (the ACLs of the Kafka handlers)', () => {
  it('produce without WRITE: 403, error_code 40301, TOPIC_AUTHORIZATION_FAILED, nothing written', async () => {
    const before = await stored('orders');
    const bob = await api('POST', v3('/topics/orders/records'), BOB, record('from-bob'));
    expect(bob.status, bob.text).toBe(403);
    expect(bob.body).toMatchObject({ error_code: 40301, kafka_error: 'TOPIC_AUTHORIZATION_FAILED', kafka_error_code: 29 });
    // carol may describe the topic but not write it; a stream of records is refused whole.
    const carol = await fetch(`${base}${v3('/topics/orders/records')}`, { method: 'POST', headers: { authorization: CAROL }, body: JSON.stringify(record('c1')) + JSON.stringify(record('c2')) });
    expect(carol.status).toBe(403);
    expect(await stored('orders')).toEqual(before);
  });

  it('a topic the caller may not describe: 403 whether or not it exists; topic lists leave it out', async () => {
    for (const topic of ['secret', 'no-such-topic']) {
      const r = await api('GET', v3(`/topics/${topic}`), BOB);
      expect(r.status, topic).toBe(403);
      expect(r.body.error_code).toBe(40301);
    }
    expect((await api('GET', v3('/topics/secret/partitions/0/records'), ALICE)).status).toBe(403);
    expect((await api('GET', v3('/topics/orders/configs'), ALICE)).status).toBe(403);
    const listed = (who: string) => api('GET', v3('/topics'), who).then((r) => r.body.data.map((t: { topic_name: string }) => t.topic_name));
    expect(await listed(ALICE)).toEqual(['orders']);
    expect(await listed(BOB)).toEqual([]);
    expect(await listed(ADMIN)).toEqual(['orders', 'secret']);
  });

  it('topic admin: create, delete and config changes need CREATE, DELETE and ALTER_CONFIGS (403, nothing changed); the super user may', async () => {
    const create = await api('POST', v3('/topics'), ALICE, { topic_name: 'alice-new', partitions_count: 1 });
    expect(create.status, create.text).toBe(403);
    // CreateTopics' answer without CREATE on the cluster or the topic.
    expect(create.body.kafka_error).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(tb.broker.context.catalog.getTopic('alice-new')).toBeUndefined();
    expect((await api('DELETE', v3('/topics/orders'), ALICE)).status).toBe(403);
    expect((await api('PUT', v3('/topics/orders/configs/retention.ms'), ALICE, { value: '1000' })).status).toBe(403);
    expect(tb.broker.context.catalog.getTopic('orders')?.configs['retention.ms']).toBeUndefined();
    expect((await api('POST', v3('/topics'), ADMIN, { topic_name: 'admin-new', partitions_count: 1 })).status).toBe(201);
    expect((await api('PUT', v3('/topics/admin-new/configs/retention.ms'), ADMIN, { value: '100000' })).status).toBe(204);
    expect((await api('DELETE', v3('/topics/admin-new'), ADMIN)).status).toBe(204);
  });

  it('v2 consumer instances honour READ on the group and on the topics, and serve only their creator', async () => {
    // No READ on the group.
    expect((await api('POST', '/consumers/bob-g', ALICE, { format: 'string' })).status).toBe(403);
    const created = await api('POST', '/consumers/alice-g', ALICE, { name: 'c1', format: 'string', 'auto.offset.reset': 'earliest' });
    expect(created.status, created.text).toBe(200);
    const inst = '/consumers/alice-g/instances/c1';
    // No READ on secret: refused before the group is joined.
    const sub = await api('POST', `${inst}/subscription`, ALICE, { topics: ['secret'] });
    expect(sub.status, sub.text).toBe(403);
    expect(sub.body.kafka_error).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect((await api('POST', `${inst}/assignments`, ALICE, { partitions: [{ topic: 'secret', partition: 0 }] })).status).toBe(403);
    // Another principal cannot use alice's instance.
    expect((await api('GET', `${inst}/records`, BOB)).status).toBe(403);
    expect((await api('POST', `${inst}/subscription`, ALICE, { topics: ['orders'] })).status).toBe(204);
    let values: string[] = [];
    for (let i = 0; i < 20 && values.length < 2; i++) {
      const r = await api('GET', `${inst}/records?timeout=500`, ALICE);
      expect(r.status, r.text).toBe(200);
      values = values.concat(r.body.map((x: { value: string }) => x.value));
    }
    expect(values).toEqual(['from-alice', 'bearer-alice']);
    expect((await api('POST', `${inst}/offsets`, ALICE)).status).toBe(200);
    // READ on the topic taken away: the next fetch is refused.
    const admin = kafkaAdmin().admin();
    await admin.connect();
    await admin.deleteAcls({ filters: [{ resourceType: Res.TOPIC, resourceName: 'orders', resourcePatternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Ops.READ, permissionType: Perm.ALLOW }] });
    await admin.disconnect();
    const refused = await api('GET', `${inst}/records?timeout=100`, ALICE);
    expect(refused.status, refused.text).toBe(403);
    expect((await api('DELETE', inst, ALICE)).status).toBe(204);
  });

  it('consumer groups: list and describe only with DESCRIBE on the group', async () => {
    expect((await api('GET', v3('/consumer-groups/alice-g'), BOB)).status).toBe(403);
    const bobList = await api('GET', v3('/consumer-groups'), BOB);
    expect(bobList.status).toBe(200);
    expect(bobList.body.data).toEqual([]);
    const adminList = await api('GET', v3('/consumer-groups'), ADMIN);
    expect(adminList.body.data.map((g: { consumer_group_id: string }) => g.consumer_group_id)).toContain('alice-g');
  });
});

describe('REST over https with client certificates', () => {
  it('mutual TLS: the certificate maps to User:rest-client, who may read and write orders and not secret; no certificate: no connection', async () => {
    const second = await startTestBroker(
      'rest auth tls',
      {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
        'super.users': 'User:admin',
        'metrics.listener': 'https://127.0.0.1:0',
        'listener.name.http.ssl.keystore.location': certs.brokerKeystore,
        'listener.name.http.ssl.key.password': certs.keyPassword,
        'listener.name.http.ssl.truststore.location': certs.caCert,
        'listener.name.http.ssl.client.auth': 'required',
        'listener.name.http.ssl.principal.mapping.rules': 'RULE:^.*CN=([^,]+).*$/$1/,DEFAULT',
        'rest.authentication.method': 'NONE',
      },
      tb.mysqlUrl,
    );
    try {
      const port = second.broker.metricsPort!;
      const call = (method: string, path: string, body: string | null, withCert: boolean) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              method,
              path,
              ca: readFileSync(certs.caCert),
              ...(withCert ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}),
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode!, text }));
            },
          );
          req.on('error', reject);
          req.end(body ?? undefined);
        });
      const before = await stored('orders');
      const read = async () => JSON.parse((await call('GET', v3('/topics/orders/partitions/0/records?format=string'), null, true)).text).data.map((x: { value: string }) => x.value);
      expect(await read()).toEqual(before);
      const ok = await call('POST', v3('/topics/orders/records'), JSON.stringify(record('over-mtls')), true);
      expect(ok.status, ok.text).toBe(200);
      const denied = await call('POST', v3('/topics/secret/records'), JSON.stringify(record('x')), true);
      expect(denied.status, denied.text).toBe(403);
      await expect(call('GET', '/v3/clusters', null, false)).rejects.toThrow();
      expect(await read()).toEqual([...before, 'over-mtls']);
    } finally {
      await second.stop();
    }
  });
});
