import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionType } from '../codec/records/batch-header.js';
import { compress } from '../codec/compression/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, readPartition } from './support/clients.js';

// Produce v0-v2 carry message sets (magic 0 and 1); the broker up-converts them to one v2
// batch. Message sets are built with kafkajs's own encoder so the test does not check the
// up-converter only against itself.
const require = createRequire(import.meta.url);
const MessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (o: {
  messageVersion: number;
  compression?: number;
  entries: { key?: Buffer | null; value: Buffer | null; timestamp?: number; compression?: number }[];
}) => { buffer: Buffer };

const entries = [
  { key: Buffer.from('k0'), value: Buffer.from('v0'), timestamp: 1_600_000_000_000 },
  { key: null, value: Buffer.from('v1'), timestamp: 1_600_000_000_100 },
  { key: Buffer.from('k2'), value: null, timestamp: 1_600_000_000_200 },
];

let broker: TestBroker;
let client: RawClient;

beforeAll(async () => {
  broker = await startTestBroker('legacy_produce', { 'num.partitions': 1 });
  client = await RawClient.connect(broker.port);
  await client.request(3, 1, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'legacy' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

async function produce(version: number, records: Buffer) {
  const response = await client.request(0, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 'legacy', partitionData: [{ index: 0, records }] }],
  });
  return response.responses[0]!.partitionResponses[0]!;
}

describe('Produce v0-v2 with magic 0/1 message sets', () => {
  it('up-converts magic 0 (v0), magic 1 (v2) and a gzip-wrapped magic 1 set, in offset order', async () => {
    const v0 = await produce(0, Buffer.from(MessageSet({ messageVersion: 0, entries }).buffer));
    expect(v0).toMatchObject({ errorCode: 0, baseOffset: 0n });
    const v2 = await produce(2, Buffer.from(MessageSet({ messageVersion: 1, entries }).buffer));
    expect(v2).toMatchObject({ errorCode: 0, baseOffset: 3n });
    const inner = Buffer.from(MessageSet({ messageVersion: 1, entries }).buffer);
    const wrapper = Buffer.from(
      MessageSet({ messageVersion: 1, entries: [{ compression: CompressionType.Gzip, timestamp: 1_600_000_000_000, key: null, value: compress(CompressionType.Gzip, inner) }] }).buffer,
    );
    expect(await produce(2, wrapper)).toMatchObject({ errorCode: 0, baseOffset: 6n });

    const { records, highWatermark } = await readPartition(broker.port, 'legacy', 0);
    expect(highWatermark).toBe(9n);
    expect(records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const expected = entries.map((e) => [e.key?.toString() ?? null, e.value?.toString() ?? null]);
    expect(records.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([...expected, ...expected, ...expected]);
    // Magic 0 has no timestamps (-1, as Kafka stores them); magic 1 keeps the producer's.
    expect(records.slice(0, 3).map((r) => r.timestamp)).toEqual([-1n, -1n, -1n]);
    expect(records.slice(3, 6).map((r) => r.timestamp)).toEqual(entries.map((e) => BigInt(e.timestamp)));
  });

  it('refuses a magic 1 message set on Produce v3+ with INVALID_RECORD', async () => {
    const response = await produce(3, Buffer.from(MessageSet({ messageVersion: 1, entries }).buffer));
    expect(response.errorCode).toBe(87);
  });

  it('refuses a message set with a corrupted CRC with CORRUPT_MESSAGE, and the connection stays usable', async () => {
    const set = Buffer.from(MessageSet({ messageVersion: 1, entries }).buffer);
    set[set.length - 1] ^= 0xff;
    expect((await produce(2, set)).errorCode).toBe(2);
    expect((await produce(2, Buffer.from(MessageSet({ messageVersion: 1, entries }).buffer))).errorCode).toBe(0);
  });
});
