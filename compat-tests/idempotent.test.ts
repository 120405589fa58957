/**
 * Idempotent producers (docs/transactions.md):
 * - raw requests: InitProducerId gives fresh ids from MySQL; a retried batch (one of the
 *   producer's last five) is answered with its original offset and stored once; a gap gives
 *   OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, a new epoch must start
 *   at 0, an unknown producer may start anywhere (Kafka 3.9), a negative sequence and a
 *   client's control batch INVALID_RECORD; nothing refused is stored;
 * - kafkajs `idempotent: true` and confluent-kafka-python `enable.idempotence=true`: every
 *   record exactly once, in order;
 * - kafka-python 2.0.2 (Debian's) has no idempotent producer (added in 2.1): not tested.
 * - SIGKILL: the built broker in a child process is killed after a batch was committed; after a
 *   restart the same batch sent again is still a duplicate (state rebuilt from the log rows),
 *   the next sequence is accepted and a gap is still refused.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInitProducerIdRequest } from '../codec/generated/init-producer-id.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { spawnBroker, startTestBroker, type BrokerProcess, type TestBroker } from './support/broker.js';
import { RawClient, readPartition, requirePython, runPython } from './support/clients.js';

const OUT_OF_ORDER = 45;
const INVALID_PRODUCER_EPOCH = 47;
const INVALID_RECORD = 87;

let tb: TestBroker;
let raw: RawClient;

beforeAll(async () => {
  tb = await startTestBroker('idempotent', { 'num.partitions': 1 });
  raw = await RawClient.connect(tb.port);
});

afterAll(async () => {
  raw?.close();
  await tb?.stop();
});

interface Idem {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

function idemBatch(p: Idem, values: string[], extra: { control?: boolean } = {}): Buffer {
  return buildRecordBatch({ ...p, ...extra, records: values.map((v) => ({ value: Buffer.from(v) })) });
}

/** Creates the topic (one partition) through the admin API: Produce does not auto-create. */
async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'idem-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function produce(client: RawClient, topic: string, records: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
  const r = await client.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }));
  const p = r.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

async function initProducerId(client: RawClient): Promise<bigint> {
  const r = await client.request(22, 4, createInitProducerIdRequest({ transactionalId: null, transactionTimeoutMs: 60_000 }));
  expect(r.errorCode).toBe(0);
  expect(r.producerEpoch).toBe(0);
  return r.producerId;
}

async function values(port: number, topic: string): Promise<string[]> {
  const { records } = await readPartition(port, topic, 0);
  return records.map((r) => r.value!.toString());
}

