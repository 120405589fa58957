/**
 * The REST interface (docs/http.md) against a real broker: Node's fetch and curl on every
 * endpoint, error cases included (nothing written on a refused produce); records produced over
 * REST read back byte for byte by kafkajs and kcat, and theirs read over REST; key-based
 * partitioning agreeing with kafkajs's Java-compatible partitioner; consumer groups and lag;
 * the v2 consumer instances (assign, subscribe with two instances sharing a group, commit,
 * expiry); the OpenAPI document listing every route.
 */
import { connect } from 'node:net';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRoutes } from '../server/http/cluster.js';
import { consumerRoutes } from '../server/http/consumers.js';
import { groupRoutes } from '../server/http/groups.js';
import { messageRoutes } from '../server/http/messages.js';
import { OPERATIONS, openApiRoutes } from '../server/http/openapi.js';
import { delayedRoutes } from '../server/delayed/routes.js';
import { subscriptionRoutes } from '../server/subscriptions/routes.js';
import { produceRoutes } from '../server/http/produce.js';
import { recordRoutes } from '../server/http/records.js';
import { topicRoutes } from '../server/http/topics.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcat, kcatConsume, pollUntil, requireKcat, runProcess } from './support/clients.js';

let tb: TestBroker;
let base: string;
let cluster: string;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

const SOCKET_LIMIT = 1_048_576;

beforeAll(async () => {
  requireKcat();
  tb = await startTestBroker('rest', { 'metrics.listener': '127.0.0.1:0', 'socket.request.max.bytes': SOCKET_LIMIT, 'consumer.instance.timeout.ms': 4000, 'group.min.session.timeout.ms': 1000 });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  cluster = tb.broker.context.cluster.clusterId;
  kafka = new Kafka({ clientId: 'rest-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

interface Answer {
  status: number;
  body: any;
  text: string;
  contentType: string | null;
}

async function api(method: string, path: string, body?: unknown, raw?: string | Buffer): Promise<Answer> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text, contentType: response.headers.get('content-type') };
}

const v3 = (path: string) => `/v3/clusters/${cluster}${path}`;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

async function createTopic(name: string, partitions = 1, configs: { name: string; value: string }[] = []): Promise<void> {
  const r = await api('POST', v3('/topics'), { topic_name: name, partitions_count: partitions, configs });
  expect(r.status, r.text).toBe(201);
}

async function endOffset(topic: string, partition = 0): Promise<string> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.find((o) => o.partition === partition)!.high;
}

async function consumeAll(topic: string, count: number): Promise<{ partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | undefined> }[]> {
  const consumer = kafka.consumer({ groupId: `read-${topic}-${Date.now()}`, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | undefined> }[] = [];
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers as Record<string, Buffer | undefined> });
    },
  });
  await pollUntil(async () => got.length >= count, 20_000);
  await consumer.disconnect();
  return got;
}

