/**
 * Log compaction on a real broker and MariaDB (docs/compaction.md): Produce to a compacted topic
 * refuses records without a key (INVALID_RECORD with KIP-467 record errors, nothing written);
 * kafkajs and kcat (librdkafka) consumers see the latest value per key with their original
 * offsets after `compaction run` (the CLI, another process: the broker's tail cache learns of
 * it through the checkpoint generation), tombstones until delete.retention.ms after their first
 * cleaning and not after; compressed batches partly compacted; an idempotent producer's last
 * batch kept empty and read past by both clients; a `compaction run` killed
 * (SIGKILL) between chunks leaves a log whose every batch is old or new, with every key's
 * latest value and the original offsets, and a second run finishes the work; the broker's own
 * job compacts without the CLI.
 */
import type { ChildProcess } from 'node:child_process';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { connect } from '../storage/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, kcat, kcatConsume, pollUntil, readPartition, requireKcat } from './support/clients.js';
import { runCli, spawnCli } from './retention-support.js';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let raw: RawClient;

beforeAll(async () => {
  // The broker's own job is off: each test runs `compaction run` itself.
  tb = await startTestBroker('compaction', { 'log.cleaner.enable': false, 'log.start.offset.refresh.ms': 100 });
  kafka = new Kafka({ clientId: 'compaction-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
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

const COMPACT = { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0.01' };

async function createTopic(name: string, configs: Record<string, string>): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: name, numPartitions: 1, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
  });
}

function compactionRun(extra: string[] = []) {
  return runCli(['compaction', 'run', '--json', '--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'log.level=info', ...extra]);
}

/** What a kafkajs consumer group reads of the partition from the beginning: offset, key, value. */
async function kafkajsRead(topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.offset} ${message.key?.toString() ?? '-'}=${show(message.value)}`);
        if (seen.length === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

async function rawRead(topic: string): Promise<string[]> {
  const { records } = await readPartition(tb.port, topic, 0);
  return records.map((r) => `${r.offset} ${r.key?.toString() ?? '-'}=${show(r.value)}`);
}

/** A value as the tests write it: null, or its text without the padding dots that make it compressible. */
function show(value: Buffer | null | undefined): string {
  return value === null || value === undefined ? 'null' : value.toString().replace(/\.+$/, '');
}

describe('produce to a compacted topic', () => {
  it('refuses records without a key: INVALID_RECORD, one record error per keyless record, nothing written', async () => {
    await createTopic('c-keys', { 'cleanup.policy': 'compact,delete' });
    const records = buildRecordBatch({
      records: [
        { key: 'a', value: '1' },
        { key: null, value: '2' },
        { key: 'b', value: '3' },
        { key: null, value: null },
      ],
    });
    const response = await raw.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 10_000, topicData: [{ name: 'c-keys', partitionData: [{ index: 0, records }] }] }));
    const p = response.responses[0]!.partitionResponses[0]!;
    const message = 'Compacted topic cannot accept message without key in topic partition c-keys-0.';
    expect(p.errorCode).toBe(87);
    expect(p.baseOffset).toBe(-1n);
    expect(p.recordErrors).toEqual([
      { batchIndex: 1, batchIndexErrorMessage: message },
      { batchIndex: 3, batchIndexErrorMessage: message },
    ]);
    // kafkajs (Produce v7: the code only) gets the same refusal.
    const error = await producer.send({ topic: 'c-keys', acks: -1, messages: [{ value: 'no key' }] }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ type: 'INVALID_RECORD' });
    // Nothing was written; keyed records are accepted.
    expect((await admin.fetchTopicOffsets('c-keys'))[0]).toMatchObject({ low: '0', high: '0' });
    const [ok] = await producer.send({ topic: 'c-keys', acks: -1, messages: [{ key: 'k', value: 'v' }] });
    expect(ok).toMatchObject({ errorCode: 0, baseOffset: '0' });
  });

  it('librdkafka (kcat) is refused too', async () => {
    requireKcat();
    await createTopic('c-keys-kcat', { 'cleanup.policy': 'compact' });
    const result = await kcat(['-P', '-b', tb.bootstrap, '-t', 'c-keys-kcat', '-p', '0', '-X', 'message.send.max.retries=0'], { input: 'no key\n' }).then(
      () => 'delivered',
      (err: Error) => err.message,
    );
    // librdkafka's wording of INVALID_RECORD (87).
    expect(result).toMatch(/Broker failed to validate record/);
    expect((await admin.fetchTopicOffsets('c-keys-kcat'))[0]).toMatchObject({ high: '0' });
  });
});

describe('compaction run', () => {
  it('keeps the latest value per key at its offset, tombstones until delete.retention.ms after their first cleaning (kafkajs, kcat, raw Fetch)', async () => {
    const topic = 'c-latest';
    await createTopic(topic, { ...COMPACT, 'delete.retention.ms': '6000' });
    // One batch per send: offsets 0-9 k0..k9=v1, 10-14 k0..k4=v2, 15 k5 tombstone, 16 k6 tombstone, 17 z=end.
    for (let i = 0; i < 10; i++) await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: 'v1' }] });
    for (let i = 0; i < 5; i++) await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: 'v2' }] });
    await producer.send({ topic, acks: -1, messages: [{ key: 'k5', value: null }] });
    await producer.send({ topic, acks: -1, messages: [{ key: 'k6', value: null }] });
    await producer.send({ topic, acks: -1, messages: [{ key: 'z', value: 'end' }] });
    // A read before compaction puts the batches in the broker's tail cache.
    expect(await rawRead(topic)).toHaveLength(18);

    const first = await compactionRun(['--topic', topic]);
    expect(first.code).toBe(0);
    const firstDone = Date.now();
    // Within delete.retention.ms of the first cleaning, another run keeps the tombstones.
    const early = await compactionRun(['--topic', topic]);
    expect(early.code).toBe(0);
    expect(Date.now() - firstDone).toBeLessThan(4000); // well within the 6 s (the first run's own time included), else this step proves nothing
    expect((JSON.parse(early.stdout) as { partitions: Array<Record<string, unknown>> }).partitions[0]).toMatchObject({ skipped: 'clean' });
    const report = JSON.parse(first.stdout) as { partitions: Array<Record<string, unknown>> };
    expect(report.partitions[0]).toMatchObject({ trigger: 'dirty-ratio', cleanedUpto: '17', recordsRemoved: 7, deletedBatches: 7, tombstonesRemoved: 0 });
    const afterFirst = [
      '7 k7=v1',
      '8 k8=v1',
      '9 k9=v1',
      '10 k0=v2',
      '11 k1=v2',
      '12 k2=v2',
      '13 k3=v2',
      '14 k4=v2',
      '15 k5=null',
      '16 k6=null',
      '17 z=end',
    ];
    // The broker learns of the CLI's chunks within log.start.offset.refresh.ms and stops serving cached batches.
    expect(await pollUntil(async () => (await rawRead(topic)).join() === afterFirst.join(), 10_000)).toBe(true);
    expect(await kafkajsRead(topic, afterFirst.length)).toEqual(afterFirst);
    requireKcat();
    const viaKcat = await kcatConsume(tb.bootstrap, topic, 0);
    expect(viaKcat.map((r) => `${r.offset} ${r.key?.toString() ?? '-'}=${r.value?.toString() ?? 'null'}`)).toEqual(afterFirst);

    // After delete.retention.ms, they go.
    await new Promise((r) => setTimeout(r, Math.max(0, firstDone + 6100 - Date.now())));
    const late = await compactionRun(['--topic', topic]);
    expect(late.code).toBe(0);
    expect((JSON.parse(late.stdout) as { partitions: Array<Record<string, unknown>> }).partitions[0]).toMatchObject({ trigger: 'tombstones', tombstonesRemoved: 2 });
    const afterLate = afterFirst.filter((l) => !l.endsWith('=null'));
    expect(await pollUntil(async () => (await rawRead(topic)).join() === afterLate.join(), 10_000)).toBe(true);
    expect(await kafkajsRead(topic, afterLate.length)).toEqual(afterLate);
    const kcatLate = await kcatConsume(tb.bootstrap, topic, 0);
    expect(kcatLate.map((r) => `${r.offset} ${r.key?.toString() ?? '-'}=${r.value?.toString() ?? 'null'}`)).toEqual(afterLate);
    // The next offset is unchanged.
    expect((await admin.fetchTopicOffsets(topic))[0]).toMatchObject({ high: '18' });
  });

  it('rewrites a compressed batch whose records are partly superseded (kcat produce, zstd and gzip)', async () => {
    requireKcat();
    for (const codec of ['zstd', 'gzip']) {
      const topic = `c-partial-${codec}`;
      await createTopic(topic, COMPACT);
      // One batch: a=1 b=1 a=2 c=1 b=2 (offsets 0-4), then a second batch d=1 (offset 5) as the head.
      await kcat(['-P', '-b', tb.bootstrap, '-t', topic, '-p', '0', '-K', ':', '-X', `compression.codec=${codec}`, '-X', 'linger.ms=200'], {
        input: ['a:1', 'b:1', 'a:2', 'c:1', 'b:2'].map((l) => l + '.'.repeat(500)).join('\n') + '\n',
      });
      await kcat(['-P', '-b', tb.bootstrap, '-t', topic, '-p', '0', '-K', ':'], { input: 'd:1\n' });
      expect(await rawRead(topic)).toEqual(['0 a=1', '1 b=1', '2 a=2', '3 c=1', '4 b=2', '5 d=1']);
      const run = await compactionRun(['--topic', topic]);
      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as { partitions: Array<Record<string, unknown>> }).partitions[0]).toMatchObject({ rewrittenBatches: 1, recordsRemoved: 2 });
      const expected = ['2 a=2', '3 c=1', '4 b=2', '5 d=1'];
      expect(await pollUntil(async () => (await rawRead(topic)).join() === expected.join(), 10_000)).toBe(true);
      const viaKcat = await kcatConsume(tb.bootstrap, topic, 0);
      expect(viaKcat.map((r) => `${r.offset} ${r.key!.toString()}=${show(r.value)}`)).toEqual(expected);
      // kafkajs reads gzip on its own (zstd needs a codec plugin).
      if (codec === 'gzip') expect(await kafkajsRead(topic, expected.length)).toEqual(expected);
      // The stored batch still starts at 0, ends at 4, and keeps its codec bit.
      const conn = await connect(tb.mysqlUrl);
      try {
        const id = tb.broker.context.catalog.getTopic(topic)!.topicId;
        const table = `log_${Buffer.from(id, 'base64url').toString('hex')}`;
        const [rows] = await conn.query<RowDataPacket[]>(`SELECT base_offset, last_offset, record_count, payload FROM \`${table}\` ORDER BY base_offset`);
        expect(rows.map((r) => [Number(r.base_offset), Number(r.last_offset), Number(r.record_count), (r.payload as Buffer).readInt16BE(21) & 7])).toEqual([
          [0, 4, 3, codec === 'zstd' ? 4 : 1],
          [5, 5, 1, (rows[1]!.payload as Buffer).readInt16BE(21) & 7],
        ]);
      } finally {
        await conn.end();
      }
    }
  });

  it('an idempotent producer\'s last batch is kept empty; kafkajs and kcat read past it', async () => {
    const topic = 'c-empty';
    await createTopic(topic, COMPACT);
    const idempotent = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await idempotent.connect();
    try {
      await idempotent.send({ topic, acks: -1, messages: [{ key: 'a', value: 'idem' }] }); // 0
    } finally {
      await idempotent.disconnect();
    }
    await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: 'plain' }] }); // 1
    await producer.send({ topic, acks: -1, messages: [{ key: 'z', value: 'head' }] }); // 2
    const run = await compactionRun(['--topic', topic]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { partitions: Array<Record<string, unknown>> }).partitions[0]).toMatchObject({ rewrittenBatches: 1, deletedBatches: 0, recordsRemoved: 1 });
    const conn = await connect(tb.mysqlUrl);
    try {
      const id = tb.broker.context.catalog.getTopic(topic)!.topicId;
      const [rows] = await conn.query<RowDataPacket[]>(`SELECT base_offset, record_count, byte_size, producer_id FROM \`log_${Buffer.from(id, 'base64url').toString('hex')}\` ORDER BY base_offset`);
      expect(rows.map((r) => [Number(r.base_offset), Number(r.record_count), Number(r.byte_size), Number(r.producer_id) >= 0])).toEqual([
        [0, 0, 61, true],
        [1, 1, rows[1]!.byte_size, false],
        [2, 1, rows[2]!.byte_size, false],
      ]);
    } finally {
      await conn.end();
    }
    const expected = ['1 a=plain', '2 z=head'];
    expect(await pollUntil(async () => (await rawRead(topic)).join() === expected.join(), 10_000)).toBe(true);
    expect(await kafkajsRead(topic, expected.length)).toEqual(expected);
    const viaKcat = await kcatConsume(tb.bootstrap, topic, 0);
    expect(viaKcat.map((r) => `${r.offset} ${r.key!.toString()}=${show(r.value)}`)).toEqual(expected);
  });

  it('a run killed between chunks leaves every key with its latest value at its original offset; the next run finishes', async () => {
    const topic = 'c-crash';
    await createTopic(topic, COMPACT);
    // 400 one-record batches: key k(i % 20), value i; offsets 0-399.
    for (let i = 0; i < 400; i++) await producer.send({ topic, acks: 1, messages: [{ key: `k${i % 20}`, value: String(i) }] });
    const produced = await rawRead(topic);
    expect(produced).toHaveLength(400);
    const valueAt = new Map(produced.map((l) => [l.split(' ')[0]!, l.split(' ')[1]!]));
    const latest = new Map<string, string>();
    for (const l of produced) latest.set(l.split(' ')[1]!.split('=')[0]!, l);

    const child: ChildProcess = spawnCli(['compaction', 'run', '--topic', topic, '--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'log.level=info', '--set', 'compaction.chunk.batches=5']);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        if ((stderr.match(/chunk committed/g) ?? []).length >= 3) resolve();
      });
      child.once('exit', () => reject(new Error(`compaction run ended before its third chunk:\n${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // Killed mid-run: no checkpoint was written, some batches are compacted, not all.
    const conn = await connect(tb.mysqlUrl);
    try {
      const id = tb.broker.context.catalog.getTopic(topic)!.topicId;
      const [cp] = await conn.query<RowDataPacket[]>('SELECT cleaned_upto FROM compaction_checkpoints WHERE topic_id = ?', [id]);
      expect(cp.map((r) => Number(r.cleaned_upto))).toEqual([0]);
    } finally {
      await conn.end();
    }
    // The broker drops its cached batches within log.start.offset.refresh.ms (100 ms here).
    let mid: string[] = [];
    expect(await pollUntil(async () => (mid = await rawRead(topic)).length < 400, 10_000)).toBe(true);
    expect(mid.length).toBeGreaterThan(20);
    expect(mid.length).toBeLessThan(400);
    // Every record read is the one produced at that offset, and every key's latest is there.
    for (const l of mid) expect(`${l.split(' ')[0]} ${valueAt.get(l.split(' ')[0]!)}`).toBe(l);
    for (const l of latest.values()) expect(mid).toContain(l);

    const finish = await compactionRun(['--topic', topic]);
    expect(finish.code).toBe(0);
    // Offsets 380-399 hold each key's latest; 379 (k19) stays too, as its successor 399 is the
    // newest batch, never cleaned and so not in the key map (Kafka's active segment).
    const expected = Array.from({ length: 21 }, (_, i) => `${379 + i} k${(379 + i) % 20}=${379 + i}`);
    for (const l of latest.values()) expect(expected).toContain(l);
    expect(await pollUntil(async () => (await rawRead(topic)).join() === expected.join(), 10_000)).toBe(true);
    expect(await kafkajsRead(topic, expected.length)).toEqual(expected);
  });
});

describe('the broker\'s own job', () => {
  it('compacts on its own every log.cleaner.backoff.ms, counted in its metrics', async () => {
    const own = await startTestBroker('compaction-own', { 'log.cleaner.backoff.ms': 200 });
    const k = new Kafka({ clientId: 'compaction-own', brokers: [own.bootstrap], logLevel: logLevel.NOTHING });
    const a = k.admin();
    const p = k.producer({ allowAutoTopicCreation: false });
    try {
      await a.connect();
      await p.connect();
      await a.createTopics({ waitForLeaders: true, topics: [{ topic: 'c-own', numPartitions: 1, configEntries: Object.entries(COMPACT).map(([name, value]) => ({ name, value })) }] });
      for (const [key, value] of [['a', '1'], ['b', '1'], ['a', '2'], ['z', 'head']]) await p.send({ topic: 'c-own', acks: -1, messages: [{ key, value }] });
      const read = async () => (await readPartition(own.port, 'c-own', 0)).records.map((r) => `${r.offset} ${r.key}=${r.value}`).join();
      expect(await pollUntil(async () => (await read()) === '1 b=1,2 a=2,3 z=head', 10_000)).toBe(true);
      // Counted when the run ends (just after its last chunk made the records above visible).
      const counted = async () => {
        const text = await own.broker.context.metrics.registry.render();
        return text.includes('kafka_mysql_compaction_removed_records_total{topic="c-own"} 1') && text.includes('kafka_mysql_compaction_deleted_batches_total{topic="c-own"} 1');
      };
      expect(await pollUntil(counted, 5_000)).toBe(true);
    } finally {
      await p.disconnect();
      await a.disconnect();
      await own.stop();
    }
  });
});
