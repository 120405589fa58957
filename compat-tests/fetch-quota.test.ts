/**
 * Fetch under a consumer_byte_rate quota (issue 13, KIP-219): a throttled Fetch is answered
 * with throttle_time_ms and no records, as Kafka answers it, and an incremental fetch session
 * keeps its positions across the empty answer (raw Fetch v12 frames, so each field is checked).
 * Then real consumers, kafkajs and confluent-kafka-python (librdkafka), each under a 150 KB/s
 * quota on its client id, read a topic of 750 records of 1000 bytes: each gets every record
 * exactly once, its steady rate (after the first window's allowance) is at least 80% of the
 * quota, and what it can have been sent since it started, beyond that allowance, is under 110%.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaConnection } from '../client/connection.js';
import { createAlterClientQuotasRequest } from '../codec/generated/alter-client-quotas.js';
import { createFetchRequest, type FetchResponse } from '../codec/generated/fetch.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { requirePython, runPython, splitBatches } from './support/clients.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const VALUE_BYTES = 1000;
const PER_BATCH = 20;
/** Fetch quota of the raw session client: one window (1 s) holds two 20-record batches, not three. */
const SESSION_QUOTA = 50_000;
/** Fetch quota of each real consumer. */
const CLIENT_QUOTA = 150_000;
const CLIENT_RECORDS = 750;
/**
 * The consumers' per-partition fetch size: about one 20 KB batch per partition per response.
 * With two 1 s windows, a response of a whole window's allowance (the bound the broker puts on
 * it) could only go out when the window before was empty, halving the rate; Kafka's default of
 * eleven windows smooths the same way, at the price of a ten-window allowance up front.
 */
const PARTITION_MAX_BYTES = 25_000;

let tb: TestBroker;

function value(i: number): Buffer {
  const b = Buffer.alloc(VALUE_BYTES, 0x2e);
  b.write(`${i}:`);
  return b;
}

function idOf(v: Buffer | string): number {
  const s = typeof v === 'string' ? v : v.toString('latin1', 0, 12);
  return Number(s.slice(0, s.indexOf(':')));
}

