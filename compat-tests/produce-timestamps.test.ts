/**
 * Produce against a topic's message.timestamp.* limits and max.message.bytes, as Kafka's
 * LogValidator applies them: INVALID_TIMESTAMP with one KIP-467 record error per record out of
 * range (Kafka's messages, the broker clock fixed so the range is known), nothing written, the
 * compressed batch read too, difference.max.ms as the fallback of before/after, LogAppendTime
 * topics unchecked, a dynamic broker default applying to topics without their own value;
 * a kafkajs producer seeing INVALID_TIMESTAMP; max.message.bytes exact to the byte; a topic
 * config changed between two requests applying to the second.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { CompressionType } from '../codec/records/batch-header.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, readPartition } from './support/clients.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;
let raw: RawClient;
const NOW = 1_700_000_000_000n;
const HOUR = 3_600_000n;

beforeAll(async () => {
  tb = await startTestBroker('produce timestamps');
  tb.broker.context.now = () => Number(NOW);
  const kafka = new Kafka({ clientId: 'produce-timestamps', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: 'ts-limited', configEntries: [{ name: 'message.timestamp.before.max.ms', value: String(HOUR) }, { name: 'message.timestamp.after.max.ms', value: '60000' }] },
      { topic: 'ts-difference', configEntries: [{ name: 'message.timestamp.difference.max.ms', value: '1000' }] },
      { topic: 'ts-append', configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }, { name: 'message.timestamp.difference.max.ms', value: '1000' }] },
      { topic: 'ts-open' },
      { topic: 'size-limited', configEntries: [{ name: 'max.message.bytes', value: '200' }] },
    ],
  });
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  raw = await RawClient.connect(tb.port);
});

afterAll(async () => {
  raw?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

async function produce(topic: string, records: Buffer, version = 9) {
  const r = await raw.request(0, version, createProduceRequest({ acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }));
  return r.responses[0]!.partitionResponses[0]!;
}

const at = (...timestamps: bigint[]) => timestamps.map((timestamp, i) => ({ value: `r${i}`, timestamp }));

describe('message.timestamp.* limits', () => {
  it('refuses records out of range with INVALID_TIMESTAMP and one record error each; nothing is written', async () => {
    const batch = buildRecordBatch({ records: at(NOW, NOW - 2n * HOUR, NOW + 120_000n, NOW - HOUR, NOW + 60_000n) });
    const p = await produce('ts-limited', batch);
    expect(p.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(p.errorMessage).toBe('One or more records have been rejected due to invalid timestamp');
    const range = `[${NOW - HOUR}, ${NOW + 60_000n}]`;
    expect(p.recordErrors).toEqual([
      { batchIndex: 1, batchIndexErrorMessage: `Timestamp ${NOW - 2n * HOUR} of message with offset 1 is out of range. The timestamp should be within ${range}` },
      { batchIndex: 2, batchIndexErrorMessage: `Timestamp ${NOW + 120_000n} of message with offset 2 is out of range. The timestamp should be within ${range}` },
    ]);
    expect((await readPartition(tb.port, 'ts-limited', 0)).records).toEqual([]);
    // The limits themselves are inside the range.
    expect(await produce('ts-limited', buildRecordBatch({ records: at(NOW - HOUR, NOW + 60_000n, -1n) }))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
  });

  it('reads the records of a compressed batch too, and answers older Produce versions with the code alone', async () => {
    const gz = buildRecordBatch({ compression: CompressionType.Gzip, records: at(NOW, NOW, NOW - 3n * HOUR) });
    expect(await produce('ts-limited', gz)).toMatchObject({ errorCode: ErrorCode.INVALID_TIMESTAMP, recordErrors: [{ batchIndex: 2 }] });
    const v7 = await produce('ts-limited', buildRecordBatch({ records: at(NOW + HOUR) }), 7);
    expect(v7).toMatchObject({ errorCode: ErrorCode.INVALID_TIMESTAMP, recordErrors: [] });
  });

  it('falls back to message.timestamp.difference.max.ms; LogAppendTime and unlimited topics are not checked', async () => {
    const p = await produce('ts-difference', buildRecordBatch({ records: at(NOW + 1001n, NOW - 1000n) }));
    expect(p.recordErrors).toEqual([
      { batchIndex: 0, batchIndexErrorMessage: `Timestamp ${NOW + 1001n} of message with offset 0 is out of range. The timestamp should be within [${NOW - 1000n}, ${NOW + 1000n}]` },
    ]);
    expect((await produce('ts-append', buildRecordBatch({ records: at(0n) }))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('ts-open', buildRecordBatch({ records: at(0n, NOW + 1000n * HOUR) }))).errorCode).toBe(ErrorCode.NONE);
  });

  it('applies a dynamic broker default to topics without their own value, at once', async () => {
    const set = await raw.request(44, 1, {
      validateOnly: false,
      resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.message.timestamp.after.max.ms', configOperation: 0, value: '5000' }] }],
    });
    expect(set.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    const p = await produce('ts-open', buildRecordBatch({ records: at(NOW + 5001n) }));
    // before.max.ms is unset (Long.MAX_VALUE): Kafka prints the lower bound with Java's long wrap-around.
    expect(p.recordErrors).toEqual([
      {
        batchIndex: 0,
        batchIndexErrorMessage: `Timestamp ${NOW + 5001n} of message with offset 0 is out of range. The timestamp should be within [${BigInt.asIntN(64, NOW - (2n ** 63n - 1n))}, ${NOW + 5000n}]`,
      },
    ]);
    // A topic value still wins over the broker default.
    expect((await produce('ts-limited', buildRecordBatch({ records: at(NOW + 50_000n) }))).errorCode).toBe(ErrorCode.NONE);
    await raw.request(44, 1, {
      validateOnly: false,
      resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.message.timestamp.after.max.ms', configOperation: 1, value: null }] }],
    });
    expect((await produce('ts-open', buildRecordBatch({ records: at(NOW + 5001n) }))).errorCode).toBe(ErrorCode.NONE);
  });

  it('kafkajs producer gets INVALID_TIMESTAMP', async () => {
    await expect(producer.send({ topic: 'ts-limited', acks: -1, messages: [{ value: 'late', timestamp: String(NOW - 5n * HOUR) }] })).rejects.toMatchObject({
      type: 'INVALID_TIMESTAMP',
    });
  });
});

describe('max.message.bytes', () => {
  it('is the largest batch accepted, exact to the byte, the topic value over the broker default', async () => {
    // A one-record batch of exactly `bytes` bytes (the varint lengths grow with the value, so search).
    const sized = (bytes: number) => {
      for (let n = bytes; n >= 0; n--) {
        const b = buildRecordBatch({ records: [{ value: Buffer.alloc(n, 1), timestamp: NOW }] });
        if (b.length === bytes) return b;
      }
      throw new Error(`no batch of ${bytes} bytes`);
    };
    expect(sized(200).length).toBe(200);
    expect((await produce('size-limited', sized(200))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('size-limited', sized(201))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    // A broker default far lower does not touch the topic's own value.
    await raw.request(33, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '0', configs: [{ name: 'message.max.bytes', value: '100' }] }] });
    expect((await produce('size-limited', sized(200))).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('ts-open', sized(101))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    await raw.request(33, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '0', configs: [] }] });
    expect((await produce('ts-open', sized(101))).errorCode).toBe(ErrorCode.NONE);
  });
});

describe('a topic config changed between two requests', () => {
  // Produce works the topic's settings out once (server/produce/topic-settings.ts): the next request must see a change.
  it('applies to the next request: max.message.bytes, the timestamp limits, cleanup.policy', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'altered' }] });
    const big = buildRecordBatch({ records: [{ key: 'k', value: Buffer.alloc(300, 1), timestamp: NOW }] });
    const late = buildRecordBatch({ records: [{ key: 'k', value: 'late', timestamp: NOW - 2n * HOUR }] });
    const keyless = buildRecordBatch({ records: [{ value: 'no key', timestamp: NOW }] });
    for (const b of [big, late, keyless]) expect((await produce('altered', b)).errorCode).toBe(ErrorCode.NONE);
    const alter = async (name: string, value: string | null) => {
      const r = await raw.request(44, 1, { validateOnly: false, resources: [{ resourceType: 2, resourceName: 'altered', configs: [{ name, configOperation: value === null ? 1 : 0, value }] }] });
      expect(r.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    };
    await alter('max.message.bytes', '200');
    expect((await produce('altered', big)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    await alter('message.timestamp.before.max.ms', String(HOUR));
    expect((await produce('altered', late)).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    await alter('cleanup.policy', 'compact');
    expect((await produce('altered', keyless)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    await alter('max.message.bytes', null);
    await alter('message.timestamp.before.max.ms', null);
    await alter('cleanup.policy', null);
    for (const b of [big, late, keyless]) expect((await produce('altered', b)).errorCode).toBe(ErrorCode.NONE);
  });
});
