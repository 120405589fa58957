/**
 * Incremental fetch sessions (KIP-227) on a real broker. librdkafka 2.0.2 (confluent-kafka-python)
 * and kafkajs 2.2.4 send Fetch with session id 0 and epoch -1 (no session; CLIENTS.md, and
 * librdkafka's rdkafka_fetcher.c): they must keep reading everything with sessions enabled and
 * open none. A raw client on the project's codec then drives a session as Kafka's Java
 * consumer does (FetchSessionHandler): a full fetch with epoch 0, incremental ones naming only
 * changed offsets and forgotten partitions, and each session error code.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createFetchRequest, type FetchRequest, type FetchResponse } from '../codec/generated/fetch.js';
import { decodeBatchRecords } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, requirePython, runPython, splitBatches } from './support/clients.js';

const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;
let raw: RawClient;
let kafka: Kafka;

beforeAll(async () => {
  tb = await startTestBroker('fetch sessions', { 'metrics.listener': '127.0.0.1:0' });
  kafka = new Kafka({ clientId: 'compat-fetch-sessions', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
  raw = await RawClient.connect(tb.port);
});

afterAll(async () => {
  raw?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

const sessions = () => tb.broker.context.fetchSessions.cache.stats().sessions;

function fetchPartitions(topic: string, topicId: string, offsets: [number, bigint][]): FetchRequest['topics'][number] {
  return {
    topic,
    topicId,
    partitions: offsets.map(([partition, fetchOffset]) => ({
      partition,
      currentLeaderEpoch: -1,
      fetchOffset,
      lastFetchedEpoch: -1,
      logStartOffset: -1n,
      partitionMaxBytes: 1024 * 1024,
      replicaDirectoryId: ZERO,
    })),
  };
}

function fetch(version: number, sessionId: number, sessionEpoch: number, topics: FetchRequest['topics'], forgotten: FetchRequest['forgottenTopicsData'] = [], maxWaitMs = 0): Promise<FetchResponse> {
  return raw.request(1, version, createFetchRequest({ maxWaitMs, minBytes: 1, maxBytes: 50 * 1024 * 1024, sessionId, sessionEpoch, topics, forgottenTopicsData: forgotten }));
}

/** partition -> values of the records in an answer. */
function valuesByPartition(response: FetchResponse): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const t of response.responses) {
    for (const p of t.partitions) out[p.partitionIndex] = splitBatches(p.records).flatMap((b) => decodeBatchRecords(b)).map((r) => r.value!.toString());
  }
  return out;
}

async function produce(topic: string, partition: number, values: string[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition, value })) });
}

