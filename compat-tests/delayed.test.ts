/**
 * Delayed delivery (delayed.delivery.enable, docs/delayed.md) on a real broker and MariaDB with
 * kafkajs and kcat: records with deliver-at and message-id are invisible until due and then
 * appear once, with a timestamp (their append time) not before their due time; a cancel record
 * (header cancel-message-id) removes a held one, a cancel after delivery is refused saying it was
 * delivered; a duplicate id while held is delivered once; bad input (past: at once; ten years
 * ahead, no message id, a malformed deliver-at: INVALID_RECORD, nothing written); a topic
 * without the setting appends such records at once, headers and all.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcat, kcatConsume, pollUntil, requireKcat, type KcatRecord } from './support/clients.js';

let url: string;
let tb: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  requireKcat();
  url = await createTestDatabase('delayed');
  // A short rescan so the test does not depend on produce-time wake-ups alone.
  tb = await startTestBroker('delayed', { 'delayed.delivery.rescan.ms': 500 }, url);
  const kafka = new Kafka({ clientId: 'delayed-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
  if (url) await dropTestDatabase(url);
});

async function createTopic(name: string, configs: Record<string, string>, partitions = 1): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: name, numPartitions: partitions, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
  });
}

const DELAYED = { 'delayed.delivery.enable': 'true' };

const all = async (topic: string, partitions = 1): Promise<KcatRecord[]> => {
  const out: KcatRecord[] = [];
  for (let p = 0; p < partitions; p++) out.push(...(await kcatConsume(tb.bootstrap, topic, p)));
  return out;
};
const valuesOf = (records: KcatRecord[]) => records.map((r) => r.value?.toString() ?? null).sort();
const header = (r: KcatRecord, name: string): string | undefined =>
  r.headers
    .split(',')
    .map((kv) => kv.split('='))
    .find(([k]) => k === name)?.[1];

describe('delayed delivery', () => {
  it('holds kafkajs and kcat records until due, then appends each once, not before its time', async () => {
    await createTopic('dl-orders', DELAYED, 2);
    // Far enough ahead for the sends and a read of each partition before it, even on a loaded
    // machine; whether a read came before a record's due time is read from the clock, not assumed.
    const due = Date.now() + 10_000;
    const [sent] = await producer.send({
      topic: 'dl-orders',
      acks: -1,
      messages: [
        { partition: 0, key: 'k1', value: 'late-1', headers: { 'deliver-at': String(due), 'message-id': 'o-1' } },
        { partition: 0, key: 'k2', value: 'late-2', headers: { 'deliver-at': String(due + 500), 'message-id': 'o-2' } },
      ],
    });
    // Every record held, nothing appended: the response has no offset (docs/delayed.md).
    expect(sent!.baseOffset).toBe('-1');
    await producer.send({ topic: 'dl-orders', acks: -1, messages: [{ partition: 0, value: 'now', headers: { 'message-id': 'n-1' } }] });
    // kcat (librdkafka), to partition 1; and a second send of o-1 while it is held: one delivery.
    await kcat(['-P', '-b', tb.bootstrap, '-t', 'dl-orders', '-p', '1', '-H', `deliver-at=${due}`, '-H', 'message-id=o-3', '-X', 'acks=all'], { input: 'late-3\n' });
    await producer.send({ topic: 'dl-orders', acks: -1, messages: [{ partition: 0, value: 'late-1-again', headers: { 'deliver-at': String(due), 'message-id': 'o-1' } }] });

    // Each partition read on its own: a held record must not be in a read that ended before its
    // due time (one that ended after it may or may not hold it yet).
    const readHeld = async (): Promise<{ endedAt: number[]; immediate: (string | null)[] }> => {
      const endedAt: number[] = [];
      const immediate: (string | null)[] = [];
      for (let p = 0; p < 2; p++) {
        const records = await kcatConsume(tb.bootstrap, 'dl-orders', p);
        const end = Date.now();
        endedAt.push(end);
        const early = records.filter((r) => {
          const at = header(r, 'deliver-at');
          return at !== undefined && end < Number(at);
        });
        expect(valuesOf(early), `partition ${p}, a read that ended ${due - end} ms before the first due time`).toEqual([]);
        immediate.push(...valuesOf(records.filter((r) => header(r, 'deliver-at') === undefined)));
      }
      return { endedAt, immediate };
    };
    const first = await readHeld();
    console.log(`held records: the first reads of both partitions ended ${due - Math.max(...first.endedAt)} ms before the due time`);
    expect(first.immediate).toEqual(['now']);
    // The premise of the check above: each partition was read before the records fell due.
    expect(Math.max(...first.endedAt), 'the first reads ended before the due time').toBeLessThan(due);
    await new Promise((r) => setTimeout(r, Math.max(0, due - 1500 - Date.now())));
    expect((await readHeld()).immediate).toEqual(['now']);

    expect(await pollUntil(async () => (await all('dl-orders', 2)).length === 4, 15_000, 200)).toBe(true);
    const records = await all('dl-orders', 2);
    expect(valuesOf(records)).toEqual(['late-1', 'late-2', 'late-3', 'now']);
    for (const r of records) {
      const at = header(r, 'deliver-at');
      if (at === undefined) continue;
      // The record's timestamp is its append time: never before its due time.
      expect(r.timestamp).toBeGreaterThanOrEqual(BigInt(at));
      expect(header(r, 'message-id')).toMatch(/^o-\d$/);
    }
    expect(records.find((r) => r.value?.toString() === 'late-3')!.partition).toBe(1);
    // Nothing more arrives later (the duplicate o-1 was not held twice).
    await new Promise((r) => setTimeout(r, 1500));
    expect((await all('dl-orders', 2)).length).toBe(4);
  });

  it('cancels a held record by a cancel-message-id record; a cancel after delivery is refused as delivered', async () => {
    await createTopic('dl-cancel', DELAYED);
    const due = Date.now() + 3000;
    await producer.send({
      topic: 'dl-cancel',
      acks: -1,
      messages: [
        { value: 'keep', headers: { 'deliver-at': String(due), 'message-id': 'c-keep' } },
        { value: 'drop', headers: { 'deliver-at': String(due), 'message-id': 'c-drop' } },
      ],
    });
    // kcat sends the cancel: an empty value with the header, not appended.
    await kcat(['-P', '-b', tb.bootstrap, '-t', 'dl-cancel', '-p', '0', '-H', 'cancel-message-id=c-drop', '-X', 'acks=all', '-Z'], { input: '\n' });
    // A retried cancel is acknowledged again.
    await producer.send({ topic: 'dl-cancel', acks: -1, messages: [{ value: null, headers: { 'cancel-message-id': 'c-drop' } }] });
    expect(await pollUntil(async () => (await all('dl-cancel')).length >= 1, 10_000, 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(valuesOf(await all('dl-cancel'))).toEqual(['keep']);

    const late = producer.send({ topic: 'dl-cancel', acks: -1, messages: [{ value: null, headers: { 'cancel-message-id': 'c-keep' } }] });
    await expect(late).rejects.toMatchObject({ type: 'INVALID_RECORD' });
    const unknown = producer.send({ topic: 'dl-cancel', acks: -1, messages: [{ value: null, headers: { 'cancel-message-id': 'never-sent' } }] });
    await expect(unknown).rejects.toMatchObject({ type: 'INVALID_RECORD' });
    // The cancel records themselves were never appended.
    expect(valuesOf(await all('dl-cancel'))).toEqual(['keep']);
  });

  it('delivers a past deliver-at at once and refuses ten years ahead, no message id or a malformed time', async () => {
    await createTopic('dl-bad', DELAYED);
    const sentAt = Date.now();
    await producer.send({ topic: 'dl-bad', acks: -1, messages: [{ value: 'past', headers: { 'deliver-at': String(sentAt - 3_600_000), 'message-id': 'b-past' } }] });
    expect(await pollUntil(async () => (await all('dl-bad')).length === 1, 3000, 50)).toBe(true);

    const tenYears = String(Date.now() + 10 * 365 * 86_400_000);
    for (const headers of [
      { 'deliver-at': tenYears, 'message-id': 'b-far' },
      { 'deliver-at': String(Date.now() + 1000) },
      { 'deliver-at': 'tomorrow', 'message-id': 'b-word' },
    ]) {
      const refused = producer.send({ topic: 'dl-bad', acks: -1, messages: [{ value: 'refused', headers }, { value: 'same-batch' }] });
      await expect(refused).rejects.toMatchObject({ type: 'INVALID_RECORD' });
    }
    // kcat too: librdkafka reports the error and exits non-zero; nothing of those batches was written.
    const k = kcat(['-P', '-b', tb.bootstrap, '-t', 'dl-bad', '-p', '0', '-H', `deliver-at=${tenYears}`, '-H', 'message-id=b-kcat', '-X', 'acks=all'], { input: 'refused\n' });
    await expect(k).rejects.toThrow(/failed to validate record/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(valuesOf(await all('dl-bad'))).toEqual(['past']);
  });

  it('appends deliver-at records at once on a topic without delayed.delivery.enable', async () => {
    await createTopic('dl-plain', {});
    const due = Date.now() + 60_000;
    const [sent] = await producer.send({ topic: 'dl-plain', acks: -1, messages: [{ value: 'now', headers: { 'deliver-at': String(due), 'message-id': 'p-1' } }] });
    expect(sent!.baseOffset).toBe('0');
    const records = await all('dl-plain');
    expect(valuesOf(records)).toEqual(['now']);
    expect(header(records[0]!, 'deliver-at')).toBe(String(due));
  });
});