describe('clusters and brokers', () => {
  it('lists this cluster and its broker; another cluster id is 404', async () => {
    const list = await api('GET', '/v3/clusters');
    expect(list.status).toBe(200);
    expect(list.body.kind).toBe('KafkaClusterList');
    expect(list.body.data.map((c: any) => c.cluster_id)).toEqual([cluster]);
    const one = await api('GET', v3(''));
    expect(one.body.cluster_id).toBe(cluster);
    expect(one.body.topics.related).toBe(`${base}/v3/clusters/${cluster}/topics`);
    const brokers = await api('GET', v3('/brokers'));
    expect(brokers.body.data).toEqual([expect.objectContaining({ kind: 'KafkaBroker', broker_id: tb.broker.context.cluster.self.nodeId, port: tb.port })]);
    const broker = await api('GET', v3(`/brokers/${tb.broker.context.cluster.self.nodeId}`));
    expect(broker.body.host).toBe('127.0.0.1');
    expect((await api('GET', v3('/brokers/4242'))).status).toBe(404);
    const other = await api('GET', '/v3/clusters/not-this-one/topics');
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ error_code: 404, message: 'Cluster not-this-one cannot be found.' });
  });

  it('answers unknown paths 404 and wrong methods 405, as JSON', async () => {
    const missing = await api('GET', '/v3/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(404);
    const wrong = await api('PATCH', v3('/topics'));
    expect(wrong.status).toBe(405);
    expect(wrong.body.message).toMatch(/PATCH/);
    // The broker's own endpoints still answer beside the REST routes.
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});

describe('topics, configs and partitions', () => {
  it('creates, lists, describes and deletes a topic; kafkajs sees the same', async () => {
    const created = await api('POST', v3('/topics'), { topic_name: 'rest-topic', partitions_count: 3, configs: [{ name: 'retention.ms', value: '3600000' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'KafkaTopic', topic_name: 'rest-topic', partitions_count: 3, is_internal: false });
    expect(await admin.listTopics()).toContain('rest-topic');
    const md = await admin.fetchTopicMetadata({ topics: ['rest-topic'] });
    expect(md.topics[0]!.partitions).toHaveLength(3);
    const list = await api('GET', v3('/topics'));
    expect(list.body.data.map((t: any) => t.topic_name)).toContain('rest-topic');
    const one = await api('GET', v3('/topics/rest-topic'));
    expect(one.body.partitions_count).toBe(3);

    const configs = await api('GET', v3('/topics/rest-topic/configs'));
    const retention = configs.body.data.find((c: any) => c.name === 'retention.ms');
    expect(retention).toMatchObject({ value: '3600000', is_default: false, source: 'DYNAMIC_TOPIC_CONFIG' });
    expect(configs.body.data.find((c: any) => c.name === 'cleanup.policy')).toMatchObject({ value: 'delete', is_default: true, source: 'DEFAULT_CONFIG' });

    const put = await api('PUT', v3('/topics/rest-topic/configs/cleanup.policy'), { value: 'compact' });
    expect(put.status).toBe(204);
    expect((await api('GET', v3('/topics/rest-topic/configs/cleanup.policy'))).body).toMatchObject({ value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG' });
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'rest-topic', configNames: ['cleanup.policy'] }] });
    expect(described.resources[0]!.configEntries[0]!.configValue).toBe('compact');
    expect((await api('DELETE', v3('/topics/rest-topic/configs/cleanup.policy'))).status).toBe(204);
    expect((await api('GET', v3('/topics/rest-topic/configs/cleanup.policy'))).body.value).toBe('delete');
    const badValue = await api('PUT', v3('/topics/rest-topic/configs/cleanup.policy'), { value: 'sometimes' });
    expect(badValue.status).toBe(400);
    expect(badValue.body.kafka_error).toBe('INVALID_CONFIG');
    expect((await api('GET', v3('/topics/rest-topic/configs/no.such.key'))).status).toBe(404);

    const partitions = await api('GET', v3('/topics/rest-topic/partitions'));
    expect(partitions.body.data.map((p: any) => p.partition_id)).toEqual([0, 1, 2]);
    expect((await api('GET', v3('/topics/rest-topic/partitions/2'))).body.partition_id).toBe(2);
    const noPartition = await api('GET', v3('/topics/rest-topic/partitions/3'));
    expect(noPartition.status).toBe(404);
    expect(noPartition.body.error_code).toBe(40402);

    expect((await api('DELETE', v3('/topics/rest-topic'))).status).toBe(204);
    expect((await api('GET', v3('/topics/rest-topic'))).status).toBe(404);
    expect(await admin.listTopics()).not.toContain('rest-topic');
  });

  it('refuses bad creations with 4xx and creates nothing', async () => {
    await createTopic('rest-dup');
    const dup = await api('POST', v3('/topics'), { topic_name: 'rest-dup', partitions_count: 1 });
    expect(dup.status).toBe(400);
    expect(dup.body).toMatchObject({ error_code: 40002, kafka_error: 'TOPIC_ALREADY_EXISTS' });
    const wrongType = await api('POST', v3('/topics'), { topic_name: 'rest-wrong-type', partitions_count: '3' });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.message).toMatch(/partitions_count/);
    const malformed = await api('POST', v3('/topics'), undefined, '{"topic_name": "rest-malformed",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/Malformed JSON/);
    const badName = await api('POST', v3('/topics'), { topic_name: 'bad/name' });
    expect(badName.status).toBe(400);
    expect(badName.body.kafka_error).toBe('INVALID_TOPIC_EXCEPTION');
    const badConfig = await api('POST', v3('/topics'), { topic_name: 'rest-bad-config', configs: [{ name: 'retention.ms', value: 'soon' }] });
    expect(badConfig.status).toBe(400);
    const noName = await api('POST', v3('/topics'), { partitions_count: 1 });
    expect(noName.status).toBe(422);
    const tooBig = await api('POST', v3('/topics'), undefined, JSON.stringify({ topic_name: 'rest-too-big', pad: 'x'.repeat(SOCKET_LIMIT) }));
    expect(tooBig.status).toBe(413);
    const topics = await admin.listTopics();
    for (const t of ['rest-wrong-type', 'rest-malformed', 'rest-bad-config', 'rest-too-big']) expect(topics).not.toContain(t);
    expect((await api('DELETE', v3('/topics/rest-never-was'))).status).toBe(404);
  });
});

describe('produce', () => {
  it('produces one record with binary key, value and headers; kafkajs and kcat read the same bytes', async () => {
    await createTopic('rest-produce-one');
    const key = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await api('POST', v3('/topics/rest-produce-one/records'), {
      key: { type: 'BINARY', data: b64(key) },
      value: { type: 'BINARY', data: b64(value) },
      headers: [{ name: 'source', value: b64('rest') }, { name: 'empty', value: null }],
      timestamp: '2026-01-02T03:04:05.678Z',
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({
      error_code: 200,
      cluster_id: cluster,
      topic_name: 'rest-produce-one',
      partition_id: 0,
      offset: 0,
      timestamp: '2026-01-02T03:04:05.678Z',
      key: { type: 'BINARY', size: 5 },
      value: { type: 'BINARY', size: 256 },
    });
    const [read] = await consumeAll('rest-produce-one', 1);
    expect(read!.key!.equals(key)).toBe(true);
    expect(read!.value!.equals(value)).toBe(true);
    expect(read!.headers.source!.toString()).toBe('rest');
    const [viaKcat] = await kcatConsume(tb.bootstrap, 'rest-produce-one', 0);
    expect(viaKcat!.key!.equals(key)).toBe(true);
    expect(viaKcat!.value!.equals(value)).toBe(true);
    expect(viaKcat!.timestamp).toBe(BigInt(Date.parse('2026-01-02T03:04:05.678Z')));
  });

  it('stores JSON values as their JSON text and STRING as UTF-8; a record without key or value is null', async () => {
    await createTopic('rest-produce-formats');
    const json = await api('POST', v3('/topics/rest-produce-formats/records'), { key: { type: 'STRING', data: 'order-42' }, value: { type: 'JSON', data: { id: 42, items: ['ä', 1.5] } } });
    expect(json.body).toMatchObject({ error_code: 200, key: { type: 'STRING', size: 8 }, value: { type: 'JSON', size: 28 } }); // 'ä' is two bytes in UTF-8
    const untyped = await api('POST', v3('/topics/rest-produce-formats/records'), { value: { data: [1, 2, 3] } });
    expect(untyped.body.value).toEqual({ type: 'JSON', size: 7 });
    const empty = await api('POST', v3('/topics/rest-produce-formats/records'), {});
    expect(empty.body).toMatchObject({ error_code: 200, key: null, value: null });
    const records = await kcatConsume(tb.bootstrap, 'rest-produce-formats', 0);
    expect(records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      ['order-42', '{"id":42,"items":["ä",1.5]}'],
      [null, '[1,2,3]'],
      [null, null],
    ]);
  });

  it('places keyed records where kafkajs\'s Java-compatible partitioner does, and partition_id where asked', async () => {
    await createTopic('rest-keys', 7);
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i * 7919}`);
    await producer.send({ topic: 'rest-keys', acks: -1, messages: keys.map((k) => ({ key: k, value: 'kafkajs' })) });
    const kafkajsPartition = new Map<string, number>();
    for (const m of await consumeAll('rest-keys', keys.length)) kafkajsPartition.set(m.key!.toString(), m.partition);
    const body = keys.map((k) => JSON.stringify({ key: { type: 'STRING', data: k }, value: { type: 'STRING', data: 'rest' } })).join('');
    const r = await api('POST', v3('/topics/rest-keys/records'), undefined, body);
    expect(r.status).toBe(200);
    const answers = r.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(answers).toHaveLength(keys.length);
    answers.forEach((a, i) => expect(a.partition_id, keys[i]).toBe(kafkajsPartition.get(keys[i]!)));
    expect(new Set(answers.map((a) => a.partition_id)).size).toBeGreaterThan(3);
    const pinned = await api('POST', v3('/topics/rest-keys/records'), { partition_id: 6, key: { type: 'STRING', data: keys[0] } });
    expect(pinned.body.partition_id).toBe(6);
  });

  it('takes a stream of concatenated records, one answer per record in order, offsets contiguous', async () => {
    await createTopic('rest-stream', 2);
    const records = Array.from({ length: 300 }, (_, i) => ({ partition_id: i % 2, value: { type: 'STRING', data: `record-${i}` } }));
    // Sent as a stream of chunks cut mid-record, so records span chunks.
    const text = records.map((r) => JSON.stringify(r)).join('\n');
    const bytes = Buffer.from(text);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 777) controller.enqueue(bytes.subarray(i, i + 777));
        controller.close();
      },
    });
    const response = await fetch(`${base}${v3('/topics/rest-stream/records')}`, { method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
    expect(response.status).toBe(200);
    const answers = (await response.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(answers).toHaveLength(300);
    expect(answers.every((a) => a.error_code === 200)).toBe(true);
    for (const p of [0, 1]) expect(answers.filter((a) => a.partition_id === p).map((a) => a.offset)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    const read = await kcatConsume(tb.bootstrap, 'rest-stream', 1);
    expect(read.map((r) => r.value!.toString())).toEqual(records.filter((_, i) => i % 2 === 1).map((r) => r.value.data));
  });

  it('refuses bad records with 4xx and a clear message, writing nothing', async () => {
    await createTopic('rest-refused', 2, [{ name: 'max.message.bytes', value: '2000' }]);
    const path = v3('/topics/rest-refused/records');
    const cases: [unknown, string | undefined, number, RegExp][] = [
      [undefined, '{"value": {"type": "STRING", "data": "x"}', 400, /Malformed JSON/],
      [undefined, '{"value": {"type": "STRING", "data": }}', 400, /Malformed JSON/],
      [undefined, '[1, 2]', 400, /Malformed JSON/],
      [undefined, '', 400, /no record/],
      [{ value: { type: 'XML', data: '<a/>' } }, undefined, 422, /value.type/],
      [{ value: { type: 'BINARY', data: 'not base64!' } }, undefined, 422, /base64/],
      [{ value: { type: 'STRING', data: 42 } }, undefined, 422, /STRING/],
      [{ partition_id: 'one' }, undefined, 422, /partition_id/],
      [{ partition_id: 9 }, undefined, 404, /rest-refused-9/],
      [{ headers: [{ name: 1 }] }, undefined, 422, /headers\[0\]/],
      [{ timestamp: 'yesterday' }, undefined, 422, /timestamp/],
      [{ value: { type: 'STRING', data: 'x'.repeat(3000) } }, undefined, 413, /./],
      [{ value: { type: 'STRING', data: 'y'.repeat(SOCKET_LIMIT) } }, undefined, 413, /socket.request.max.bytes/],
    ];
    for (const [body, raw, status, message] of cases) {
      const r = await api('POST', path, body, raw);
      expect(r.status, `${JSON.stringify(body ?? raw)}: ${r.text}`).toBe(status);
      expect(r.body.message).toMatch(message);
      expect(typeof r.body.error_code).toBe('number');
    }
    const tooLarge = await api('POST', path, { value: { type: 'STRING', data: 'x'.repeat(3000) } });
    expect(tooLarge.body.kafka_error).toBe('MESSAGE_TOO_LARGE');
    const unknown = await api('POST', v3('/topics/rest-no-such-topic/records'), { value: { data: 1 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error_code: 40403, kafka_error_code: 3 });
    expect(await endOffset('rest-refused', 0)).toBe('0');
    expect(await endOffset('rest-refused', 1)).toBe('0');
    expect(await admin.listTopics()).not.toContain('rest-no-such-topic');
    // In a stream, a bad record gets its error in its answer; the good ones are written.
    const mixed = await api('POST', path, undefined, JSON.stringify({ partition_id: 0, value: { type: 'STRING', data: 'good' } }) + JSON.stringify({ value: { type: 'XML' } }));
    expect(mixed.status).toBe(200);
    const answers = mixed.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(answers.map((a) => a.error_code)).toEqual([200, 42206]);
    expect(await endOffset('rest-refused', 0)).toBe('1');
  });

  it('survives a client that drops the connection mid-record: the broker answers on, no partial record is stored', async () => {
    await createTopic('rest-dropped');
    const socket = connect({ host: '127.0.0.1', port: tb.broker.metricsPort! });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const whole = JSON.stringify({ value: { type: 'STRING', data: 'whole' } });
    const half = '{"value": {"type": "STRING", "data": "hal';
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    socket.write(`POST ${v3('/topics/rest-dropped/records')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    socket.write(chunk(whole));
    await new Promise((r) => setTimeout(r, 100));
    socket.write(chunk(half));
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await api('GET', '/v3/clusters')).status).toBe(200);
    const read = await api('GET', v3('/topics/rest-dropped/partitions/0/records?format=string'));
    expect(read.body.data.map((r: any) => r.value)).toEqual(['whole']);
  });

  it('refuses requests another site\'s page makes (Origin, Sec-Fetch-Site) with 403, writing nothing; same-origin pages and non-browsers are served', async () => {
    await createTopic('rest-csrf');
    const path = v3('/topics/rest-csrf/records');
    const record = JSON.stringify({ partition_id: 0, value: { type: 'STRING', data: 'x' } });
    const post = (headers: Record<string, string>) => fetch(`${base}${path}`, { method: 'POST', headers, body: record });
    // What a form or fetch on another site sends: text/plain and its own Origin; a sandboxed page sends "null".
    const crossSite: Record<string, string>[] = [
      { 'content-type': 'text/plain', origin: 'http://attacker.example' },
      { 'content-type': 'application/json', origin: 'null' },
      { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of crossSite) {
      const r = await post(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(((await r.json()) as { error_code: number }).error_code).toBe(40302);
    }
    expect(await endOffset('rest-csrf')).toBe('0');
    const sameOrigin = await post({ 'content-type': 'application/json', origin: base, 'sec-fetch-site': 'same-origin' });
    expect(sameOrigin.status).toBe(200);
    const noBrowser = await post({ 'content-type': 'application/json' });
    expect(noBrowser.status).toBe(200);
    expect(await endOffset('rest-csrf')).toBe('2');
  });

  it('curl produces and reads', async () => {
    await createTopic('rest-curl');
    const produced = await runProcess('curl', ['-s', '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"value":{"type":"STRING","data":"from curl"}}', `${base}${v3('/topics/rest-curl/records')}`]);
    expect(JSON.parse(produced.stdout.toString())).toMatchObject({ error_code: 200, offset: 0 });
    const read = await runProcess('curl', ['-s', `${base}${v3('/topics/rest-curl/partitions/0/records')}?format=string`]);
    expect(JSON.parse(read.stdout.toString()).data.map((r: any) => r.value)).toEqual(['from curl']);
    const error = await runProcess('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${base}${v3('/topics/rest-curl/partitions/5/records')}`]);
    expect(error.stdout.toString()).toBe('404');
    const topics = await runProcess('curl', ['-s', `${base}${v3('/topics')}`]);
    expect(JSON.parse(topics.stdout.toString()).data.map((t: any) => t.topic_name)).toContain('rest-curl');
  });
});

describe('reading by offset range', () => {
  it('reads what kafkajs and kcat produced, byte for byte, with offsets and headers', async () => {
    await createTopic('rest-read');
    const binary = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff));
    await producer.send({ topic: 'rest-read', acks: -1, messages: [{ key: 'k1', value: binary, headers: { h: 'v' } }, { key: null, value: 'second' }] });
    await kcat(['-P', '-b', tb.bootstrap, '-t', 'rest-read', '-p', '0', '-K', '\t', '-H', 'from=kcat'], { input: 'kk\tkcat value\n' });
    const r = await api('GET', v3('/topics/rest-read/partitions/0/records?offset=0&limit=10'));
    expect(r.status).toBe(200);
    expect(r.body.data.map((x: any) => x.offset)).toEqual([0, 1, 2]);
    expect(Buffer.from(r.body.data[0].value, 'base64').equals(binary)).toBe(true);
    expect(r.body.data[0].key).toBe(b64('k1'));
    expect(r.body.data[0].headers).toEqual([{ name: 'h', value: b64('v') }]);
    expect(r.body.data[1].key).toBeNull();
    expect(Buffer.from(r.body.data[2].value, 'base64').toString()).toBe('kcat value');
    expect(r.body.data[2].headers).toEqual([{ name: 'from', value: b64('kcat') }]);
    expect(r.body).toMatchObject({ next_offset: 3, high_watermark: 3, log_start_offset: 0 });
    const page = await api('GET', v3('/topics/rest-read/partitions/0/records?offset=1&limit=1&format=string'));
    expect(page.body.data.map((x: any) => [x.offset, x.value])).toEqual([[1, 'second']]);
    expect(page.body.next_offset).toBe(2);
    const atEnd = await api('GET', v3('/topics/rest-read/partitions/0/records?offset=3'));
    expect(atEnd.body.data).toEqual([]);
    const beyond = await api('GET', v3('/topics/rest-read/partitions/0/records?offset=4'));
    expect(beyond.status).toBe(416);
    expect(beyond.body.kafka_error).toBe('OFFSET_OUT_OF_RANGE');
    expect((await api('GET', v3('/topics/rest-read/partitions/0/records?limit=zero'))).status).toBe(400);
    expect((await api('GET', v3('/topics/rest-read/partitions/0/records?format=xml'))).status).toBe(400);
    const notJson = await api('GET', v3('/topics/rest-read/partitions/0/records?format=json'));
    expect(notJson.status).toBe(422);
  });

  it('hides aborted transactions and control batches', async () => {
    await createTopic('rest-txn');
    const txProducer = kafka.producer({ transactionalId: 'rest-txn', maxInFlightRequests: 1, idempotent: true });
    await txProducer.connect();
    const aborted = await txProducer.transaction();
    await aborted.send({ topic: 'rest-txn', messages: [{ value: 'aborted' }] });
    await aborted.abort();
    const committed = await txProducer.transaction();
    await committed.send({ topic: 'rest-txn', messages: [{ value: 'committed' }] });
    await committed.commit();
    await txProducer.disconnect();
    const r = await api('GET', v3('/topics/rest-txn/partitions/0/records?format=string'));
    expect(r.body.data.map((x: any) => x.value)).toEqual(['committed']);
    expect(r.body.next_offset).toBe(4);
  });
});

describe('consumer groups and lag', () => {
  it('lists a kafkajs group with its consumer, and the lag of its commits', async () => {
    await createTopic('rest-lag', 2);
    await producer.send({ topic: 'rest-lag', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `m${i}` })) });
    const consumer = kafka.consumer({ groupId: 'rest-lag-group', sessionTimeout: 6000, heartbeatInterval: 300 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'rest-lag', fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommit: false, eachMessage: async () => void seen++ });
    await pollUntil(async () => seen >= 10, 20_000);
    await consumer.commitOffsets([{ topic: 'rest-lag', partition: 0, offset: '2' }, { topic: 'rest-lag', partition: 1, offset: '5' }]);
    const groups = await api('GET', v3('/consumer-groups'));
    expect(groups.body.data.find((g: any) => g.consumer_group_id === 'rest-lag-group')).toMatchObject({ state: 'STABLE', partition_assignor: expect.any(String), is_simple: false });
    const consumers = await api('GET', v3('/consumer-groups/rest-lag-group/consumers'));
    expect(consumers.body.data).toHaveLength(1);
    expect(consumers.body.data[0].assignments).toHaveLength(2);
    const lags = await api('GET', v3('/consumer-groups/rest-lag-group/lags'));
    expect(lags.body.data.map((l: any) => [l.partition_id, l.current_offset, l.log_end_offset, l.lag])).toEqual([
      [0, 2, 5, 3],
      [1, 5, 5, 0],
    ]);
    expect(lags.body.data[0].consumer_id).toBe(consumers.body.data[0].consumer_id);
    const summary = await api('GET', v3('/consumer-groups/rest-lag-group/lag-summary'));
    expect(summary.body).toMatchObject({ max_lag: 3, total_lag: 3, max_lag_topic_name: 'rest-lag', max_lag_partition_id: 0 });
    await consumer.disconnect();
    expect((await api('GET', v3('/consumer-groups/rest-no-group'))).status).toBe(404);
  });
});

