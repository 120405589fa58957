/**
 * Message-id deduplication (message.id.header, docs/outbox.md) on a real broker and MariaDB:
 * the same id sent by kafkajs and by kcat (librdkafka), twice in one batch, and again after a
 * broker restart on the same database is stored once; an idempotent producer whose batch is all
 * duplicates goes on (kcat and kafkajs read past the empty batch); records without the header and topics
 * without the setting are appended as usual; an id older than the window counts as new.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcat, kcatConsume, requireKcat } from './support/clients.js';

let url: string;
let tb: TestBroker;
let admin: Admin;
let producer: Producer;

async function connectClients(): Promise<void> {
  const kafka = new Kafka({ clientId: 'dedupe-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
}

async function disconnectClients(): Promise<void> {
  await producer?.disconnect();
  await admin?.disconnect();
}

beforeAll(async () => {
  requireKcat();
  url = await createTestDatabase('dedupe');
  tb = await startTestBroker('dedupe', {}, url);
  await connectClients();
});

afterAll(async () => {
  await disconnectClients();
  await tb?.stop();
  if (url) await dropTestDatabase(url);
});

async function createTopic(name: string, configs: Record<string, string>): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: name, numPartitions: 1, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
  });
}

const send = (topic: string, records: Array<{ id?: string; value: string }>) =>
  producer.send({ topic, acks: -1, messages: records.map((r) => ({ value: r.value, partition: 0, headers: r.id === undefined ? {} : { 'msg-id': r.id } })) });

async function kcatSend(topic: string, id: string, value: string): Promise<void> {
  await kcat(['-P', '-b', tb.bootstrap, '-t', topic, '-p', '0', '-H', `msg-id=${id}`, '-X', 'acks=all'], { input: `${value}\n` });
}

const values = async (topic: string) => (await kcatConsume(tb.bootstrap, topic, 0)).map((r) => r.value?.toString() ?? null);

describe('message-id deduplication', () => {
  it('stores an id once across kafkajs, kcat, one batch and a broker restart', async () => {
    await createTopic('dd-orders', { 'message.id.header': 'msg-id' });
    await send('dd-orders', [
      { id: 'a', value: 'a1' },
      { id: 'b', value: 'b1' },
      { id: 'b', value: 'b2' }, // same id twice in one batch: the second is dropped
      { value: 'no-id-1' },
    ]);
    await kcatSend('dd-orders', 'b', 'b3'); // kcat: already accepted from kafkajs
    await kcatSend('dd-orders', 'c', 'c1');
    await send('dd-orders', [{ id: 'c', value: 'c2' }, { value: 'no-id-2' }]); // kafkajs: accepted from kcat

    await disconnectClients();
    await tb.broker.stop();
    tb = await startTestBroker('dedupe', {}, url);
    await connectClients();

    await send('dd-orders', [
      { id: 'a', value: 'a2' },
      { id: 'd', value: 'd1' },
    ]);
    await kcatSend('dd-orders', 'd', 'd2');
    expect(await values('dd-orders')).toEqual(['a1', 'b1', 'no-id-1', 'c1', 'no-id-2', 'd1']);
    // Since the restart: a2 and d2 dropped.
    expect(await tb.broker.context.metrics.registry.render()).toContain('kafka_mysql_deduplicated_records_total{topic="dd-orders"} 2');
  });

  it('keeps an idempotent producer going when a whole batch is duplicates (appended empty)', async () => {
    await createTopic('dd-idem', { 'message.id.header': 'msg-id' });
    const kafka = new Kafka({ clientId: 'dedupe-idem', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await idem.connect();
    try {
      const one = (id: string, value: string) => idem.send({ topic: 'dd-idem', acks: -1, messages: [{ value, partition: 0, headers: { 'msg-id': id } }] });
      await one('p1', 'p1-a');
      await one('p1', 'p1-b'); // every record a duplicate: an empty batch keeps the sequence
      await one('p2', 'p2-a');
      await one('p1', 'p1-c');
      await one('p3', 'p3-a');
    } finally {
      await idem.disconnect();
    }
    expect(await values('dd-idem')).toEqual(['p1-a', 'p2-a', 'p3-a']);
    // kafkajs reads past the empty batches too.
    const consumer = new Kafka({ clientId: 'dedupe-read', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: 'dd-idem-reader' });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'dd-idem', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      const deadline = Date.now() + 20_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(['p1-a', 'p2-a', 'p3-a']);
  });

  it('leaves topics without message.id.header alone', async () => {
    await createTopic('dd-plain', {});
    await send('dd-plain', [
      { id: 'x', value: 'x1' },
      { id: 'x', value: 'x2' },
    ]);
    await kcatSend('dd-plain', 'x', 'x3');
    expect(await values('dd-plain')).toEqual(['x1', 'x2', 'x3']);
  });

  it('accepts an id again once it is older than message.id.dedupe.window.ms', async () => {
    await createTopic('dd-window', { 'message.id.header': 'msg-id', 'message.id.dedupe.window.ms': '300' });
    await send('dd-window', [{ id: 'w', value: 'w1' }]);
    await send('dd-window', [{ id: 'w', value: 'w2' }]);
    await new Promise((r) => setTimeout(r, 400));
    await send('dd-window', [{ id: 'w', value: 'w3' }]);
    expect(await values('dd-window')).toEqual(['w1', 'w3']);
  });
});
