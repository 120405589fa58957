/**
 * Hostile and malformed input, each on its own connection, while a kafkajs producer keeps
 * working against the same broker: complete frames of random bytes, a random byte stream, a
 * truncated frame followed by close, size prefixes of 2^31-1 and -1, an unknown API key, a
 * valid header with an undecodable body, an unsupported Produce version. Each closes only its
 * own connection. ApiVersions at an unknown version gets the v0-layout UNSUPPORTED_VERSION
 * answer (KIP-511) and the connection stays open.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequestFrame } from '../codec/client.js';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, closesWithin, contiguousFrom, readPartition } from './support/clients.js';

const TOPIC = 'bad-input-survivor';
let tb: TestBroker;
let admin: Admin;
let producer: Producer;
/** Offsets acknowledged to the background producer. */
const acknowledged: number[] = [];
let background: Promise<void> | undefined;
let stopBackground = false;
let backgroundError: unknown;

beforeAll(async () => {
  // Every rejected connection is logged at warn; keep the test output readable.
  process.env.KAFKA_MYSQL_TEST_LOG ??= 'error';
  tb = await startTestBroker('bad input');
  const kafka = new Kafka({ clientId: 'compat-bad-input', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
  producer = kafka.producer();
  await producer.connect();
  // A well-behaved client producing the whole time; any error it sees fails the suite.
  background = (async () => {
    let i = 0;
    while (!stopBackground) {
      try {
        const [result] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `survivor-${i++}` }] });
        acknowledged.push(Number(result!.baseOffset));
      } catch (err) {
        backgroundError = err;
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
});

afterAll(async () => {
  stopBackground = true;
  await background;
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

/** Deterministic bytes (xorshift32) so a failure can be replayed. */
function seededBytes(seed: number, length: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A size prefix followed by `body`. */
function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Request header v1 (api key, version, correlation id, client id) followed by `body`. */
function headerV1(apiKey: number, version: number, correlationId: number, body: Buffer): Buffer {
  const h = Buffer.alloc(10);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(version, 2);
  h.writeInt32BE(correlationId, 4);
  h.writeInt16BE(-1, 8); // null client id
  return frame(Buffer.concat([h, body]));
}

async function expectClosedBy(bytes: Buffer, label: string): Promise<void> {
  const client = await RawClient.connect(tb.port);
  try {
    client.sendRaw(bytes);
    expect({ label, closed: await closesWithin(client, 5_000) }).toEqual({ label, closed: true });
  } finally {
    client.close();
  }
}

async function stillServing(): Promise<void> {
  const [result] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'check' }] });
  expect(result!.errorCode).toBe(0);
  acknowledged.push(Number(result!.baseOffset));
  expect(backgroundError).toBeUndefined();
}

describe('bad input closes one connection, the broker keeps serving', () => {
  it('complete frames of random bytes', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const body = seededBytes(seed, 64 + seed * 97);
      // Keep the random API key away from the few real ones so every frame is rejected, not served.
      body.writeInt16BE(1000 + (body.readUInt16BE(0) % 30_000), 0);
      await expectClosedBy(frame(body), `seed ${seed}`);
    }
    await stillServing();
  });

  it('a stream of random bytes (negative size prefix)', async () => {
    const bytes = seededBytes(4242, 16 * 1024);
    bytes[0] |= 0x80;
    await expectClosedBy(bytes, 'random stream');
    await stillServing();
  });

  it('a truncated frame followed by close', async () => {
    const request = encodeRequestFrame(
      0,
      9,
      7,
      'truncated',
      createProduceRequest({ acks: -1, timeoutMs: 1000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'never stored' }] }) }] }] }),
    );
    const client = await RawClient.connect(tb.port);
    try {
      client.sendRaw(request.subarray(0, Math.floor(request.length / 2)));
      client.end();
      expect(await closesWithin(client, 5_000)).toBe(true);
    } finally {
      client.close();
    }
    // Only a size prefix, then close.
    const client2 = await RawClient.connect(tb.port);
    try {
      client2.sendRaw(request.subarray(0, 3));
      client2.end();
      expect(await closesWithin(client2, 5_000)).toBe(true);
    } finally {
      client2.close();
    }
    await stillServing();
    const { records } = await readPartition(tb.port, TOPIC, 0);
    expect(records.some((r) => r.value?.toString() === 'never stored')).toBe(false);
  });

  it('size prefixes of 2^31-1 and -1', async () => {
    await expectClosedBy(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]), '2^31-1');
    await expectClosedBy(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), '-1');
    // Just over socket.request.max.bytes (100 MiB).
    const over = Buffer.alloc(8);
    over.writeInt32BE(100 * 1024 * 1024 + 1);
    await expectClosedBy(over, '100 MiB + 1');
    // Too short for a request header.
    await expectClosedBy(frame(Buffer.from([0, 3])), 'two-byte frame');
    await expectClosedBy(frame(Buffer.alloc(0)), 'empty frame');
    await stillServing();
  });

  it('an unknown API key', async () => {
    await expectClosedBy(headerV1(9999, 0, 1, Buffer.alloc(16)), 'api key 9999');
    await expectClosedBy(headerV1(-1, 0, 1, Buffer.alloc(0)), 'api key -1');
    await stillServing();
  });

  it('a valid header with an undecodable body', async () => {
    // Metadata v1: topics array claims 1,000,000 entries in a 4-byte body.
    await expectClosedBy(headerV1(3, 1, 1, Buffer.from([0x00, 0x0f, 0x42, 0x40])), 'metadata v1 huge array');
    // Produce v3: string length beyond the frame.
    await expectClosedBy(headerV1(0, 3, 2, Buffer.from([0x7f, 0xff, 0x41])), 'produce v3 long string');
    // A valid Metadata v12 request cut short inside its body.
    const full = encodeRequestFrame(3, 12, 3, 'x', createMetadataRequest({ topics: [{ name: 'some-topic', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }));
    const cut = full.subarray(4, full.length - 6);
    await expectClosedBy(frame(cut), 'metadata v12 cut');
    await stillServing();
  });

  it('an unsupported version of Produce (v99) and Fetch v3', async () => {
    await expectClosedBy(headerV1(0, 99, 1, Buffer.alloc(20)), 'produce v99');
    await expectClosedBy(headerV1(1, 3, 1, Buffer.alloc(20)), 'fetch v3');
    await stillServing();
  });

  it('ApiVersions v99 gets a v0-layout UNSUPPORTED_VERSION answer listing ApiVersions; the connection stays open', async () => {
    const client = await RawClient.connect(tb.port);
    try {
      const request = headerV1(18, 99, 4321, Buffer.from([0x01, 0x02, 0x03]));
      const response = await client.sendFrame(4321, request);
      // size, correlation id, error code, apis array (int32 count; key, min, max int16 each).
      expect(response.readInt32BE(0)).toBe(response.length - 4);
      expect(response.readInt32BE(4)).toBe(4321);
      expect(response.readInt16BE(8)).toBe(35);
      const count = response.readInt32BE(10);
      expect(response.length).toBe(14 + count * 6);
      const apis = new Map<number, [number, number]>();
      for (let i = 0; i < count; i++) {
        const at = 14 + i * 6;
        apis.set(response.readInt16BE(at), [response.readInt16BE(at + 2), response.readInt16BE(at + 4)]);
      }
      expect(apis.get(18)).toEqual([0, 4]);
      expect(apis.get(0)?.[0]).toBe(0);
      // The client retries at a version both know, on the same connection.
      const versions = await client.request(18, 3, { clientSoftwareName: 'compat', clientSoftwareVersion: '1.0' });
      expect(versions.errorCode).toBe(0);
      expect(versions.apiKeys.find((k) => k.apiKey === 18)).toMatchObject({ minVersion: 0, maxVersion: 4 });
      expect(client.isClosed).toBe(false);
    } finally {
      client.close();
    }
    await stillServing();
  });

  it('many hostile connections at once leave the broker serving', async () => {
    const hostile = Array.from({ length: 20 }, (_, i) => expectClosedBy(i % 2 ? headerV1(9999, 0, i, Buffer.alloc(8)) : Buffer.from([0xff, 0xff, 0xff, 0xfe]), `burst ${i}`));
    await Promise.all(hostile);
    await stillServing();
    stopBackground = true;
    await background;
    expect(backgroundError).toBeUndefined();
    expect(acknowledged.length).toBeGreaterThan(10);
    const { records, highWatermark } = await readPartition(tb.port, TOPIC, 0);
    expect(contiguousFrom(records)).toBe(true);
    expect(highWatermark).toBe(BigInt(acknowledged.length));
    expect([...acknowledged].sort((a, b) => a - b)).toEqual(records.map((r) => Number(r.offset)));
  });
});