describe('v2 consumer instances', () => {
  const instance = (group: string, name: string) => `/consumers/${group}/instances/${name}`;

  it('assigns, fetches, commits and deletes; kafkajs sees the commit', async () => {
    await createTopic('rest-v2-assign', 2);
    await producer.send({ topic: 'rest-v2-assign', acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}` })) });
    const created = await api('POST', '/consumers/rest-v2-a', { name: 'one', format: 'string', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ instance_id: 'one', base_uri: `${base}${instance('rest-v2-a', 'one')}` });
    expect((await api('POST', '/consumers/rest-v2-a', { name: 'one' })).body.error_code).toBe(40902);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/assignments`, { partitions: [{ topic: 'rest-v2-assign', partition: 0 }, { topic: 'rest-v2-assign', partition: 1 }] })).status).toBe(204);
    expect((await api('GET', `${instance('rest-v2-a', 'one')}/assignments`)).body.partitions).toHaveLength(2);
    const fetched = await api('GET', `${instance('rest-v2-a', 'one')}/records?timeout=2000`);
    expect(fetched.contentType).toBe('application/vnd.kafka.string.v2+json');
    expect(fetched.body.map((r: any) => `${r.partition}:${r.offset}:${r.key}=${r.value}`).sort()).toEqual(['0:0:k0=v0', '0:1:k2=v2', '0:2:k4=v4', '1:0:k1=v1', '1:1:k3=v3', '1:2:k5=v5']);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/offsets`, { offsets: [{ topic: 'rest-v2-assign', partition: 0, offset: 1 }] })).status).toBe(200);
    // A GET with a body, as Confluent's API has it (fetch refuses to send one; curl does).
    const offsets = await runProcess('curl', ['-s', '-X', 'GET', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ partitions: [{ topic: 'rest-v2-assign', partition: 0 }, { topic: 'rest-v2-assign', partition: 1 }] }), `${base}${instance('rest-v2-a', 'one')}/offsets`]);
    expect(JSON.parse(offsets.stdout.toString()).offsets.map((o: any) => [o.partition, o.offset])).toEqual([[0, 2], [1, -1]]);
    const seen = await admin.fetchOffsets({ groupId: 'rest-v2-a', topics: ['rest-v2-assign'] });
    expect(seen[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('2');
    // Seeking back re-reads; an empty fetch waits for new records.
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/positions`, { offsets: [{ topic: 'rest-v2-assign', partition: 1, offset: 2 }] })).status).toBe(204);
    expect((await api('GET', `${instance('rest-v2-a', 'one')}/records`)).body.map((r: any) => r.value)).toEqual(['v5']);
    const waiting = api('GET', `${instance('rest-v2-a', 'one')}/records?timeout=5000`);
    await new Promise((r) => setTimeout(r, 200));
    await producer.send({ topic: 'rest-v2-assign', acks: -1, messages: [{ partition: 1, value: 'late' }] });
    expect((await waiting).body.map((r: any) => r.value)).toEqual(['late']);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/positions/beginning`, { partitions: [{ topic: 'rest-v2-assign', partition: 0 }] })).status).toBe(204);
    expect((await api('GET', `${instance('rest-v2-a', 'one')}/records`)).body.map((r: any) => r.value)).toEqual(['v0', 'v2', 'v4']);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/positions/end`, { partitions: [{ topic: 'rest-v2-assign', partition: 0 }] })).status).toBe(204);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/assignments`, { partitions: [{ topic: 'rest-nope', partition: 0 }] })).status).toBe(404);
    expect((await api('POST', `${instance('rest-v2-a', 'one')}/subscription`, { topics: ['rest-v2-assign'] })).status).toBe(409);
    expect((await api('DELETE', instance('rest-v2-a', 'one'))).status).toBe(204);
    const gone = await api('GET', `${instance('rest-v2-a', 'one')}/records`);
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe(40403);
  });

  it('subscribes two instances to one group: partitions split between them, every record read once, auto commit', async () => {
    await createTopic('rest-v2-sub', 4);
    await producer.send({ topic: 'rest-v2-sub', acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, value: `s${i}` })) });
    for (const name of ['a', 'b']) expect((await api('POST', '/consumers/rest-v2-s', { name, format: 'binary', 'auto.offset.reset': 'earliest' })).status).toBe(200);
    await Promise.all(['a', 'b'].map((n) => api('POST', `${instance('rest-v2-s', n)}/subscription`, { topics: ['rest-v2-sub'] })));
    expect((await api('GET', `${instance('rest-v2-s', 'a')}/subscription`)).body).toEqual({ topics: ['rest-v2-sub'] });
    const values: string[] = [];
    const ok = await pollUntil(async () => {
      for (const n of ['a', 'b']) {
        const r = await api('GET', `${instance('rest-v2-s', n)}/records?timeout=200`);
        expect(r.status, r.text).toBe(200);
        values.push(...r.body.map((x: any) => Buffer.from(x.value, 'base64').toString()));
      }
      const [a, b] = await Promise.all(['a', 'b'].map(async (n) => (await api('GET', `${instance('rest-v2-s', n)}/assignments`)).body.partitions.length));
      return values.length >= 40 && a === 2 && b === 2;
    }, 30_000, 50);
    expect(ok).toBe(true);
    expect(values.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`).sort());
    const group = await api('GET', v3('/consumer-groups/rest-v2-s/consumers'));
    expect(group.body.data).toHaveLength(2);
    const lags = await api('GET', v3('/consumer-groups/rest-v2-s/lag-summary'));
    expect(lags.body.total_lag).toBe(0);
    expect((await api('DELETE', `${instance('rest-v2-s', 'a')}/subscription`)).status).toBe(204);
    await api('DELETE', instance('rest-v2-s', 'a'));
    await api('DELETE', instance('rest-v2-s', 'b'));
    expect((await api('GET', v3('/consumer-groups/rest-v2-s'))).body.state).toBe('EMPTY');
  });

  it('deletes an idle instance after consumer.instance.timeout.ms and it leaves its group', async () => {
    await createTopic('rest-v2-idle');
    await api('POST', '/consumers/rest-v2-idle', { name: 'sleepy' });
    expect((await api('POST', `${instance('rest-v2-idle', 'sleepy')}/subscription`, { topics: ['rest-v2-idle'] })).status).toBe(204);
    expect((await api('GET', `${instance('rest-v2-idle', 'sleepy')}/assignments`)).body.partitions).toHaveLength(1);
    expect((await api('GET', v3('/consumer-groups/rest-v2-idle'))).body.state).toBe('STABLE');
    expect(await pollUntil(async () => (await api('GET', v3('/consumer-groups/rest-v2-idle'))).body.state === 'EMPTY', 10_000, 200)).toBe(true);
    expect((await api('GET', `${instance('rest-v2-idle', 'sleepy')}/subscription`)).status).toBe(404);
  });

  it('answers bad bodies with 422 and unknown instances with 404', async () => {
    expect((await api('POST', '/consumers/rest-v2-bad', { format: 'avro' })).status).toBe(422);
    expect((await api('POST', '/consumers/rest-v2-bad', { 'auto.offset.reset': 'middle' })).status).toBe(422);
    await api('POST', '/consumers/rest-v2-bad', { name: 'x' });
    expect((await api('POST', `${instance('rest-v2-bad', 'x')}/subscription`, { topics: [] })).status).toBe(422);
    expect((await api('POST', `${instance('rest-v2-bad', 'x')}/subscription`, { topics: ['rest-none'] })).status).toBe(404);
    expect((await api('POST', `${instance('rest-v2-bad', 'x')}/assignments`, { partitions: [{ topic: 'rest-v2-idle' }] })).status).toBe(422);
    expect((await api('POST', `${instance('rest-v2-bad', 'x')}/offsets`, { offsets: [{ topic: 'rest-v2-idle', partition: 0, offset: -5 }] })).status).toBe(422);
    expect((await api('GET', `${instance('rest-v2-bad', 'x')}/records?timeout=soon`)).status).toBe(400);
    expect((await api('DELETE', instance('rest-v2-bad', 'nobody'))).status).toBe(404);
    await api('DELETE', instance('rest-v2-bad', 'x'));
    // A record the json format cannot render: 422, nothing auto-committed, and the next fetch meets it again.
    await createTopic('rest-v2-not-json');
    await producer.send({ topic: 'rest-v2-not-json', acks: -1, messages: [{ value: 'not json' }] });
    await api('POST', '/consumers/rest-v2-bad', { name: 'j', format: 'json', 'auto.offset.reset': 'earliest' });
    await api('POST', `${instance('rest-v2-bad', 'j')}/assignments`, { partitions: [{ topic: 'rest-v2-not-json', partition: 0 }] });
    for (let i = 0; i < 2; i++) {
      const r = await api('GET', `${instance('rest-v2-bad', 'j')}/records`);
      expect(r.status).toBe(422);
      expect(r.body.message).toMatch(/not JSON/);
    }
    const committed = await admin.fetchOffsets({ groupId: 'rest-v2-bad', topics: ['rest-v2-not-json'] });
    expect(committed[0]!.partitions[0]!.offset).toBe('-1');
    await api('DELETE', instance('rest-v2-bad', 'j'));
  });
});

