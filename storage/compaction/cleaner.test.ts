import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatchInfo } from '../../codec/records/batch-header.js';
import { computeBatchCrc } from '../../codec/records/crc32c.js';
import { buildControlBatch, buildRecordBatch, decodeBatchRecords } from '../../codec/records/records.js';
import { createTestDatabase, dropTestDatabase } from '../../testing/mysql.js';
import { openStorage, type Storage } from '../index.js';
import { logTableName } from '../schema.js';
import { readAllBatchInfos, testLogs, testPools } from '../testing.js';
import type { TopicRecord } from '../types.js';
import type { CompactionPolicy } from './cleaner.js';

/**
 * The compaction job on MariaDB, in-process: transactional data and markers, the triggers
 * (dirty ratio, max lag, due tombstones), what holds back the head (min.compaction.lag.ms,
 * segment.bytes), the tail cache of a loaded log, and a failure between chunks.
 */

const T = 1_800_000_000_000n;
const POLICY: CompactionPolicy = {
  deleteRetentionMs: 1000n,
  minCompactionLagMs: 0n,
  maxCompactionLagMs: 9223372036854775807n,
  minCleanableDirtyRatio: 0,
  segmentMs: 1n,
  segmentBytes: 1n << 40n,
};

let url: string;
let storage: Storage;
let pool: Pool;
let now = Number(T);

beforeAll(async () => {
  url = await createTestDatabase('compaction');
  storage = await openStorage({ metadataUrl: url, tailCacheBytesPerPartition: 1 << 20 });
  pool = testPools(storage).shardPools[0]!;
});

afterAll(async () => {
  await storage?.close();
  await dropTestDatabase(url);
});

function cleaner(extra: { chunkBatches?: number; afterChunk?: (t: string, p: number, n: number) => void } = {}) {
  return storage.compactionCleaner({ now: () => now, ...extra });
}

type Spec = { key: string | null; value: string | null };

function data(records: Spec[], o: { pid?: bigint; txn?: boolean; ts?: bigint; seq?: number } = {}): Buffer {
  return buildRecordBatch({
    records: records.map((r) => ({ ...r, timestamp: o.ts ?? T - 10_000n })),
    producerId: o.pid ?? -1n,
    producerEpoch: o.pid === undefined ? -1 : 0,
    baseSequence: o.pid === undefined ? -1 : (o.seq ?? 0),
    transactional: o.txn === true,
  });
}

function marker(pid: bigint, commit: boolean): Buffer {
  return buildControlBatch({ producerId: pid, producerEpoch: 0, commit, coordinatorEpoch: 0, timestamp: T - 10_000n });
}

