/**
 * Produce errors as clients see them: UNKNOWN_TOPIC_OR_PARTITION for a partition or topic
 * that does not exist, MESSAGE_TOO_LARGE against a topic's max.message.bytes (through
 * kafkajs and raw), CORRUPT_MESSAGE for a batch whose CRC is wrong (a well-formed response;
 * the connection stays usable), INVALID_REQUIRED_ACKS. Nothing of a rejected batch is stored.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, contiguousFrom, readPartition } from './support/clients.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;
let raw: RawClient;

beforeAll(async () => {
  tb = await startTestBroker('produce errors');
  const kafka = new Kafka({ clientId: 'compat-produce-errors', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await admin.createTopics({
    topics: [
      { topic: 'errors-one-partition', numPartitions: 1 },
      { topic: 'errors-small', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '10000' }] },
    ],
    waitForLeaders: true,
  });
  raw = await RawClient.connect(tb.port);
});

afterAll(async () => {
  raw?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

async function rawProduce(topic: string, partition: number, records: Buffer, acks = -1, version = 9) {
  const response = await raw.request(0, version, createProduceRequest({ acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] }));
  const p = response.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, errorMessage: p.errorMessage };
}

const batch = (value: string | Buffer, count = 1) => buildRecordBatch({ records: Array.from({ length: count }, () => ({ value })) });

describe('produce errors', () => {
  it('UNKNOWN_TOPIC_OR_PARTITION for a missing partition or topic', async () => {
    expect(await rawProduce('errors-one-partition', 5, batch('x'))).toMatchObject({ errorCode: 3, baseOffset: -1n });
    expect(await rawProduce('errors-no-such-topic', 0, batch('x'))).toMatchObject({ errorCode: 3, baseOffset: -1n });
    // Produce does not auto-create (only Metadata does).
    expect(await admin.listTopics()).not.toContain('errors-no-such-topic');
    // kafkajs never sends to a partition its metadata does not list: it drops the message and
    // resolves with no result (its behaviour against Kafka too).
    expect(await producer.send({ topic: 'errors-one-partition', messages: [{ partition: 5, value: 'x' }] })).toEqual([]);
    expect(await rawProduce('errors-one-partition', 0, batch('fine'))).toMatchObject({ errorCode: 0, baseOffset: 0n });
  });

  it('MESSAGE_TOO_LARGE for a batch over max.message.bytes (kafkajs and raw)', async () => {
    const error = await producer.send({ topic: 'errors-small', acks: -1, messages: [{ value: Buffer.alloc(20_000, 1) }] }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' });
    expect(await rawProduce('errors-small', 0, batch(Buffer.alloc(10_001, 2)))).toMatchObject({ errorCode: 10, baseOffset: -1n });
    // A batch just under the limit (61-byte header + record framing) is accepted.
    const [ok] = await producer.send({ topic: 'errors-small', acks: -1, messages: [{ value: Buffer.alloc(9_000, 3) }] });
    expect(ok).toMatchObject({ errorCode: 0, baseOffset: '0' });
    const { records } = await readPartition(tb.port, 'errors-small', 0);
    expect(records.map((r) => r.value!.length)).toEqual([9_000]);
  });

  it('CORRUPT_MESSAGE for a wrong CRC, in a well-formed response; the connection stays usable', async () => {
    await admin.createTopics({ topics: [{ topic: 'errors-crc', numPartitions: 1 }], waitForLeaders: true });
    const good = batch('payload', 3);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1] ^= 0xff; // last byte of the last record: CRC no longer matches
    expect(await rawProduce('errors-crc', 0, corrupt)).toMatchObject({ errorCode: 2, baseOffset: -1n });
    const badCrcField = Buffer.from(good);
    badCrcField.writeUInt32BE((badCrcField.readUInt32BE(17) + 1) >>> 0, 17);
    expect(await rawProduce('errors-crc', 0, badCrcField)).toMatchObject({ errorCode: 2 });
    // Same connection, valid batch: appended at offset 0 (nothing of the corrupt ones was stored).
    expect(await rawProduce('errors-crc', 0, good)).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(raw.isClosed).toBe(false);
    const { records, highWatermark } = await readPartition(tb.port, 'errors-crc', 0);
    expect(highWatermark).toBe(3n);
    expect(contiguousFrom(records)).toBe(true);
    expect(records.map((r) => r.value!.toString())).toEqual(['payload', 'payload', 'payload']);
  });

  it('INVALID_REQUIRED_ACKS for acks other than -1, 0 and 1', async () => {
    expect(await rawProduce('errors-one-partition', 0, batch('x'), 2)).toMatchObject({ errorCode: 21 });
    expect(await rawProduce('errors-one-partition', 0, batch('x'), -2)).toMatchObject({ errorCode: 21 });
    const { highWatermark } = await readPartition(tb.port, 'errors-one-partition', 0);
    expect(highWatermark).toBe(1n);
  });

  it('one failing partition does not fail the others of the same request', async () => {
    await admin.createTopics({ topics: [{ topic: 'errors-mixed', numPartitions: 2 }], waitForLeaders: true });
    const corrupt = batch('bad');
    corrupt[corrupt.length - 1] ^= 0x01;
    const response = await raw.request(
      0,
      9,
      createProduceRequest({
        acks: -1,
        timeoutMs: 30_000,
        topicData: [
          {
            name: 'errors-mixed',
            partitionData: [
              { index: 0, records: batch('good') },
              { index: 1, records: corrupt },
              { index: 7, records: batch('nowhere') },
            ],
          },
        ],
      }),
    );
    expect(response.responses[0]!.partitionResponses.map((p) => [p.index, p.errorCode])).toEqual([
      [0, 0],
      [1, 2],
      [7, 3],
    ]);
    expect((await readPartition(tb.port, 'errors-mixed', 0)).records.map((r) => r.value!.toString())).toEqual(['good']);
    expect((await readPartition(tb.port, 'errors-mixed', 1)).highWatermark).toBe(0n);
  });
});
