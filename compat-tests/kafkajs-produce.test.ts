/**
 * kafkajs producer against the broker: acks 0, 1 and -1, keys, headers, null values, gzip,
 * binary values with every byte value, ~500 KiB values, several partitions. Everything is read
 * back group-less (admin.fetchTopicOffsets for the high watermarks, raw Fetch for the
 * records) and must come back exactly once, in order per partition, byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Admin, type Message, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { allByteValues, comparable, contiguousFrom, pollUntil, readPartition, type Comparable } from './support/clients.js';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  tb = await startTestBroker('kafkajs produce');
  kafka = new Kafka({ clientId: 'compat-kafkajs', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

function expected(message: Message): Comparable {
  const buf = (v: Buffer | string | null | undefined): string | null =>
    v === null || v === undefined ? null : (Buffer.isBuffer(v) ? v : Buffer.from(v)).toString('hex');
  const headers = Object.entries(message.headers ?? {}).map(([k, v]) => [k, buf(v as Buffer | string)] as [string, string | null]);
  return { key: buf(message.key), value: buf(message.value), headers };
}

async function highWatermarks(topic: string): Promise<Map<number, string>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, o.high]));
}

describe('kafkajs producer, read back group-less', () => {
  it('acks -1, 1 and 0 with keys, headers, null values, gzip, binary and large values on several partitions', async () => {
    const topic = 'kafkajs-produce';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    const sent = new Map<number, Message[]>([
      [0, []],
      [1, []],
      [2, []],
      [3, []],
    ]);
    const send = async (partition: number, acks: number, messages: Message[], compression = CompressionTypes.None) => {
      const withPartition = messages.map((m) => ({ ...m, partition }));
      const result = await producer.send({ topic, acks, compression, messages: withPartition });
      sent.get(partition)!.push(...messages);
      return result;
    };

    // Partition 0, acks -1: keys, headers, null values and keys, every byte value, large values.
    const large1 = randomBytes(500 * 1024);
    const acked = await send(0, -1, [
      { key: 'k1', value: 'plain text value', headers: { trace: 'abc', bin: allByteValues(32) } },
      { key: null, value: 'no key' },
      { key: 'tombstone', value: null },
      { key: allByteValues(256, 7), value: allByteValues(256) },
      { key: 'empty', value: Buffer.alloc(0), headers: { empty: Buffer.alloc(0) } },
    ]);
    expect(acked).toHaveLength(1);
    expect(acked[0]).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' });
    const second = await send(0, -1, [{ key: 'large', value: large1, headers: { size: String(large1.length) } }]);
    expect(second[0]).toMatchObject({ partition: 0, errorCode: 0, baseOffset: '5' });
    for (let i = 0; i < 20; i++) {
      await send(0, -1, [
        { key: `seq-${i}`, value: `value-${i}-a` },
        { key: `seq-${i}`, value: `value-${i}-b`, headers: { n: String(i) } },
      ]);
    }

    // Partition 1, acks 1 with gzip: small, binary and a large compressible value.
    const compressible = Buffer.alloc(500 * 1024, 'compressible kafka-mysql ');
    await send(1, 1, [{ key: 'g1', value: 'gzip one', headers: { codec: 'gzip' } }, { key: 'g2', value: allByteValues(256, 3) }], CompressionTypes.GZIP);
    await send(1, 1, [{ key: 'g3', value: compressible }, { key: 'g4', value: null }], CompressionTypes.GZIP);
    await send(1, 1, [{ key: 'g5', value: randomBytes(500 * 1024) }], CompressionTypes.GZIP);

    // Partition 2, acks 0: no response from the broker; the records must still arrive.
    for (let i = 0; i < 25; i++) {
      await send(2, 0, [
        { key: `fire-${i}`, value: `forget-${i}` },
        { key: null, value: allByteValues(256, i), headers: { i: String(i) } },
      ]);
    }

    // Partition 3, acks -1 with gzip and many records per batch.
    await send(
      3,
      -1,
      Array.from({ length: 500 }, (_, i) => ({ key: `many-${i}`, value: `${i}`.repeat(i % 50), headers: i % 3 === 0 ? { third: 'yes' } : {} })),
      CompressionTypes.GZIP,
    );

    const expectedCounts = new Map([...sent].map(([p, m]) => [p, m.length]));
    const reached = await pollUntil(async () => {
      const hw = await highWatermarks(topic);
      return [...expectedCounts].every(([p, n]) => hw.get(p) === String(n));
    }, 20_000);
    expect(Object.fromEntries(await highWatermarks(topic))).toEqual(Object.fromEntries([...expectedCounts].map(([p, n]) => [p, String(n)])));
    expect(reached).toBe(true);

    for (const [partition, messages] of sent) {
      const { records, highWatermark } = await readPartition(tb.port, topic, partition);
      expect(highWatermark).toBe(BigInt(messages.length));
      expect(contiguousFrom(records)).toBe(true);
      expect(records.map(comparable)).toEqual(messages.map(expected));
    }
  });

  it('produces to several topics and partitions in one send (sendBatch)', async () => {
    const topics = ['kafkajs-batch-a', 'kafkajs-batch-b'];
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3 })), waitForLeaders: true });
    const topicMessages = topics.map((topic) => ({
      topic,
      messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % 3, key: `${topic}-${i}`, value: `v${i}` })),
    }));
    const results = await producer.sendBatch({ acks: -1, topicMessages });
    expect(results.every((r) => r.errorCode === 0)).toBe(true);
    expect(results).toHaveLength(6);
    for (const { topic, messages } of topicMessages) {
      for (let partition = 0; partition < 3; partition++) {
        const { records } = await readPartition(tb.port, topic, partition);
        expect(records.map((r) => r.key!.toString())).toEqual(messages.filter((m) => m.partition === partition).map((m) => m.key));
        expect(contiguousFrom(records)).toBe(true);
      }
    }
  });

  it('keeps per-partition order for concurrent sends of the default partitioner', async () => {
    const topic = 'kafkajs-concurrent';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    // Each key's messages go to one partition; sends of one key are sequential, keys concurrent.
    await Promise.all(
      keys.map(async (key) => {
        for (let seq = 0; seq < 10; seq++) await producer.send({ topic, acks: -1, messages: [{ key, value: String(seq) }] });
      }),
    );
    const seen = new Map<string, number[]>();
    let total = 0;
    for (let partition = 0; partition < 3; partition++) {
      const { records } = await readPartition(tb.port, topic, partition);
      expect(contiguousFrom(records)).toBe(true);
      total += records.length;
      for (const r of records) {
        const key = r.key!.toString();
        if (!seen.has(key)) seen.set(key, []);
        seen.get(key)!.push(Number(r.value!.toString()));
      }
    }
    expect(total).toBe(300);
    for (const key of keys) expect(seen.get(key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