describe('OpenAPI document', () => {
  it('is served at /openapi.json and lists exactly the routes the router serves; fetch and curl get the same status from each', async () => {
    const r = await api('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.0.3');
    const shape = (path: string) => path.replace(/\{[a-z_]+\}/g, '{}');
    const served = [...clusterRoutes, ...topicRoutes, ...groupRoutes, ...produceRoutes, ...recordRoutes, ...messageRoutes({} as never), ...delayedRoutes, ...consumerRoutes(null as never), ...subscriptionRoutes, ...openApiRoutes]
      .filter((route) => route.path !== '/openapi.json')
      .map((route) => `${route.method} ${shape(route.path)}`)
      .sort();
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${shape(path)}`))
      .sort();
    expect(documented).toEqual(served);
    for (const op of OPERATIONS) {
      const path = op.path.replace('{cluster_id}', cluster).replace(/\{[a-z_]+\}/g, 'x');
      const method = op.method.toUpperCase();
      const withBody = op.method === 'post' || op.method === 'put';
      const viaFetch = await api(method, path, withBody ? {} : undefined);
      expect(viaFetch.status, `${method} ${op.path}`).not.toBe(405);
      if (viaFetch.status === 404) expect(viaFetch.body.message, `${method} ${op.path}`).not.toMatch(/No REST resource/);
      const viaCurl = await runProcess('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', method, ...(withBody ? ['-H', 'Content-Type: application/json', '--data-binary', '{}'] : []), `${base}${path}`]);
      expect(Number(viaCurl.stdout.toString()), `curl ${method} ${op.path}`).toBe(viaFetch.status);
    }
  });
});
