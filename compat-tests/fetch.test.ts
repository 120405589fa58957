/**
 * Fetch semantics with raw requests against data produced by kafkajs: long poll without data
 * (answers empty with the right high watermark), a waiting fetch woken by a produce, high
 * watermark / last stable offset / log start offset, OFFSET_OUT_OF_RANGE past the high
 * watermark, the first batch returned even when larger than the partition max bytes (KIP-74),
 * response max bytes across partitions, unknown topics, and the lowest served version (v4).
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchRequest } from '../codec/generated/fetch.js';
import { decodeBatchRecords } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, fetchOnce, splitBatches } from './support/clients.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;
let raw: RawClient;

beforeAll(async () => {
  tb = await startTestBroker('fetch semantics');
  const kafka = new Kafka({ clientId: 'compat-fetch', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
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

const records = (data: { records: Buffer | readonly Buffer[] | null }) => splitBatches(data.records).flatMap((b) => decodeBatchRecords(b));

describe('fetch', () => {
  it('long poll without data answers empty after maxWait with the high watermark', async () => {
    const topic = 'fetch-long-poll';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const data = await fetchOnce(raw, topic, 0, 3n, { maxWaitMs: 300, minBytes: 1 });
    expect(data.errorCode).toBe(0);
    expect(records(data)).toEqual([]);
    expect(data.highWatermark).toBe(3n);
    expect(data.lastStableOffset).toBe(3n);
    expect(data.logStartOffset).toBe(0n);
    // An empty topic too.
    await admin.createTopics({ topics: [{ topic: 'fetch-empty', numPartitions: 1 }], waitForLeaders: true });
    const empty = await fetchOnce(raw, 'fetch-empty', 0, 0n, { maxWaitMs: 300, minBytes: 1 });
    expect({ errorCode: empty.errorCode, hw: empty.highWatermark, records: records(empty).length }).toEqual({ errorCode: 0, hw: 0n, records: 0 });
  });

  it('a waiting fetch is woken by a produce and returns the new record', { timeout: 30_000 }, async () => {
    const topic = 'fetch-wake-up';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ value: 'before' }] });
    const waiting = fetchOnce(raw, topic, 0, 1n, { maxWaitMs: 10_000, minBytes: 1 });
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    await producer.send({ topic, acks: -1, messages: [{ key: 'wake', value: 'after', headers: { h: 'v' } }] });
    const data = await waiting;
    expect(data.errorCode).toBe(0);
    expect(data.highWatermark).toBe(2n);
    expect(records(data).map((r) => ({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString(), headers: r.headers.map((h) => [h.key, h.value!.toString()]) }))).toEqual([
      { offset: 1n, key: 'wake', value: 'after', headers: [['h', 'v']] },
    ]);
  });

  it('OFFSET_OUT_OF_RANGE past the high watermark; at the high watermark is fine', async () => {
    const topic = 'fetch-out-of-range';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ value: 'only' }] });
    const past = await fetchOnce(raw, topic, 0, 2n);
    expect(past.errorCode).toBe(1);
    expect(records(past)).toEqual([]);
    const farPast = await fetchOnce(raw, topic, 0, 1_000_000n);
    expect(farPast.errorCode).toBe(1);
    const negative = await fetchOnce(raw, topic, 0, -5n);
    expect(negative.errorCode).toBe(1);
    const atEnd = await fetchOnce(raw, topic, 0, 1n, { maxWaitMs: 0 });
    expect({ errorCode: atEnd.errorCode, hw: atEnd.highWatermark }).toEqual({ errorCode: 0, hw: 1n });
    const fromStart = await fetchOnce(raw, topic, 0, 0n);
    expect(records(fromStart).map((r) => r.value!.toString())).toEqual(['only']);
  });

  it('returns the first batch even when it is larger than partition and response max bytes (KIP-74)', async () => {
    const topic = 'fetch-kip-74';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: Buffer.alloc(200_000, 'a') }, { partition: 0, value: Buffer.alloc(100_000, 'b') }] });
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: Buffer.alloc(150_000, 'c') }] });
    await producer.send({ topic, acks: -1, messages: [{ partition: 1, value: 'small' }] });

    const data = await fetchOnce(raw, topic, 0, 0n, { partitionMaxBytes: 1000, maxBytes: 1000 });
    expect(data.errorCode).toBe(0);
    const batches = splitBatches(data.records);
    expect(batches).toHaveLength(1);
    expect(decodeBatchRecords(batches[0]!).map((r) => [r.offset, r.value!.length])).toEqual([
      [0n, 200_000],
      [1n, 100_000],
    ]);
    // Fetching from the middle of that batch returns the whole batch (offsets 0 and 1).
    const mid = await fetchOnce(raw, topic, 0, 1n, { partitionMaxBytes: 1000 });
    expect(records(mid).map((r) => r.offset)).toEqual([0n, 1n]);
    const next = await fetchOnce(raw, topic, 0, 2n, { partitionMaxBytes: 1000 });
    expect(records(next).map((r) => [r.offset, r.value!.toString().slice(0, 1)])).toEqual([[2n, 'c']]);

    // Response max bytes: the first partition's oversized batch fills the response; the second
    // partition gets nothing this time but reports its high watermark.
    const both = await raw.request(
      1,
      12,
      createFetchRequest({
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1000,
        topics: [
          {
            topic,
            topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
            partitions: [0, 1].map((partition) => ({
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1_000_000,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
            })),
          },
        ],
      }),
    );
    const [p0, p1] = both.responses[0]!.partitions;
    expect(records(p0!).map((r) => r.offset)).toEqual([0n, 1n]);
    expect({ errorCode: p1!.errorCode, hw: p1!.highWatermark, records: records(p1!).length }).toEqual({ errorCode: 0, hw: 1n, records: 0 });
  });

  it('unknown topic or partition, and session id 0 for a sessionless fetch (epoch -1)', async () => {
    const response = await raw.request(
      1,
      12,
      createFetchRequest({
        maxWaitMs: 0,
        minBytes: 1,
        topics: [
          {
            topic: 'fetch-no-such-topic',
            topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
            partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1000, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
          },
        ],
      }),
    );
    expect(response.errorCode).toBe(0);
    expect(response.sessionId).toBe(0);
    expect(response.responses[0]!.partitions[0]!.errorCode).toBe(3);
    await admin.createTopics({ topics: [{ topic: 'fetch-one', numPartitions: 1 }], waitForLeaders: true });
    expect((await fetchOnce(raw, 'fetch-one', 9, 0n)).errorCode).toBe(3);
  });

  it('serves the same data at Fetch v4 (the lowest version) and v12', async () => {
    const topic = 'fetch-versions';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v4 and v12' }] });
    const v4 = await fetchOnce(raw, topic, 0, 0n, { version: 4 });
    const v12 = await fetchOnce(raw, topic, 0, 0n, { version: 12 });
    expect(records(v4).map((r) => r.value!.toString())).toEqual(['v4 and v12']);
    expect(Buffer.concat(splitBatches(v4.records))).toEqual(Buffer.concat(splitBatches(v12.records)));
    expect(v4.highWatermark).toBe(1n);
  });
});
