/**
 * Retention on a real broker and MariaDB: time (retention.ms) and size (retention.bytes)
 * deletion of whole batches from the start, the newest batch kept, log start advanced and
 * seen by kafkajs consumers and raw Fetch; DeleteRecords through kafkajs; two concurrent
 * `retention run` processes; a run killed midway (SIGKILL); retention.ms of 30 days and -1;
 * archive to a table and to files, read back with `archive restore`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ConfigResourceTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { connect } from '../storage/mysql.js';
import type { RetentionService } from '../server/retention/service.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, fetchOnce, readPartition, splitBatches } from './support/clients.js';
import { insertBatches, partitionState, runCli, spawnCli } from './retention-support.js';

const DAY = 86_400_000;
let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let archiveDir: string;

beforeAll(async () => {
  archiveDir = await mkdtemp(join(tmpdir(), 'kafka-mysql-archive-'));
  tb = await startTestBroker('retention', { 'retention.archive.dir': archiveDir, 'retention.chunk.batches': 3 });
  kafka = new Kafka({ clientId: 'retention-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
  await rm(archiveDir, { recursive: true, force: true });
});

function retention(): RetentionService {
  return tb.broker.context.retention as RetentionService;
}

function topicId(name: string): string {
  return tb.broker.context.catalog.getTopic(name)!.topicId;
}

async function createTopic(name: string, configs: Record<string, string> = {}, partitions = 1): Promise<void> {
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: name, numPartitions: partitions, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
  });
}

/** One kafkajs send per batch, with the given timestamp. */
async function produce(topic: string, count: number, timestampMs: number, prefix = 'v', partition = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    await producer.send({ topic, acks: -1, messages: [{ partition, key: `k${i}`, value: `${prefix}${i}`, timestamp: String(timestampMs), headers: { h: `x${i}` } }] });
  }
}

async function lowWatermark(topic: string, partition = 0): Promise<bigint> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return BigInt(offsets.find((o) => o.partition === partition)!.low);
}

