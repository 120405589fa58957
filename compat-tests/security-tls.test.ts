/**
 * Mutual TLS, re-authentication, OAUTHBEARER, the SCRAM credential APIs and hostile input, with
 * real clients over real TLS (openssl-made certificates in a temp dir): kcat and
 * confluent-kafka-python (librdkafka) with a client certificate on an SSL listener requiring
 * one, refused without one or with one from an untrusted CA; kafkajs re-authenticating
 * (KIP-368) on a listener with connections.max.reauth.ms while a client that does not is closed;
 * kafkajs with OAUTHBEARER tokens signed by a key of a JWKS file; AlterUserScramCredentials and
 * DescribeUserScramCredentials through raw requests, the credential then used by kafkajs; fuzzed
 * SASL frames and TLS garbage closing only their own connections.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { scramCredential } from '../server/security/sasl/credentials.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { makeTestCerts, type TestCerts } from './support/certs.js';
import { closesWithin, kcat, RawClient, requireKcat, requirePython, runPython } from './support/clients.js';

let tb: TestBroker;
let certs: TestCerts;
let ports: Record<string, number>;
type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: SigningKey;
let strangerKey: SigningKey;
let jwksServer: HttpServer;
let jwksFetches = 0;

beforeAll(async () => {
  requireKcat();
  requirePython(['confluent_kafka']);
  certs = makeTestCerts();
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = join(certs.dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
  // The same key set served over HTTP, as an identity provider's JWKS endpoint.
  jwksServer = createHttpServer((req, res) => {
    jwksFetches++;
    res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/jwks' ? JSON.stringify({ keys: [jwk] }) : '{}');
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksPort = (jwksServer.address() as { port: number }).port;
  tb = await startTestBroker('security tls', {
    listeners: 'MTLS://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,REAUTH://127.0.0.1:0,OAUTH://127.0.0.1:0,OAUTHURL://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    'listener.security.protocol.map': 'MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,REAUTH:SASL_PLAINTEXT,OAUTH:SASL_PLAINTEXT,OAUTHURL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'ssl.keystore.location': certs.brokerKeystore,
    'ssl.key.password': certs.keyPassword,
    'ssl.truststore.location': certs.caCert,
    'listener.name.mtls.ssl.client.auth': 'required',
    'listener.name.reauth.connections.max.reauth.ms': 1500,
    'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
    'listener.name.oauthurl.sasl.enabled.mechanisms': 'OAUTHBEARER',
    'listener.name.oauthurl.sasl.oauthbearer.jwks.endpoint.url': `http://127.0.0.1:${jwksPort}/jwks`,
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_bob="bob \\"quoted\\" secret";',
    'listener.name.reauth.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";',
    'sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwks).href,
    'sasl.oauthbearer.expected.audience': 'kafka',
    'connection.failed.authentication.delay.ms': 50,
  });
  ports = Object.fromEntries(Object.entries(tb.broker.context.cluster.self.listeners!).map(([k, v]) => [k, v.port]));
  await tb.broker.storage.users.upsert('carol', scramCredential('SCRAM-SHA-256', 'carol-pw'));
}, 60_000);

afterAll(async () => {
  await tb?.stop();
  await new Promise((resolve) => jwksServer?.close(resolve));
  certs?.remove();
});

function kafka(listener: string, sasl?: SASLOptions, tls = false): Kafka {
  return new Kafka({
    clientId: `compat-tls-${listener}`,
    brokers: [`127.0.0.1:${ports[listener]}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 3000,
    ...(sasl ? { sasl } : {}),
    ...(tls ? { ssl: { ca: [readFileSync(certs.caCert, 'utf8')] } } : {}),
  });
}

async function send(k: Kafka, topic: string, value: string): Promise<number> {
  const producer = k.producer();
  await producer.connect();
  try {
    const [r] = await producer.send({ topic, messages: [{ value }] });
    return r!.errorCode;
  } finally {
    await producer.disconnect();
  }
}

const carol = { mechanism: 'scram-sha-256', username: 'carol', password: 'carol-pw' } as const;

describe('mutual TLS', () => {
  const tlsArgs = (cert: string, key: string) => ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caCert}`, '-X', `ssl.certificate.location=${cert}`, '-X', `ssl.key.location=${key}`];

  it('kcat with a client certificate produces and consumes; without one, or with an untrusted one, it is refused', async () => {
    const bootstrap = `127.0.0.1:${ports.MTLS}`;
    const args = tlsArgs(certs.clientCert, certs.clientKey);
    await kcat(['-P', '-b', bootstrap, '-t', 'mtls', '-p', '0', ...args], { input: 'a\nb\n', timeoutMs: 30_000 });
    const out = await kcat(['-C', '-b', bootstrap, '-t', 'mtls', '-p', '0', '-o', 'beginning', '-e', '-q', ...args], { timeoutMs: 30_000 });
    expect(out.toString().trim().split('\n')).toEqual(['a', 'b']);
    for (const bad of [['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caCert}`], tlsArgs(certs.strangerCert, certs.strangerKey)]) {
      await expect(kcat(['-L', '-b', bootstrap, '-m', '3', ...bad], { timeoutMs: 20_000 })).rejects.toThrow();
    }
    expect(await send(kafka('SASL_PLAINTEXT', carol), 'mtls', 'others-served')).toBe(0);
  });

  it('confluent-kafka-python with a client certificate produces over the SSL listener', async () => {
    const script = `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'security.protocol': 'SSL', 'ssl.ca.location': sys.argv[2],
              'ssl.certificate.location': sys.argv[3], 'ssl.key.location': sys.argv[4]})
errors = []
for i in range(3):
    p.produce('mtls-py', value=b'v%d' % i, partition=0, on_delivery=lambda err, msg: errors.append(err) if err else None)
left = p.flush(20)
print('left=%d errors=%d' % (left, len(errors)))
`;
    const r = await runPython(script, [`127.0.0.1:${ports.MTLS}`, certs.caCert, certs.clientCert, certs.clientKey]);
    expect(r.stdout.toString().trim()).toBe('left=0 errors=0');
    const out = await kcat(['-C', '-b', `127.0.0.1:${ports.MTLS}`, '-t', 'mtls-py', '-p', '0', '-o', 'beginning', '-e', '-q', ...tlsArgs(certs.clientCert, certs.clientKey)], { timeoutMs: 30_000 });
    expect(out.toString().trim().split('\n')).toEqual(['v0', 'v1', 'v2']);
  });
});

describe('re-authentication (KIP-368)', () => {
  it('kafkajs re-authenticates past connections.max.reauth.ms and keeps producing; a client that does not is closed at its next request', async () => {
    const producer = kafka('REAUTH', carol).producer();
    await producer.connect();
    expect((await producer.send({ topic: 'reauth', messages: [{ value: '1' }] }))[0]!.errorCode).toBe(0);
    const raw = await RawClient.connect(ports.REAUTH!);
    expect((await raw.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    const auth = await raw.request(36, 1, { authBytes: Buffer.from('\u0000admin\u0000admin-secret') });
    expect(auth).toMatchObject({ errorCode: 0, sessionLifetimeMs: 1500n });
    expect((await raw.request(3, 9, createMetadataRequest({ topics: null }))).brokers.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await producer.send({ topic: 'reauth', messages: [{ value: '2' }] }))[0]!.errorCode).toBe(0);
    await expect(raw.request(3, 9, createMetadataRequest({ topics: null }))).rejects.toThrow();
    await producer.disconnect();
    const scrape = await tb.broker.context.metrics.registry.render();
    const successes = Number(/kafka_mysql_authentications_total\{listener="REAUTH",mechanism="SCRAM-SHA-256",result="success"\} (\d+)/.exec(scrape)?.[1]);
    expect(successes).toBeGreaterThanOrEqual(2);
  });

  it('a v0 (raw-token) client cannot re-authenticate: SaslHandshake v0 after authentication gets ILLEGAL_SASL_STATE', async () => {
    const raw = await RawClient.connect(ports.SASL_PLAINTEXT!);
    expect((await raw.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    expect((await raw.request(36, 0, { authBytes: Buffer.from('\u0000bob\u0000bob "quoted" secret') })).errorCode).toBe(0);
    expect((await raw.request(17, 0, { mechanism: 'PLAIN' })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    expect((await raw.request(36, 1, { authBytes: Buffer.alloc(0) })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    raw.close();
  });
});

describe('OAUTHBEARER', () => {
  const token = (key: SigningKey, claims: { sub?: string; aud?: string; expSeconds?: number }) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(claims.sub ?? 'svc-orders')
      .setAudience(claims.aud ?? 'kafka')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expSeconds ?? 300))
      .sign(key);
  const oauth = (value: () => Promise<string>): SASLOptions => ({ mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await value() }) });

  it('kafkajs with a token signed by a JWKS key produces; expired, wrong audience, foreign key and unsigned tokens are refused', async () => {
    expect(await send(kafka('OAUTH', oauth(() => token(signingKey, {}))), 'oauth', 'ok')).toBe(0);
    const refused = [
      () => token(signingKey, { expSeconds: -120 }),
      () => token(signingKey, { aud: 'other' }),
      () => token(strangerKey, {}),
      async () => new UnsecuredJWT({}).setSubject('svc-orders').setAudience('kafka').setExpirationTime('5m').encode(),
    ];
    for (const make of refused) await expect(send(kafka('OAUTH', oauth(make)), 'oauth', 'no')).rejects.toThrow();
    expect(await send(kafka('OAUTH', oauth(() => token(signingKey, {}))), 'oauth', 'still')).toBe(0);
  });

  it('a listener whose JWKS is a URL fetches the key set and accepts the same tokens', async () => {
    expect(await send(kafka('OAUTHURL', oauth(() => token(signingKey, {}))), 'oauth-url', 'ok')).toBe(0);
    expect(jwksFetches).toBeGreaterThanOrEqual(1);
    await expect(send(kafka('OAUTHURL', oauth(() => token(strangerKey, {}))), 'oauth-url', 'no')).rejects.toThrow();
  });

  it('the session ends with the token: session_lifetime_ms is the time left before exp', async () => {
    const raw = await RawClient.connect(ports.OAUTH!);
    expect((await raw.request(17, 1, { mechanism: 'OAUTHBEARER' })).errorCode).toBe(0);
    const jwt = await token(signingKey, { expSeconds: 60 });
    const auth = await raw.request(36, 2, { authBytes: Buffer.from(`n,,\u0001auth=Bearer ${jwt}\u0001\u0001`) });
    expect(auth.errorCode).toBe(0);
    expect(Number(auth.sessionLifetimeMs)).toBeGreaterThan(50_000);
    expect(Number(auth.sessionLifetimeMs)).toBeLessThanOrEqual(60_000);
    raw.close();
  });
});

describe('SCRAM credential APIs', () => {
  it('AlterUserScramCredentials stores a credential kafkajs then logs in with; DescribeUserScramCredentials lists mechanisms and iterations', async () => {
    const raw = await RawClient.connect(ports.SASL_PLAINTEXT!);
    expect((await raw.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    expect((await raw.request(36, 1, { authBytes: Buffer.from('\u0000admin\u0000admin-secret') })).errorCode).toBe(0);
    const salt = randomBytes(16);
    const alter = await raw.request(51, 0, {
      deletions: [{ name: 'nobody', mechanism: 1 }],
      upsertions: [
        { name: 'dave', mechanism: 2, iterations: 8192, salt, saltedPassword: pbkdf2Sync('dave-pw', salt, 8192, 64, 'sha512') },
        { name: 'erin', mechanism: 1, iterations: 100, salt, saltedPassword: pbkdf2Sync('x', salt, 100, 32, 'sha256') },
        { name: 'frank', mechanism: 3, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
        { name: 'gina', mechanism: 1, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
        { name: 'gina', mechanism: 1, iterations: 4096, salt, saltedPassword: Buffer.alloc(32) },
      ],
    });
    expect(alter.results).toEqual([
      { user: 'nobody', errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to delete a user credential that does not exist' },
      { user: 'dave', errorCode: 0, errorMessage: null },
      { user: 'erin', errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too few iterations' },
      { user: 'frank', errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' },
      { user: 'gina', errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'A user credential cannot be altered twice in the same request' },
    ]);
    expect(await send(kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-512', username: 'dave', password: 'dave-pw' }), 'scram-api', 'dave')).toBe(0);
    const described = await raw.request(50, 0, { users: [{ name: 'dave' }, { name: 'carol' }, { name: 'erin' }, { name: 'carol' }] });
    expect(described.results).toEqual([
      { user: 'dave', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 8192 }] },
      { user: 'carol', errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request: carol', credentialInfos: [] },
      { user: 'erin', errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist: erin', credentialInfos: [] },
    ]);
    const all = await raw.request(50, 0, { users: null });
    expect(all.results.map((r) => r.user)).toEqual(['carol', 'dave']);
    const removed = await raw.request(51, 0, { deletions: [{ name: 'dave', mechanism: 2 }], upsertions: [] });
    expect(removed.results).toEqual([{ user: 'dave', errorCode: 0, errorMessage: null }]);
    await expect(send(kafka('SASL_PLAINTEXT', { mechanism: 'scram-sha-512', username: 'dave', password: 'dave-pw' }), 'scram-api', 'gone')).rejects.toThrow();
    raw.close();
  });
});

describe('hostile input', () => {
  function frame(apiKey: number, version: number, body: Buffer, correlationId = 7): Buffer {
    const clientId = Buffer.from('fuzz');
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(version, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    const flexible = (apiKey === 17 && false) || (apiKey === 36 && version >= 2);
    const payload = Buffer.concat([header, clientId, flexible ? Buffer.from([0]) : Buffer.alloc(0), body]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length, 0);
    return Buffer.concat([size, payload]);
  }

  /** Sends bytes on a fresh connection; resolves once the broker closed it (or after 3 s, false). */
  async function closedAfter(port: number, bytes: Buffer[]): Promise<boolean> {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    for (const b of bytes) socket.write(b);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 3000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  it('200 fuzzed SASL exchanges each close their own connection; authenticated clients are served throughout', async () => {
    const producer = kafka('SASL_PLAINTEXT', carol).producer();
    await producer.connect();
    let seed = 1;
    const random = (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      return b;
    };
    const handshake = (mechanism: string, version = 1) => {
      const m = Buffer.from(mechanism);
      const body = Buffer.alloc(2 + m.length);
      body.writeInt16BE(m.length, 0);
      m.copy(body, 2);
      return frame(17, version, body, 1);
    };
    const authenticate = (token: Buffer) => {
      const body = Buffer.alloc(4 + token.length);
      body.writeInt32BE(token.length, 0);
      token.copy(body, 4);
      return frame(36, 1, body, 2);
    };
    let closed = 0;
    const cases = 200;
    for (let i = 0; i < cases; i++) {
      const kind = i % 5;
      const token = random(1 + (i % 97));
      const bytes =
        kind === 0 ? [handshake('SCRAM-SHA-256'), authenticate(token)] // garbage client-first
        : kind === 1 ? [handshake('SCRAM-SHA-256'), authenticate(Buffer.from('n,,n=carol,r=abc')), authenticate(token)] // garbage client-final
        : kind === 2 ? [handshake('PLAIN', 0), (() => { const s = Buffer.alloc(4); s.writeInt32BE(token.length); return Buffer.concat([s, token]); })()] // raw token mode
        : kind === 3 ? [handshake('PLAIN'), frame(36, 1, token, 3)] // SaslAuthenticate whose body is garbage
        : [frame(17, 1, token, 1)]; // a handshake whose body is garbage
      if (await closedAfter(ports.SASL_PLAINTEXT!, bytes)) closed++;
      if (i % 40 === 39) expect((await producer.send({ topic: 'fuzz-ok', messages: [{ value: String(i) }] }))[0]!.errorCode).toBe(0);
    }
    expect(closed).toBe(cases);
    await producer.disconnect();
  }, 120_000);

  it('TLS garbage, a plaintext Kafka request on a TLS port and a TLS client on a plaintext SASL port close only their own connections', async () => {
    expect(await closedAfter(ports.SASL_SSL!, [randomBytes(300)])).toBe(true);
    // A whole TLS handshake record whose content is garbage.
    expect(await closedAfter(ports.MTLS!, [Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x32]), randomBytes(50)])])).toBe(true);
    expect(await closedAfter(ports.SASL_SSL!, [frame(18, 0, Buffer.alloc(0))])).toBe(true);
    const tlsToPlain = tlsConnect({ port: ports.SASL_PLAINTEXT!, host: '127.0.0.1', rejectUnauthorized: false });
    tlsToPlain.on('error', () => undefined);
    await new Promise((resolve) => tlsToPlain.once('close', resolve));
    const over = await RawClient.connect(ports.SASL_PLAINTEXT!);
    expect(await closesWithin(over, 0)).toBe(false);
    over.close();
    expect(await send(kafka('SASL_SSL', carol, true), 'tls-ok', 'fine')).toBe(0);
  });
});