/** Writes batches as rows after the partition's last one (what group commit stores), offsets assigned here. */
async function insert(topic: TopicRecord, batches: Buffer[]): Promise<void> {
  const table = logTableName(topic.topicId);
  const [m] = await pool.query<RowDataPacket[]>(`SELECT MAX(last_offset) AS m FROM \`${table}\` WHERE partition_id = 0`);
  let offset = m[0]?.m === null || m[0]?.m === undefined ? 0n : BigInt(m[0].m) + 1n;
  for (const b of batches) {
    b.writeBigInt64BE(offset, 0);
    const i = readBatchInfo(b, 0);
    await pool.query(
      `INSERT INTO \`${table}\` (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload)
       VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [String(offset), String(offset + BigInt(i.lastOffsetDelta)), i.recordCount, String(i.baseTimestamp), String(i.maxTimestamp), String(i.producerId), i.producerEpoch, i.baseSequence, i.isTransactional ? 1 : 0, i.isControl ? 1 : 0, b.length, b],
    );
    offset += BigInt(i.lastOffsetDelta) + 1n;
  }
}

/** Every stored row: base-last offsets, record count, and its records as offset:key=value. */
async function rows(topic: TopicRecord): Promise<string[]> {
  const [r] = await pool.query<RowDataPacket[]>(`SELECT base_offset, last_offset, record_count, byte_size, payload FROM \`${logTableName(topic.topicId)}\` WHERE partition_id = 0 ORDER BY base_offset`);
  return r.map((row) => {
    const payload = row.payload as Buffer;
    const info = readBatchInfo(payload, 0);
    // Columns and header agree, and the CRC is right.
    expect([BigInt(row.base_offset), BigInt(row.last_offset), Number(row.record_count), Number(row.byte_size)]).toEqual([info.baseOffset, info.baseOffset + BigInt(info.lastOffsetDelta), info.recordCount, payload.length]);
    expect(payload.readUInt32BE(17)).toBe(computeBatchCrc(payload, 0, payload.length));
    const recs = info.isControl ? (info.recordCount === 0 ? '' : 'marker') : decodeBatchRecords(payload).map((x) => `${x.offset}:${x.key?.toString() ?? '-'}=${x.value?.toString() ?? 'null'}`).join(' ');
    return `${row.base_offset}-${row.last_offset} ${recs}`.trim();
  });
}

async function topic(name: string): Promise<TopicRecord> {
  return storage.catalog.createTopic({ name, partitions: 1, configs: { 'cleanup.policy': 'compact' } });
}

describe('compaction job', () => {
  it('transactions: aborted data goes, ABORT markers stay, a COMMIT marker goes after its data and delete.retention.ms, emptied as its producer\'s last batch', async () => {
    const t = await topic('cc-txn');
    await insert(t, [
      data([{ key: 'x', value: 'aborted' }], { pid: 7n, txn: true }), // 0
      marker(7n, false), // 1
      data([{ key: 'x', value: 'c1' }, { key: 'y', value: 'c1' }], { pid: 8n, txn: true }), // 2-3
      marker(8n, true), // 4
      data([{ key: 'x', value: 'n1' }]), // 5
      data([{ key: 'y', value: 'i1' }], { pid: 9n, seq: 0 }), // 6
      data([{ key: 'y', value: 'i2' }], { pid: 9n, seq: 1 }), // 7
      data([{ key: 'z', value: 'head' }]), // 8
    ]);
    now = Number(T);
    const first = await cleaner().compactPartition(t, 0, POLICY);
    expect(first).toMatchObject({ trigger: 'dirty-ratio', cleanedUpto: 8n, deletedBatches: 3, rewrittenBatches: 0, abortedRemoved: 1 });
    expect(await rows(t)).toEqual(['1-1 marker', '4-4 marker', '5-5 5:x=n1', '7-7 7:y=i2', '8-8 8:z=head']);

    // Within delete.retention.ms of the first cleaning nothing is due.
    now = Number(T) + 500;
    expect(await cleaner().compactPartition(t, 0, POLICY)).toMatchObject({ skipped: 'clean' });
    // After it: the COMMIT marker (producer 8's last batch) is emptied, the ABORT marker stays.
    now = Number(T) + 1500;
    const second = await cleaner().compactPartition(t, 0, POLICY);
    expect(second).toMatchObject({ trigger: 'tombstones', rewrittenBatches: 1, deletedBatches: 0 });
    expect(await rows(t)).toEqual(['1-1 marker', '4-4', '5-5 5:x=n1', '7-7 7:y=i2', '8-8 8:z=head']);
    const [empty] = await pool.query<RowDataPacket[]>(`SELECT payload FROM \`${logTableName(t.topicId)}\` WHERE base_offset = 4`);
    expect(readBatchInfo(empty[0]!.payload as Buffer, 0)).toMatchObject({ producerId: 8n, isControl: true, isTransactional: true, recordCount: 0, size: 61 });
  });

  it('stops before an open transaction', async () => {
    const t = await topic('cc-open');
    await insert(t, [data([{ key: 'a', value: '1' }]), data([{ key: 'a', value: 'txn' }], { pid: 3n, txn: true }), data([{ key: 'a', value: '2' }]), data([{ key: 'b', value: 'head' }])]);
    now = Number(T);
    const r = await cleaner().compactPartition(t, 0, POLICY);
    // The section ends at offset 1 (the open transaction): nothing from it on is touched; a@0
    // goes, as a@2 (not transactional, so final) supersedes it.
    expect(r).toMatchObject({ cleanedUpto: 1n, recordsRemoved: 1 });
    expect(await rows(t)).toEqual(['1-1 1:a=txn', '2-2 2:a=2', '3-3 3:b=head']);
  });

  it('triggers: below min.cleanable.dirty.ratio it waits, max.compaction.lag.ms forces it', async () => {
    const t = await topic('cc-ratio');
    const batches = [];
    for (let i = 0; i < 10; i++) batches.push(data([{ key: `k${i}`, value: 'v'.repeat(100) }]));
    batches.push(data([{ key: 'z', value: 'head' }]));
    await insert(t, batches);
    now = Number(T);
    expect(await cleaner().compactPartition(t, 0, POLICY)).toMatchObject({ trigger: 'dirty-ratio', cleanedUpto: 10n, recordsRemoved: 0 });
    // One new batch: the dirty section (offset 10, the old head, and 11) is a small part of the log.
    await insert(t, [data([{ key: 'k0', value: 'new' }]), data([{ key: 'z', value: 'head2' }])]);
    const half = { ...POLICY, minCleanableDirtyRatio: 0.5 };
    expect(await cleaner().compactPartition(t, 0, half)).toMatchObject({ skipped: 'below-ratio' });
    const forced = await cleaner().compactPartition(t, 0, { ...half, maxCompactionLagMs: 5000n });
    // k0@0 goes; z@10 stays, its successor z@12 being the newest batch (never in the map).
    expect(forced).toMatchObject({ trigger: 'max-lag', cleanedUpto: 12n, recordsRemoved: 1 });
    expect((await rows(t)).map((r) => r.split(' ')[0])).toEqual(['1-1', '2-2', '3-3', '4-4', '5-5', '6-6', '7-7', '8-8', '9-9', '10-10', '11-11', '12-12']);
  });

  it('the head: min.compaction.lag.ms and segment.bytes hold back recent batches', async () => {
    const t = await topic('cc-head');
    await insert(t, [
      data([{ key: 'a', value: 'old1' }], { ts: T - 100_000n }), // 0
      data([{ key: 'a', value: 'old2' }], { ts: T - 100_000n }), // 1
      data([{ key: 'a', value: 'new1' }], { ts: T - 1_000n }), // 2
      data([{ key: 'a', value: 'new2' }], { ts: T - 1_000n }), // 3
      data([{ key: 'b', value: 'head' }], { ts: T - 1_000n }), // 4
    ]);
    now = Number(T);
    // Lag 10 s: only offsets 0-1 are old enough; within them 0 is superseded by 1.
    expect(await cleaner().compactPartition(t, 0, { ...POLICY, minCompactionLagMs: 10_000n })).toMatchObject({ cleanedUpto: 2n, recordsRemoved: 1 });
    expect(await rows(t)).toEqual(['1-1 1:a=old2', '2-2 2:a=new1', '3-3 3:a=new2', '4-4 4:b=head']);
    // segment.ms of a day keeps all by time; segment.bytes of two batches makes the last two (3, 4) the head.
    const [sizes] = await pool.query<RowDataPacket[]>(`SELECT byte_size FROM \`${logTableName(t.topicId)}\` WHERE base_offset = 3`);
    const r = await cleaner().compactPartition(t, 0, { ...POLICY, segmentMs: 86_400_000n, segmentBytes: BigInt(Number(sizes[0]!.byte_size) * 2 + 10) });
    expect(r).toMatchObject({ cleanedUpto: 3n, recordsRemoved: 1 });
    expect(await rows(t)).toEqual(['2-2 2:a=new1', '3-3 3:a=new2', '4-4 4:b=head']);
  });

  it('a loaded log serves the compacted batches, not its cached ones', async () => {
    const t = await topic('cc-cache');
    const log = await testLogs(storage).getLog(t.topicId, 0);
    for (const [k, v] of [['a', '1'], ['b', '1'], ['a', '2'], ['c', 'head']] as const) {
      const b = buildRecordBatch({ records: [{ key: k, value: v }] });
      await log.append(b, readAllBatchInfos(b), { logAppendTime: false, leaderEpoch: 0 });
    }
    expect(log.tailCacheInfo().batches).toBe(4);
    const before = await log.read(0n, 1 << 20, { maxOffset: log.highWatermark(), minOneBatch: true });
    expect(before.batches).toHaveLength(4);
    now = Number(T) + 10_000_000;
    await cleaner().compactPartition(t, 0, POLICY);
    const after = await log.read(0n, 1 << 20, { maxOffset: log.highWatermark(), minOneBatch: true });
    expect(after.batches.flatMap((b) => decodeBatchRecords(b).map((r) => `${r.offset}:${r.key}=${r.value}`))).toEqual(['1:b=1', '2:a=2', '3:c=head']);
    expect(after).toEqual(await log.readFromMysql(0n, 1 << 20, log.highWatermark(), true));
  });

  it('a reader between chunks sees every key\'s latest record at its original offset, and only produced records', async () => {
    const t = await topic('cc-readers');
    const log = await testLogs(storage).getLog(t.topicId, 0);
    const produced = new Map<bigint, string>();
    for (let i = 0; i < 40; i++) {
      const b = buildRecordBatch({ records: [{ key: `k${i % 4}`, value: String(i), timestamp: T - 10_000n }] });
      const r = await log.append(b, readAllBatchInfos(b), { logAppendTime: false, leaderEpoch: 0 });
      produced.set(r.baseOffset, `k${i % 4}=${i}`);
    }
    const readAll = async () => {
      const out: string[] = [];
      let offset = 0n;
      while (offset < log.highWatermark()) {
        const r = await log.read(offset, 1 << 20, { maxOffset: log.highWatermark(), minOneBatch: true });
        for (const b of r.batches) {
          for (const rec of decodeBatchRecords(b)) out.push(`${rec.offset}:${rec.key}=${rec.value}`);
          offset = b.readBigInt64BE(0) + BigInt(b.readInt32BE(23)) + 1n;
        }
      }
      return out;
    };
    const seen: string[][] = [];
    now = Number(T);
    await cleaner({ chunkBatches: 7, afterChunk: async () => void seen.push(await readAll()) }).compactPartition(t, 0, POLICY);
    expect(seen.length).toBe(5); // offsets 0-34 in five chunks of 7 rows; 35-38 change nothing, so no sixth commit
    for (const view of seen) {
      for (const line of view) expect(produced.get(BigInt(line.split(':')[0]!))).toBe(line.split(':')[1]);
      // The latest of k0..k3 before the newest batch (35-38 hold k3, k0, k1, k2; 39 is k3, the head).
      for (const latest of ['35:k3=35', '36:k0=36', '37:k1=37', '38:k2=38', '39:k3=39']) expect(view).toContain(latest);
    }
    // After the second chunk, offsets 0-13 are compacted away and 14-39 are still there.
    expect(seen[1]).toEqual(Array.from({ length: 26 }, (_, i) => `${14 + i}:k${(14 + i) % 4}=${14 + i}`));
  });

  it('a failure between chunks leaves a consistent log and no checkpoint; the next run finishes', async () => {
    const t = await topic('cc-fail');
    const batches = [];
    for (let i = 0; i < 60; i++) batches.push(data([{ key: `k${i % 6}`, value: String(i) }]));
    await insert(t, batches);
    now = Number(T);
    const failing = cleaner({
      chunkBatches: 10,
      afterChunk: (_t, _p, n) => {
        if (n === 2) throw new Error('injected');
      },
    });
    const run = await failing.run([{ topic: t, policy: POLICY }]);
    expect(run.errors).toEqual([{ topic: 'cc-fail', partition: 0, error: 'injected' }]);
    const mid = await rows(t);
    // The first two chunks (offsets 0-19) lost their superseded records, the rest did not.
    expect(mid.map((r) => r.split(' ')[0])).toEqual(Array.from({ length: 40 }, (_, i) => `${20 + i}-${20 + i}`));
    const [cp] = await pool.query<RowDataPacket[]>('SELECT cleaned_upto FROM compaction_checkpoints WHERE topic_id = ?', [t.topicId]);
    expect(Number(cp[0]!.cleaned_upto)).toBe(0);
    expect(await cleaner().compactPartition(t, 0, POLICY)).toMatchObject({ cleanedUpto: 59n });
    // k5's latest (59) is the newest batch, never cleaned and not in the map, so k5@53 stays too.
    expect(await rows(t)).toEqual(['53-53 53:k5=53', '54-54 54:k0=54', '55-55 55:k1=55', '56-56 56:k2=56', '57-57 57:k3=57', '58-58 58:k4=58', '59-59 59:k5=59']);
  });
});