describe('time retention', () => {
  it('deletes batches older than retention.ms from the start, advances the log start, keeps newer ones', async () => {
    await createTopic('r-time', { 'retention.ms': String(DAY) });
    await produce('r-time', 4, Date.now() - 3 * DAY, 'old');
    await produce('r-time', 2, Date.now(), 'new');
    const result = await retention().runOnce();
    const mine = result.partitions.find((p) => p.topic === 'r-time')!;
    expect(mine).toMatchObject({ batches: 4, reasons: ['time'], logStartBefore: 0n, logStartAfter: 4n, skipped: null });
    expect(mine.chunks).toBe(2); // retention.chunk.batches=3
    expect(await lowWatermark('r-time')).toBe(4n);
    expect(await partitionState(tb.mysqlUrl, topicId('r-time'), 0)).toMatchObject({ logStart: 4n, rows: 2, firstBase: 4n, belowStart: 0 });

    // A kafkajs consumer reading from the beginning starts at the new log start.
    const consumer = kafka.consumer({ groupId: 'r-time-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'r-time', fromBeginning: true });
    const seen: Array<{ offset: string; value: string }> = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push({ offset: message.offset, value: message.value!.toString() });
          if (seen.length === 2) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    expect(seen).toEqual([
      { offset: '4', value: 'new0' },
      { offset: '5', value: 'new1' },
    ]);
  });

  it('never deletes the newest batch by time alone, so the next offset survives a reload', async () => {
    await createTopic('r-newest', { 'retention.ms': String(DAY) });
    await produce('r-newest', 3, Date.now() - 5 * DAY);
    await retention().runOnce();
    expect(await partitionState(tb.mysqlUrl, topicId('r-newest'), 0)).toMatchObject({ logStart: 2n, rows: 1, firstBase: 2n });
    const read = await readPartition(tb.port, 'r-newest', 0, { from: 2n });
    expect(read.records.map((r) => r.value?.toString())).toEqual(['v2']);
    expect(read.logStartOffset).toBe(2n);
    await produce('r-newest', 1, Date.now());
    const offsets = await admin.fetchTopicOffsets('r-newest');
    expect(offsets[0]).toMatchObject({ low: '2', high: '4' });
  });

  it('answers OFFSET_OUT_OF_RANGE below the log start, and a consumer whose committed offset fell below it resets', async () => {
    await createTopic('r-oor', { 'retention.ms': String(DAY) });
    await produce('r-oor', 3, Date.now() - 2 * DAY, 'old');
    await produce('r-oor', 1, Date.now(), 'new');
    await admin.setOffsets({ groupId: 'r-oor-group', topic: 'r-oor', partitions: [{ partition: 0, offset: '1' }] });
    await retention().runOnce();
    const client = await RawClient.connect(tb.port);
    try {
      const below = await fetchOnce(client, 'r-oor', 0, 1n);
      expect(below.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      const at = await fetchOnce(client, 'r-oor', 0, 3n);
      expect(at.errorCode).toBe(ErrorCode.NONE);
      expect(at.logStartOffset).toBe(3n);
    } finally {
      client.close();
    }
    const consumer = kafka.consumer({ groupId: 'r-oor-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'r-oor', fromBeginning: true });
    const first = new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(`${message.offset}:${message.value!.toString()}`) });
    });
    expect(await first).toBe('3:new0');
    await consumer.disconnect();
  });

  it('keeps forever with retention.ms=-1 and honours 30 days (a value above 2^31) set through CreateTopics and AlterConfigs', async () => {
    await createTopic('r-forever', { 'retention.ms': '-1' });
    await createTopic('r-30d', { 'retention.ms': '2592000000' });
    for (const t of ['r-forever', 'r-30d']) {
      await produce(t, 2, Date.now() - 40 * DAY, 'ancient');
      await produce(t, 2, Date.now() - 20 * DAY, 'recent');
    }
    await retention().runOnce();
    expect(await lowWatermark('r-forever')).toBe(0n);
    expect(await lowWatermark('r-30d')).toBe(2n);

    const described = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'r-forever', configNames: ['retention.ms'] },
        { type: ConfigResourceTypes.TOPIC, name: 'r-30d', configNames: ['retention.ms'] },
      ],
    });
    expect(described.resources.map((r) => r.configEntries[0]!.configValue)).toEqual(['-1', '2592000000']);

    // AlterConfigs swaps them: 30 days on the first, forever on the second.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'r-forever', configEntries: [{ name: 'retention.ms', value: '2592000000' }] },
        { type: ConfigResourceTypes.TOPIC, name: 'r-30d', configEntries: [{ name: 'retention.ms', value: '-1' }] },
      ],
    });
    await produce('r-30d', 1, Date.now() - 400 * DAY, 'older-than-all');
    await retention().runOnce();
    expect(await lowWatermark('r-forever')).toBe(2n);
    expect(await lowWatermark('r-30d')).toBe(2n);
  });

  it('takes the broker default (log.retention.hours=720) when the topic sets nothing', async () => {
    await createTopic('r-default');
    await produce('r-default', 2, Date.now() - 31 * DAY, 'a');
    await produce('r-default', 1, Date.now() - 29 * DAY, 'b');
    await retention().runOnce();
    expect(await lowWatermark('r-default')).toBe(2n);
  });
});

