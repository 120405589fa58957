import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignBatchOffsets } from '../codec/records/batch-header.js';
import { dropTestDatabase, createTestDatabase } from '../testing/mysql.js';
import { FrameSplitter } from '../server/net/frame-splitter.js';
import { openStorage, type Storage } from './index.js';
import { describePartitionLog, type PartitionLogHarness } from './partition-log.conformance.js';
import type { MysqlPartitionLog } from './partition-log.js';
import { buildTestBatch, readAllBatchInfos } from './testing.js';

/** Each log is partition 0 of a new topic in a private database. */
function mysqlHarness(tailCacheBytesPerPartition: number): () => Promise<PartitionLogHarness> {
  return async () => {
    const url = await createTestDatabase('plog');
    const storage: Storage = await openStorage({ metadataUrl: url, tailCacheBytesPerPartition });
    let n = 0;
    return {
      async newLog() {
        const topic = await storage.catalog.createTopic({ name: `conformance-${n++}`, partitions: 1, configs: {} });
        return storage.logs.getLog(topic.topicId, 0);
      },
      async close() {
        await storage.close();
        await dropTestDatabase(url);
      },
    };
  };
}

describePartitionLog('MySQL with tail cache', mysqlHarness(1 << 20));
describePartitionLog('MySQL without tail cache', mysqlHarness(0));

describe('MysqlPartitionLog: records handed over by the connection', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('plog_own');
    storage = await openStorage({ metadataUrl: url, tailCacheBytesPerPartition: 1 << 20 });
  });
  afterAll(async () => {
    await storage?.close();
    await dropTestDatabase(url);
  });

  const stored = (batch: Buffer, baseOffset: bigint): Buffer => {
    const copy = Buffer.from(batch);
    assignBatchOffsets(copy, baseOffset, 0);
    return copy;
  };

  it('keeps an assembled frame instead of copying it; stored bytes do not change with later socket reads', async () => {
    const topic = await storage.catalog.createTopic({ name: 'handed-over', partitions: 1, configs: {} });
    const log = (await storage.logs.getLog(topic.topicId, 0)) as MysqlPartitionLog;
    const batch = buildTestBatch({ values: Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i)) });
    const size = Buffer.alloc(4);
    size.writeInt32BE(batch.length);
    // Two frames whose payload is the batch, delivered as 16 KiB socket chunks.
    const stream = Buffer.concat([size, batch, size, batch]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 16_384) chunks.push(Buffer.from(stream.subarray(at, at + 16_384)));
    const splitter = new FrameSplitter(1 << 20);
    const frames: Buffer[] = [];
    let next = 0;
    while (frames.length === 0) frames.push(...splitter.push(chunks[next++]!));
    const records = frames[0]!;
    expect(splitter.ownsFrame(records)).toBe(true);
    const handedOver = { logAppendTime: false, leaderEpoch: 0, retainable: true };
    expect((await log.append(records, readAllBatchInfos(records), handedOver)).baseOffset).toBe(0n);
    // Kept, not copied: the offsets were written into the frame itself.
    expect(records.equals(stored(batch, 0n))).toBe(true);

    // A buffer not handed over (no retainable) is copied: the caller may write over it right after the append.
    const plain = Buffer.from(batch);
    const second = log.append(plain, readAllBatchInfos(plain), { logAppendTime: false, leaderEpoch: 0 });
    plain.fill(0xcc);
    expect((await second).baseOffset).toBe(40n);

    // Later socket reads: the rest of the stream arrives, then every chunk's memory is written over.
    while (next < chunks.length) frames.push(...splitter.push(chunks[next++]!));
    expect(frames).toHaveLength(2);
    for (const c of chunks) c.fill(0xee);

    const want = [stored(batch, 0n), stored(batch, 40n)].map((b) => b.toString('hex'));
    const cached = await log.read(0n, 1 << 20, { maxOffset: 80n, minOneBatch: true });
    expect(cached.batches.map((b) => b.toString('hex'))).toEqual(want);
    const fromMysql = await log.readFromMysql(0n, 1 << 20, 80n, true);
    expect(fromMysql.batches.map((b) => b.toString('hex'))).toEqual(want);
  });
});