async function produce(topic: string, count: number, partitions: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'fetch-quota-producer', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < count; i += PER_BATCH) {
      const messages = Array.from({ length: Math.min(PER_BATCH, count - i) }, (_, k) => ({ value: value(i + k), partition: ((i / PER_BATCH) | 0) % partitions }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

async function setQuota(clientId: string, bytesPerSecond: number): Promise<void> {
  const raw = await KafkaConnection.open({ port: tb.port, host: '127.0.0.1', clientId: 'fetch-quota-admin', requestTimeoutMs: 0 });
  try {
    const r = await raw.request(49, 1, createAlterClientQuotasRequest({
      entries: [{ entity: [{ entityType: 'client-id', entityName: clientId }], ops: [{ key: 'consumer_byte_rate', value: bytesPerSecond, remove: false }] }],
      validateOnly: false,
    }));
    expect(r.entries[0].errorCode).toBe(0);
  } finally {
    raw.close();
  }
}

/**
 * The most the consumer can have been sent, per second, since it started: the bytes beyond the
 * first window's allowance (one window at the quota) and one response over it, over the time
 * from its start to the last arrival. A consumer that handles records late only lowers it, so
 * it bounds the rate from above even on a loaded machine (where librdkafka's prefetch queue
 * makes arrival times in the application bunch up).
 */
function rateSinceStart(startedAt: number, arrivals: number[]): number {
  const last = Math.max(...arrivals);
  return ((arrivals.length * VALUE_BYTES - CLIENT_QUOTA - 2 * PARTITION_MAX_BYTES) * 1000) / Math.max(last - startedAt, 1);
}

/**
 * Value bytes per second after the first 1.5 s (the first window's allowance arrives at once),
 * from arrival times in ms; every arrival carries VALUE_BYTES.
 */
function steadyRate(arrivals: number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  const from = sorted[0]! + 1500;
  const later = sorted.filter((t) => t > from);
  return (later.length * VALUE_BYTES * 1000) / Math.max(sorted[sorted.length - 1]! - from, 1);
}

/** Every id 0..count-1 exactly once: the ids missing and the ids seen twice. */
function lossAndDuplicates(ids: number[], count: number): { missing: number; duplicated: number } {
  const seen = new Map<number, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  let missing = 0;
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing++;
  const duplicated = [...seen.values()].filter((n) => n > 1).length;
  return { missing, duplicated };
}

beforeAll(async () => {
  // Two windows of 1 s, as the producer quota test: a new rate gets one window's allowance.
  tb = await startTestBroker('fetch quota', { 'quota.window.num': 2 });
  const kafka = new Kafka({ clientId: 'fetch-quota-admin', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'sessions', numPartitions: 1 }, { topic: 'metered', numPartitions: 2 }] });
  await admin.disconnect();
  await produce('sessions', 10 * PER_BATCH, 1);
  await produce('metered', CLIENT_RECORDS, 2);
  await setQuota('raw-quota', SESSION_QUOTA);
  await setQuota('metered-kafkajs', CLIENT_QUOTA);
  await setQuota('metered-librdkafka', CLIENT_QUOTA);
}, 60_000);

afterAll(async () => {
  await tb?.stop();
});

describe('Fetch under a consumer_byte_rate quota', () => {
  it('a throttled Fetch carries no records, and the incremental session keeps its positions', async () => {
    const raw = await KafkaConnection.open({ port: tb.port, host: '127.0.0.1', clientId: 'raw-quota', requestTimeoutMs: 0 });
    const fetch = (sessionId: number, sessionEpoch: number, partitions: { fetchOffset: bigint }[]): Promise<FetchResponse> =>
      raw.request(1, 12, createFetchRequest({
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        sessionId,
        sessionEpoch,
        topics: partitions.length === 0 ? [] : [{ topic: 'sessions', topicId: ZERO_UUID, partitions: partitions.map((p) => ({ partition: 0, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024, replicaDirectoryId: ZERO_UUID })) }],
      }));
    const baseOffsets = (r: FetchResponse) => splitBatches(r.responses[0]?.partitions[0]?.records ?? null).map((b) => b.readBigInt64BE(0));
    try {
      // A full fetch within the quota: the response is cut to one window's worth (two batches of ~20 KB, not the ten asked for), and a session is made.
      const full = await fetch(0, 0, [{ fetchOffset: 0n }]);
      expect(full.throttleTimeMs).toBe(0);
      expect(full.sessionId).toBeGreaterThan(0);
      expect(baseOffsets(full)).toEqual([0n, 20n]);

      // The client moves to offset 40: two more batches would make ~81 KB in the window against 50 KB/s. Throttled: no partitions at all.
      const throttled = await fetch(full.sessionId, 1, [{ fetchOffset: 40n }]);
      expect(throttled.throttleTimeMs).toBeGreaterThan(0);
      expect(throttled.errorCode).toBe(0);
      expect(throttled.sessionId).toBe(full.sessionId);
      expect(throttled.responses).toEqual([]);

      // After the windows pass, the next incremental fetch names nothing (the client's position did not move) and gets offset 40 onwards: nothing skipped.
      await new Promise((r) => setTimeout(r, 2200));
      const after = await fetch(full.sessionId, 2, []);
      expect(after.throttleTimeMs).toBe(0);
      expect(after.errorCode).toBe(0);
      expect(baseOffsets(after)).toEqual([40n, 60n]);
      expect(after.responses[0]!.partitions[0]!.highWatermark).toBe(200n);

      // A throttled full fetch makes no session (session id 0), as Kafka's FullFetchContext.getThrottledResponse.
      const fullThrottled = await fetch(0, 0, [{ fetchOffset: 80n }]);
      expect(fullThrottled.throttleTimeMs).toBeGreaterThan(0);
      expect(fullThrottled.sessionId).toBe(0);
      expect(fullThrottled.responses).toEqual([]);
    } finally {
      raw.close();
    }
  }, 30_000);

  it('a kafkajs consumer under the quota reads every record once, near the quota', async () => {
    const kafka = new Kafka({ clientId: 'metered-kafkajs', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'metered-kafkajs', maxWaitTimeInMs: 200, maxBytesPerPartition: PARTITION_MAX_BYTES });
    const ids: number[] = [];
    const arrivals: number[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const startedAt = Date.now();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'metered', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          ids.push(idOf(message.value!));
          arrivals.push(Date.now());
          if (ids.length >= CLIENT_RECORDS) resolveAll();
        },
      });
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${ids.length} records in 40 s`)), 40_000))]);
      // Any duplicate would arrive within another fetch or two.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await consumer.disconnect();
    }
    const rate = steadyRate(arrivals);
    const bound = rateSinceStart(startedAt, arrivals);
    console.log(`kafkajs under ${CLIENT_QUOTA} B/s: ${ids.length} records, steady ${Math.round(rate)} value B/s, at most ${Math.round(bound)} B/s since start`);
    expect(lossAndDuplicates(ids, CLIENT_RECORDS)).toEqual({ missing: 0, duplicated: 0 });
    expect(ids.length).toBe(CLIENT_RECORDS);
    expect(rate).toBeGreaterThan(CLIENT_QUOTA * 0.8);
    expect(bound).toBeLessThan(CLIENT_QUOTA * 1.1);
  }, 60_000);

  it('a confluent-kafka-python (librdkafka) consumer under the quota reads every record once, near the quota', async () => {
    requirePython(['confluent_kafka']);
    const script = `
import json, sys, time
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'metered-librdkafka', 'client.id': 'metered-librdkafka',
              'enable.auto.commit': False, 'fetch.wait.max.ms': 200, 'fetch.message.max.bytes': ${PARTITION_MAX_BYTES}})
print(json.dumps({'start': time.time() * 1000}), flush=True)
c.assign([TopicPartition('metered', p, 0) for p in (0, 1)])
want = int(sys.argv[2])
got = 0
deadline = time.time() + 40
extra_until = None
while time.time() < deadline:
    if got >= want and extra_until is None:
        extra_until = time.time() + 1.0
    if extra_until is not None and time.time() > extra_until:
        break
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    got += 1
    v = m.value()
    print(json.dumps({'id': int(v[:v.index(b':')]), 't': time.time() * 1000}))
c.close()
`;
    const result = await runPython(script, [tb.bootstrap, String(CLIENT_RECORDS)], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    const parsed = result.stdout.toString().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id?: number; t?: number; start?: number });
    const startedAt = parsed.find((l) => l.start !== undefined)!.start!;
    const lines = parsed.filter((l): l is { id: number; t: number } => l.id !== undefined);
    const rate = steadyRate(lines.map((l) => l.t));
    const bound = rateSinceStart(startedAt, lines.map((l) => l.t));
    console.log(`librdkafka under ${CLIENT_QUOTA} B/s: ${lines.length} records, steady ${Math.round(rate)} value B/s, at most ${Math.round(bound)} B/s since start`);
    expect(lossAndDuplicates(lines.map((l) => l.id), CLIENT_RECORDS)).toEqual({ missing: 0, duplicated: 0 });
    expect(lines.length).toBe(CLIENT_RECORDS);
    expect(rate).toBeGreaterThan(CLIENT_QUOTA * 0.8);
    expect(bound).toBeLessThan(CLIENT_QUOTA * 1.1);
  }, 60_000);
});