describe('size retention', () => {
  it('deletes the oldest batches while the partition stays at or above retention.bytes', async () => {
    await createTopic('r-bytes');
    const id = topicId('r-bytes');
    await insertBatches(tb.mysqlUrl, id, 0, 10, Date.now(), 1000);
    const before = await partitionState(tb.mysqlUrl, id, 0);
    const batchBytes = before.bytes / 10;
    expect(Number.isInteger(batchBytes)).toBe(true);
    // Room for 3.5 batches: Kafka's rule keeps 4 (deleting a 5th would go below the limit).
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'r-bytes', configEntries: [{ name: 'retention.bytes', value: String(Math.floor(batchBytes * 3.5)) }] }],
    });
    const result = await retention().runOnce();
    expect(result.partitions.find((p) => p.topic === 'r-bytes')).toMatchObject({ batches: 6, bytes: batchBytes * 6, reasons: ['bytes'], logStartAfter: 6n });
    expect(await partitionState(tb.mysqlUrl, id, 0)).toMatchObject({ logStart: 6n, rows: 4, firstBase: 6n, belowStart: 0 });
    const read = await readPartition(tb.port, 'r-bytes', 0, { from: 6n });
    expect(read.records.map((r) => r.offset)).toEqual([6n, 7n, 8n, 9n]);
  });

  it('keeps the newest batch even when retention.bytes is 0', async () => {
    await createTopic('r-bytes0', { 'retention.bytes': '0' });
    await produce('r-bytes0', 3, Date.now());
    await retention().runOnce();
    expect(await partitionState(tb.mysqlUrl, topicId('r-bytes0'), 0)).toMatchObject({ logStart: 2n, rows: 1 });
  });
});

describe('DeleteRecords', () => {
  it('moves the log start through kafkajs deleteTopicRecords and deletes the batches below it', async () => {
    await createTopic('r-delrec', {}, 2);
    await produce('r-delrec', 5, Date.now(), 'p0-', 0);
    await produce('r-delrec', 3, Date.now(), 'p1-', 1);
    await admin.fetchTopicMetadata({ topics: ['r-delrec'] }); // kafkajs needs the leaders in its cache
    await admin.deleteTopicRecords({ topic: 'r-delrec', partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '-1' }] });
    expect(await lowWatermark('r-delrec', 0)).toBe(3n);
    expect(await lowWatermark('r-delrec', 1)).toBe(3n);
    expect(await partitionState(tb.mysqlUrl, topicId('r-delrec'), 0)).toMatchObject({ logStart: 3n, rows: 2, firstBase: 3n });
    expect(await partitionState(tb.mysqlUrl, topicId('r-delrec'), 1)).toMatchObject({ logStart: 3n, rows: 0 });
    const read = await readPartition(tb.port, 'r-delrec', 0, { from: 3n });
    expect(read.records.map((r) => r.value?.toString())).toEqual(['p0-3', 'p0-4']);
    // Partition 1 is empty at offset 3 and appends continue from there.
    await produce('r-delrec', 1, Date.now(), 'after', 1);
    const offsets = await admin.fetchTopicOffsets('r-delrec');
    expect(offsets.find((o) => o.partition === 1)).toMatchObject({ low: '3', high: '4' });
  });

  it('answers OFFSET_OUT_OF_RANGE for an offset beyond the high watermark', async () => {
    await createTopic('r-delrec-oor');
    await produce('r-delrec-oor', 2, Date.now());
    const client = await RawClient.connect(tb.port);
    try {
      const response = await client.request(21, 2, {
        timeoutMs: 5000,
        topics: [{ name: 'r-delrec-oor', partitions: [{ partitionIndex: 0, offset: 5n }, { partitionIndex: 7, offset: 0n }] }],
      });
      expect(response.topics[0]!.partitions).toEqual([
        { partitionIndex: 0, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE },
        { partitionIndex: 7, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      ]);
    } finally {
      client.close();
    }
    expect(await lowWatermark('r-delrec-oor')).toBe(0n);
  });
});