describe('idempotent producer, raw requests', () => {
  it('gives a new producer id from MySQL each time', async () => {
    const a = await initProducerId(raw);
    const b = await initProducerId(raw);
    expect(b).toBe(a + 1n);
    // A v3+ request carrying an id and epoch still gets a new id (no transactional id).
    const c = await raw.request(22, 4, createInitProducerIdRequest({ transactionalId: null, transactionTimeoutMs: 1000, producerId: a, producerEpoch: 0 }));
    expect(c).toMatchObject({ errorCode: 0, producerId: b + 1n, producerEpoch: 0 });
  });

  it('answers a retried batch with its original offset and stores it once', async () => {
    const topic = 'idem-dup';
    await createTopic(tb.bootstrap, topic);
    const pid = await initProducerId(raw);
    expect(await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: 0 }, ['a0', 'a1']))).toEqual({ errorCode: 0, baseOffset: 0n });
    for (let s = 2; s < 12; s += 2) {
      expect(await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: s }, [`a${s}`, `a${s + 1}`]))).toEqual({ errorCode: 0, baseOffset: BigInt(s) });
    }
    // The last five batches (sequences 2-11) are duplicates: original offsets, nothing written.
    for (const s of [10, 4, 2]) {
      expect(await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: s }, [`a${s}`, `a${s + 1}`]))).toEqual({ errorCode: 0, baseOffset: BigInt(s) });
    }
    // Sequence 0 is older than the five kept: out of order, as in Kafka.
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: 0 }, ['a0', 'a1']))).errorCode).toBe(OUT_OF_ORDER);
    expect(await values(tb.port, topic)).toEqual(Array.from({ length: 12 }, (_, i) => `a${i}`));
  });

  it('refuses gaps, older epochs, a new epoch not starting at 0, negative sequences and control batches', async () => {
    const topic = 'idem-errors';
    await createTopic(tb.bootstrap, topic);
    const pid = await initProducerId(raw);
    expect(await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: 0 }, ['x0']))).toEqual({ errorCode: 0, baseOffset: 0n });
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: 2 }, ['gap'])))).toMatchObject({ errorCode: OUT_OF_ORDER, baseOffset: -1n });
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 1, baseSequence: 5 }, ['epoch1-not-0'])))).toMatchObject({ errorCode: OUT_OF_ORDER });
    expect(await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 1, baseSequence: 0 }, ['x1']))).toEqual({ errorCode: 0, baseOffset: 1n });
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 0, baseSequence: 1 }, ['old-epoch'])))).toMatchObject({ errorCode: INVALID_PRODUCER_EPOCH });
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 1, baseSequence: -1 }, ['no-seq'])))).toMatchObject({ errorCode: INVALID_RECORD });
    expect((await produce(raw, topic, idemBatch({ producerId: pid, producerEpoch: 1, baseSequence: 1 }, ['ctl'], { control: true })))).toMatchObject({ errorCode: INVALID_RECORD });
    // An unknown producer (never seen here) may start at any sequence, as in Kafka 3.9.
    const other = await initProducerId(raw);
    expect(await produce(raw, topic, idemBatch({ producerId: other, producerEpoch: 0, baseSequence: 1000 }, ['y1000']))).toEqual({ errorCode: 0, baseOffset: 2n });
    expect((await produce(raw, topic, idemBatch({ producerId: other, producerEpoch: 0, baseSequence: 1000 }, ['y1000'])))).toEqual({ errorCode: 0, baseOffset: 2n });
    expect(await values(tb.port, topic)).toEqual(['x0', 'x1', 'y1000']);
  });

  it('checks sequences of producers writing concurrently through one connection each', async () => {
    const topic = 'idem-concurrent';
    await createTopic(tb.bootstrap, topic);
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(tb.port)));
    try {
      const pids = await Promise.all(clients.map((c) => initProducerId(c)));
      // Each producer pipelines 20 batches (all in flight at once) and then resends them all.
      const send = (i: number) =>
        Promise.all(Array.from({ length: 20 }, (_, s) => produce(clients[i]!, topic, idemBatch({ producerId: pids[i]!, producerEpoch: 0, baseSequence: s }, [`p${i}-${s}`]))));
      const first = await Promise.all(clients.map((_, i) => send(i)));
      for (const answers of first) expect(answers.every((a) => a.errorCode === 0)).toBe(true);
      // Resending the last five of each is answered with the same offsets.
      for (let i = 0; i < clients.length; i++) {
        for (let s = 15; s < 20; s++) {
          const again = await produce(clients[i]!, topic, idemBatch({ producerId: pids[i]!, producerEpoch: 0, baseSequence: s }, [`p${i}-${s}`]));
          expect(again).toEqual(first[i]![s]);
        }
      }
      const stored = await values(tb.port, topic);
      expect(stored).toHaveLength(80);
      for (let i = 0; i < clients.length; i++) {
        expect(stored.filter((v) => v.startsWith(`p${i}-`))).toEqual(Array.from({ length: 20 }, (_, s) => `p${i}-${s}`));
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('idempotent producer, real clients', () => {
  it('kafkajs idempotent: true stores every record once, in order', async () => {
    const kafka = new Kafka({ clientId: 'idem-kafkajs', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < 20; i++) {
        await producer.send({ topic: 'idem-kafkajs', acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ value: String(i * 50 + j) })) });
      }
    } finally {
      await producer.disconnect();
    }
    expect(await values(tb.port, 'idem-kafkajs')).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
  });

  it('confluent-kafka-python enable.idempotence=true stores every record once, in order', async () => {
    requirePython(['confluent_kafka']);
    const script = String.raw`
import sys, json
from confluent_kafka import Producer
errors = []
p = Producer({'bootstrap.servers': sys.argv[1], 'enable.idempotence': True, 'linger.ms': 5, 'error_cb': lambda e: errors.append(str(e))})
delivered = [0]
def cb(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        delivered[0] += 1
for i in range(5000):
    p.produce(sys.argv[2], value=str(i).encode(), partition=0, on_delivery=cb)
    p.poll(0)
p.flush(60)
print(json.dumps({'delivered': delivered[0], 'errors': errors}))
`;
    const result = await runPython(script, [tb.bootstrap, 'idem-confluent']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.toString().trim())).toEqual({ delivered: 5000, errors: [] });
    expect(await values(tb.port, 'idem-confluent')).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });
});

describe('idempotent producer state after SIGKILL', () => {
  let url: string;
  let broker: BrokerProcess | undefined;

  beforeAll(async () => {
    url = await createTestDatabase('idem_restart');
  });
  afterAll(async () => {
    await broker?.kill();
    await dropTestDatabase(url);
  });

  it('rejects a duplicate sent before the kill, accepts the next sequence, refuses a gap', async () => {
    broker = await spawnBroker({ 'mysql.url': url, 'num.partitions': 1 });
    await createTopic(broker.bootstrap, 'idem-kill');
    let client = await RawClient.connect(broker.port);
    const pid = await initProducerId(client);
    const p = (s: number) => ({ producerId: pid, producerEpoch: 0, baseSequence: s });
    expect(await produce(client, 'idem-kill', idemBatch(p(0), ['k0', 'k1', 'k2']))).toEqual({ errorCode: 0, baseOffset: 0n });
    expect(await produce(client, 'idem-kill', idemBatch(p(3), ['k3']))).toEqual({ errorCode: 0, baseOffset: 3n });
    client.close();
    await broker.kill();

    broker = await spawnBroker({ 'mysql.url': url, 'num.partitions': 1 });
    client = await RawClient.connect(broker.port);
    try {
      expect(await produce(client, 'idem-kill', idemBatch(p(3), ['k3']))).toEqual({ errorCode: 0, baseOffset: 3n });
      expect(await produce(client, 'idem-kill', idemBatch(p(0), ['k0', 'k1', 'k2']))).toEqual({ errorCode: 0, baseOffset: 0n });
      expect((await produce(client, 'idem-kill', idemBatch(p(6), ['gap']))).errorCode).toBe(OUT_OF_ORDER);
      expect(await produce(client, 'idem-kill', idemBatch(p(4), ['k4']))).toEqual({ errorCode: 0, baseOffset: 4n });
      // A new producer id is still unique after the restart.
      expect(await initProducerId(client)).toBe(pid + 1n);
    } finally {
      client.close();
    }
    expect(await values(broker.port, 'idem-kill')).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });
});