describe('fetch sessions', () => {
  it('librdkafka (confluent-kafka-python) and kafkajs consumers read everything with sessions enabled, and open none', { timeout: 120_000 }, async () => {
    requirePython(['confluent_kafka']);
    const topic = 'sessions-clients';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const sent: string[] = [];
    for (let p = 0; p < 3; p++) {
      const values = Array.from({ length: 20 }, (_, i) => `p${p}-${i}`);
      await produce(topic, p, values);
      sent.push(...values);
    }

    const script = `
import sys, json
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'unused', 'enable.auto.commit': False, 'fetch.wait.max.ms': 100})
c.assign([TopicPartition(sys.argv[2], p, 0) for p in range(3)])
values = []
while len(values) < 60:
    m = c.poll(10)
    if m is None:
        break
    if m.error():
        print(json.dumps({'error': str(m.error())})); continue
    values.append(m.value().decode())
# A few more polls at the end of the partitions: incremental sessions would show here.
for _ in range(5):
    c.poll(0.2)
c.close()
print(json.dumps({'values': values}))
`;
    const result = await runPython(script, [tb.bootstrap, topic]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.toString().trim().split('\n').pop()!) as { values: string[] };
    expect([...out.values].sort()).toEqual([...sent].sort());

    const consumer = kafka.consumer({ groupId: 'sessions-kafkajs', maxWaitTimeInMs: 100 });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    const deadline = Date.now() + 30_000;
    while (seen.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Some idle polls after the end, as above.
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    expect([...seen].sort()).toEqual([...sent].sort());
    expect(sessions()).toBe(0);

    // Both fetched at v11, a version with session fields, and asked for no session.
    const scrape = await (await globalThis.fetch(`http://127.0.0.1:${tb.broker.metricsPort}/metrics`)).text();
    expect(scrape).toMatch(/kafka_mysql_requests_total\{api="Fetch",version="11"\} \d+/);
    expect(scrape).toContain('kafka_mysql_fetch_sessions 0');
  });

  it('a session: a full fetch, then incremental ones answered with only what changed', { timeout: 30_000 }, async () => {
    const topic = 'sessions-raw';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    for (let p = 0; p < 4; p++) await produce(topic, p, [`first-${p}`]);

    const full = await fetch(12, 0, 0, [fetchPartitions(topic, ZERO, [0, 1, 2, 3].map((p) => [p, 0n]))]);
    expect(full.errorCode).toBe(0);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(valuesByPartition(full)).toEqual({ 0: ['first-0'], 1: ['first-1'], 2: ['first-2'], 3: ['first-3'] });
    const id = full.sessionId;

    // Epoch 1: the new offsets, as a consumer sends after reading; nothing else changed.
    const idle = await fetch(12, id, 1, [fetchPartitions(topic, ZERO, [0, 1, 2, 3].map((p) => [p, 1n]))]);
    expect({ error: idle.errorCode, sessionId: idle.sessionId, responses: idle.responses }).toEqual({ error: 0, sessionId: id, responses: [] });

    // Epoch 2: nothing named, a long poll woken by a produce to partition 2 alone.
    const waiting = fetch(12, id, 2, [], [], 10_000);
    await new Promise((r) => setTimeout(r, 200));
    await produce(topic, 2, ['second-2']);
    const woken = await waiting;
    expect(woken.sessionId).toBe(id);
    expect(valuesByPartition(woken)).toEqual({ 2: ['second-2'] });
    expect(woken.responses[0]!.partitions[0]!.highWatermark).toBe(2n);

    // Epoch 3: partitions 0 and 1 forgotten, partition 2's offset moves on. New data on 0
    // (forgotten) and 3 (in the session): only 3 is answered.
    await produce(topic, 0, ['second-0']);
    await produce(topic, 3, ['second-3']);
    const after = await fetch(12, id, 3, [fetchPartitions(topic, ZERO, [[2, 2n]])], [{ topic, topicId: ZERO, partitions: [0, 1] }]);
    expect(valuesByPartition(after)).toEqual({ 3: ['second-3'] });

    // A replay of epoch 3 is refused; then the session is closed by epoch -1.
    expect((await fetch(12, id, 3, [])).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const closing = await fetch(12, id, -1, [fetchPartitions(topic, ZERO, [[0, 0n]])]);
    expect({ error: closing.errorCode, sessionId: closing.sessionId }).toEqual({ error: 0, sessionId: 0 });
    expect(valuesByPartition(closing)).toEqual({ 0: ['first-0', 'second-0'] });
    expect((await fetch(12, id, 4, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('a partition that returned records goes to the end of the session, so a small response budget reaches the others', async () => {
    const topic = 'sessions-rotation';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    for (const value of ['p0-a', 'p0-b', 'p0-c']) await produce(topic, 0, [value]);
    await produce(topic, 1, ['p1-a']);
    // max bytes 1: each answer carries one batch, the first one found (KIP-74).
    const small = (sessionId: number, epoch: number, topics: FetchRequest['topics']) =>
      raw.request(1, 12, createFetchRequest({ maxWaitMs: 0, minBytes: 1, maxBytes: 1, sessionId, sessionEpoch: epoch, topics }));
    const full = await small(0, 0, [fetchPartitions(topic, ZERO, [[0, 0n], [1, 0n]])]);
    expect(valuesByPartition(full)).toEqual({ 0: ['p0-a'], 1: [] });
    const id = full.sessionId;
    // Partition 0 first, as in the request: its next batch.
    const second = await small(id, 1, [fetchPartitions(topic, ZERO, [[0, 1n]])]);
    expect(valuesByPartition(second)).toEqual({ 0: ['p0-b'] });
    // Partition 0 went to the end: partition 1 is read first now, though 0 has more.
    const third = await small(id, 2, [fetchPartitions(topic, ZERO, [[0, 2n]])]);
    expect(valuesByPartition(third)).toEqual({ 1: ['p1-a'] });
    await small(id, -1, []);
  });

  it('session errors as Kafka: top-level code, session id 0, no partitions', async () => {
    const topic = 'sessions-errors';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const topicId = tb.broker.context.catalog.getTopic(topic)!.topicId;
    const opened = await fetch(13, 0, 0, [fetchPartitions('', topicId, [[0, 0n]])]);
    expect(opened.errorCode).toBe(0);
    const id = opened.sessionId;
    expect(id).toBeGreaterThan(0);

    const expectError = (response: FetchResponse, code: number) =>
      expect({ error: response.errorCode, sessionId: response.sessionId, responses: response.responses }).toEqual({ error: code, sessionId: 0, responses: [] });
    expectError(await fetch(13, id + 1, 1, []), ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expectError(await fetch(13, 0, 1, []), ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expectError(await fetch(13, id, 2, []), ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    // A session made with topic ids (v13) used at v12.
    expectError(await fetch(12, id, 1, []), ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // None of those moved the epoch: 1 is still expected.
    expect((await fetch(13, id, 1, [])).errorCode).toBe(0);

    // A partition whose topic is deleted is answered with its error in every incremental fetch.
    await admin.deleteTopics({ topics: [topic] });
    for (const epoch of [2, 3]) {
      const gone = await fetch(13, id, epoch, []);
      expect(gone.errorCode).toBe(0);
      expect(gone.responses.map((t) => ({ topicId: t.topicId, errors: t.partitions.map((p) => p.errorCode) }))).toEqual([{ topicId, errors: [ErrorCode.UNKNOWN_TOPIC_ID] }]);
    }
    await fetch(13, id, -1, []);
  });

  it('max.incremental.fetch.session.cache.slots=0: a full fetch with epoch 0 gets session id 0 and every partition', { timeout: 60_000 }, async () => {
    const off = await startTestBroker('fetch sessions off', { 'max.incremental.fetch.session.cache.slots': 0 });
    const client = await RawClient.connect(off.port);
    try {
      const offAdmin = new Kafka({ clientId: 'sessions-off', brokers: [off.bootstrap], logLevel: logLevel.NOTHING }).admin();
      await offAdmin.connect();
      await offAdmin.createTopics({ topics: [{ topic: 'off', numPartitions: 2 }], waitForLeaders: true });
      await offAdmin.disconnect();
      for (let i = 0; i < 2; i++) {
        const response: FetchResponse = await client.request(1, 12, createFetchRequest({ maxWaitMs: 0, sessionId: 0, sessionEpoch: 0, topics: [fetchPartitions('off', ZERO, [[0, 0n], [1, 0n]])] }));
        expect({ error: response.errorCode, sessionId: response.sessionId, partitions: response.responses[0]!.partitions.map((p) => p.partitionIndex) }).toEqual({ error: 0, sessionId: 0, partitions: [0, 1] });
      }
    } finally {
      client.close();
      await off.stop();
    }
  });
});