describe('runners', () => {
  it('two concurrent `retention run` processes delete each batch once, without errors', async () => {
    await createTopic('r-concurrent', { 'retention.ms': String(DAY) }, 4);
    const id = topicId('r-concurrent');
    for (let p = 0; p < 4; p++) await insertBatches(tb.mysqlUrl, id, p, 60, Date.now() - 2 * DAY, 200);
    const args = ['retention', 'run', '--topic', 'r-concurrent', '--json', '--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'retention.chunk.batches=4', '--set', 'log.level=warn'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(a.stdout) as { batches: number; errors: unknown[] };
    const rb = JSON.parse(b.stdout) as { batches: number; errors: unknown[] };
    expect(ra.errors).toEqual([]);
    expect(rb.errors).toEqual([]);
    expect(ra.batches + rb.batches).toBe(4 * 59);
    for (let p = 0; p < 4; p++) {
      expect(await partitionState(tb.mysqlUrl, id, p)).toMatchObject({ logStart: 59n, rows: 1, firstBase: 59n, belowStart: 0 });
    }
  });

  it('a run killed midway (SIGKILL) leaves a consistent log that reads and a later run finishes', async () => {
    await createTopic('r-killed', { 'retention.ms': String(DAY) });
    const id = topicId('r-killed');
    await insertBatches(tb.mysqlUrl, id, 0, 3000, Date.now() - 2 * DAY, 500);
    const child = spawnCli(['retention', 'run', '--topic', 'r-killed', '--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'retention.chunk.batches=2']);
    let stderr = '';
    let killed = false;
    const exited = once(child, 'exit');
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!killed && (stderr.match(/retention: chunk deleted/g) ?? []).length >= 3) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const state = await partitionState(tb.mysqlUrl, id, 0);
    expect(state.logStart).toBeGreaterThan(0n);
    expect(state.logStart).toBeLessThan(2999n);
    expect(state.firstBase).toBe(state.logStart);
    expect(state.belowStart).toBe(0);
    expect(state.rows).toBe(3000 - Number(state.logStart));

    // Reads work: below the log start is out of range, at it returns the first remaining batch.
    const client = await RawClient.connect(tb.port);
    try {
      expect((await fetchOnce(client, 'r-killed', 0, 0n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      const at = await fetchOnce(client, 'r-killed', 0, state.logStart, { partitionMaxBytes: 2000 });
      expect(at.errorCode).toBe(ErrorCode.NONE);
      expect(at.logStartOffset).toBe(state.logStart);
      const records = splitBatches(at.records);
      expect(records.length).toBeGreaterThan(0);
      expect(records[0]!.readBigInt64BE(0)).toBe(state.logStart);
    } finally {
      client.close();
    }
    await retention().runOnce();
    expect(await partitionState(tb.mysqlUrl, id, 0)).toMatchObject({ logStart: 2999n, rows: 1, belowStart: 0 });
  });

  it('a read the broker finds missing in MySQL re-reads the log start moved by another process: OFFSET_OUT_OF_RANGE', async () => {
    await createTopic('r-other-process', { 'retention.ms': String(DAY) });
    const id = topicId('r-other-process');
    await insertBatches(tb.mysqlUrl, id, 0, 3, Date.now() - 2 * DAY);
    await insertBatches(tb.mysqlUrl, id, 0, 1, Date.now());
    expect(await lowWatermark('r-other-process')).toBe(0n); // loaded by the broker (not in its tail cache)
    const run = await runCli(['retention', 'run', '--topic', 'r-other-process', '--set', `mysql.url=${tb.mysqlUrl}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/r-other-process\s+0\s+time\s+3\s+\d+\s+0\s+3\s+none/);
    expect(run.stdout).toMatch(/deleted 3 batches/);
    const log = await tb.broker.context.logs.getLog(id, 0);
    expect(log.logStartOffset()).toBe(0n); // not yet known
    const client = await RawClient.connect(tb.port);
    try {
      expect((await fetchOnce(client, 'r-other-process', 0, 1n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    } finally {
      client.close();
    }
    expect(log.logStartOffset()).toBe(3n);
    expect(await lowWatermark('r-other-process')).toBe(3n);
  });

  it('the periodic refresh brings log starts moved by another process into the broker (tail-cached partitions)', async () => {
    await createTopic('r-refresh', { 'retention.ms': String(DAY) });
    await produce('r-refresh', 2, Date.now() - 2 * DAY);
    await produce('r-refresh', 1, Date.now());
    const log = await tb.broker.context.logs.getLog(topicId('r-refresh'), 0);
    const run = await runCli(['retention', 'run', '--topic', 'r-refresh', '--set', `mysql.url=${tb.mysqlUrl}`, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ batches: 2, partitions: [{ topic: 'r-refresh', logStartAfter: '2' }] });
    expect(log.logStartOffset()).toBe(0n);
    await retention().refreshLogStarts();
    expect(log.logStartOffset()).toBe(2n);
    const client = await RawClient.connect(tb.port);
    try {
      expect((await fetchOnce(client, 'r-refresh', 0, 0n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    } finally {
      client.close();
    }
  });
});

describe('archive', () => {
  async function consumeAll(topic: string, count: number) {
    const read = await readPartition(tb.port, topic, 0, { from: 0n });
    expect(read.records).toHaveLength(count);
    return read.records.map((r) => ({
      key: r.key?.toString(),
      value: r.value?.toString(),
      timestamp: r.timestamp,
      headers: r.headers.map((h) => [h.key.toString(), h.value?.toString()]),
    }));
  }

  it('moves deleted batches to the archive table and restores them into another topic', async () => {
    const old = Date.now() - 2 * DAY;
    await createTopic('r-arch-table', { 'retention.ms': String(DAY), 'retention.archive': 'table' });
    await produce('r-arch-table', 5, old, 'gone');
    await produce('r-arch-table', 1, Date.now(), 'kept');
    const result = await retention().runOnce();
    expect(result.partitions.find((p) => p.topic === 'r-arch-table')).toMatchObject({ batches: 5, archive: 'table' });
    const conn = await connect(tb.mysqlUrl);
    try {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT base_offset FROM log_archive WHERE topic_name = ? ORDER BY base_offset', ['r-arch-table']);
      expect(rows.map((r) => Number(r.base_offset))).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await conn.end();
    }
    await createTopic('r-arch-table-restored');
    const restore = await runCli(['archive', 'restore', '--topic', 'r-arch-table', '--from', 'table', '--to-topic', 'r-arch-table-restored', '--bootstrap-server', tb.bootstrap, '--set', `mysql.url=${tb.mysqlUrl}`, '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ batches: 5, records: 5 });
    const restored = await consumeAll('r-arch-table-restored', 5);
    expect(restored).toEqual(
      Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `gone${i}`, timestamp: BigInt(old), headers: [['h', `x${i}`]] })),
    );
  });

  it('writes deleted batches to gzip files before deleting them and restores them from the files', async () => {
    const old = Date.now() - 2 * DAY;
    await createTopic('r-arch-file', { 'retention.ms': String(DAY), 'retention.archive': 'file' });
    await produce('r-arch-file', 4, old, 'filed');
    await produce('r-arch-file', 1, Date.now(), 'kept');
    await retention().runOnce();
    const files = (await readdir(join(archiveDir, 'r-arch-file', '0'))).sort();
    // retention.chunk.batches=3: two chunks, two files named by their offset ranges.
    expect(files).toEqual(['00000000000000000000-00000000000000000002.kma.gz', '00000000000000000003-00000000000000000003.kma.gz']);
    await createTopic('r-arch-file-restored');
    const restore = await runCli(['archive', 'restore', '--topic', 'r-arch-file', '--from', 'file', '--dir', archiveDir, '--to-topic', 'r-arch-file-restored', '--bootstrap-server', tb.bootstrap]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('restored 4 batches (4 records');
    const restored = await consumeAll('r-arch-file-restored', 4);
    expect(restored.map((r) => r.value)).toEqual(['filed0', 'filed1', 'filed2', 'filed3']);
    expect(restored.every((r) => r.timestamp === BigInt(old))).toBe(true);
  });

  it('rejects an unknown archive mode with INVALID_CONFIG naming the key', async () => {
    const client = await RawClient.connect(tb.port);
    try {
      const response = await client.request(19, 7, {
        timeoutMs: 5000,
        validateOnly: false,
        topics: [{ name: 'r-arch-bad', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.archive', value: 'tape' }] }],
      });
      expect(response.topics[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
      expect(response.topics[0]!.errorMessage).toContain('retention.archive');
    } finally {
      client.close();
    }
  });
});
