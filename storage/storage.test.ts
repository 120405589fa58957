import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { openStorage, type Storage } from './index.js';
import { buildTestBatch, concatBatches, testLogs } from './testing.js';
import type { PartitionLog } from './types.js';

const OPTS = { logAppendTime: false, leaderEpoch: 0 };

function append(log: PartitionLog, values: string[]) {
  const { records, infos } = concatBatches([buildTestBatch({ values })]);
  return log.append(records, infos, OPTS);
}

async function codeOf(p: Promise<unknown>): Promise<number> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KafkaError);
  return (err as KafkaError).code;
}

describe('storage', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('storage');
    storage = await openStorage({ metadataUrl: url, tailCacheBytesPerPartition: 4096 });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  it('recovers the next offset and log start after close and reopen', async () => {
    const t = await storage.catalog.createTopic({ name: 'recover', partitions: 2, configs: {} });
    const log = await storage.logs.getLog(t.topicId, 1);
    await append(log, ['a', 'b']);
    await append(log, ['c']);
    await storage.logs.getLog(t.topicId, 1).then((l) => l.setLogStartOffset(1n));
    const second = await openStorage({ metadataUrl: url });
    try {
      const again = await second.logs.getLog(t.topicId, 1);
      expect(again.highWatermark()).toBe(3n);
      expect(again.logStartOffset()).toBe(1n);
      expect((await append(again, ['d'])).baseOffset).toBe(3n);
      const empty = await second.logs.getLog(t.topicId, 0);
      expect(empty.highWatermark()).toBe(0n);
      expect(second.clusterId).toBe(storage.clusterId);
    } finally {
      await second.close();
    }
  });

  it('answers tail reads from the cache exactly as MySQL does', async () => {
    const t = await storage.catalog.createTopic({ name: 'tail', partitions: 1, configs: {} });
    const log = await testLogs(storage).getLog(t.topicId, 0);
    for (let i = 0; i < 40; i++) await append(log, [`record-${i}-${'p'.repeat(i * 5)}`, `second-${i}`]);
    const hw = log.highWatermark();
    const info = log.tailCacheInfo();
    expect(info.bytes).toBeLessThanOrEqual(4096);
    expect(info.batches).toBeGreaterThan(0);
    expect(info.coveredFrom).toBeGreaterThan(0n); // older batches were evicted
    for (const [offset, maxBytes, minOne] of [
      [info.coveredFrom, 1 << 20, true],
      [info.coveredFrom + 1n, 500, true],
      [hw - 1n, 1, true],
      [hw - 3n, 1, false],
      [0n, 1 << 20, true],
      [5n, 300, true],
    ] as Array<[bigint, number, boolean]>) {
      const viaLog = await log.read(offset, maxBytes, { maxOffset: hw, minOneBatch: minOne });
      const viaMysql = await log.readFromMysql(offset, maxBytes, hw, minOne);
      expect(viaLog.bytes).toBe(viaMysql.bytes);
      expect(Buffer.concat(viaLog.batches).equals(Buffer.concat(viaMysql.batches))).toBe(true);
    }
  });

  it('moves the log start forward only, persisted, and refuses reads below it', async () => {
    const t = await storage.catalog.createTopic({ name: 'logstart', partitions: 1, configs: {} });
    const log = await storage.logs.getLog(t.topicId, 0);
    await append(log, ['0', '1', '2']);
    await append(log, ['3', '4']);
    expect(await log.setLogStartOffset(2n)).toBe(2n);
    expect(await log.setLogStartOffset(1n)).toBe(2n);
    expect(await codeOf(log.setLogStartOffset(6n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await codeOf(log.read(1n, 1 << 20, { maxOffset: 5n, minOneBatch: true }))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    // Offset 2 lies inside the first batch: that whole batch is returned.
    const r = await log.read(2n, 1 << 20, { maxOffset: 5n, minOneBatch: true });
    expect(r.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 3n]);
    expect((await append(log, ['5'])).logStartOffset).toBe(2n);
    const sql = openTestPool(url, 1);
    try {
      const [rows] = await sql.query<RowDataPacket[]>('SELECT log_start_offset AS s FROM partitions WHERE topic_id = ?', [t.topicId]);
      expect(String(rows[0]!.s)).toBe('2');
    } finally {
      await sql.end();
    }
    // The log start may reach the high watermark: the log is then empty.
    expect(await log.setLogStartOffset(6n)).toBe(6n);
    expect(await log.read(6n, 1 << 20, { maxOffset: 6n, minOneBatch: true })).toEqual({ batches: [], bytes: 0 });
  });

  it('shares one load between concurrent getLog calls', async () => {
    const t = await storage.catalog.createTopic({ name: 'shared-load', partitions: 1, configs: {} });
    const logs = await Promise.all(Array.from({ length: 10 }, () => storage.logs.getLog(t.topicId, 0)));
    for (const l of logs) expect(l).toBe(logs[0]);
  });

  it('rejects unknown topics and partitions', async () => {
    const t = await storage.catalog.createTopic({ name: 'known', partitions: 2, configs: {} });
    expect(await codeOf(storage.logs.getLog(t.topicId, 2))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(storage.logs.getLog(t.topicId, -1))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(storage.logs.getLog('AAAAAAAAAAAAAAAAAAAAAA', 0))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('serves logs of topics another broker created (catalog refresh on miss)', async () => {
    const other = await openStorage({ metadataUrl: url });
    try {
      const t = await storage.catalog.createTopic({ name: 'elsewhere', partitions: 1, configs: {} });
      expect(other.catalog.getTopic('elsewhere')).toBeUndefined();
      const log = await other.logs.getLog(t.topicId, 0);
      expect(log.highWatermark()).toBe(0n);
      expect(other.catalog.getTopic('elsewhere')?.topicId).toBe(t.topicId);
    } finally {
      await other.close();
    }
  });

  it('allocates unique producer ids across concurrent callers and instances', async () => {
    const other = await openStorage({ metadataUrl: url });
    try {
      const ids = await Promise.all([
        ...Array.from({ length: 20 }, () => storage.allocateProducerId()),
        ...Array.from({ length: 20 }, () => other.allocateProducerId()),
      ]);
      // The first 40 ids of a fresh database, each handed out once, whoever asked.
      expect([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
      // Later calls go on from there, one by one, on either instance.
      expect(await other.allocateProducerId()).toBe(40n);
      expect(await storage.allocateProducerId()).toBe(41n);
    } finally {
      await other.close();
    }
  });

  it('reports health with ping', async () => {
    expect(await storage.ping()).toBe(true);
  });
});

describe('storage with several shards', () => {
  const urls: string[] = [];
  let storage: Storage;
  let shardSql: Pool[];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) urls.push(await createTestDatabase(`shard${i}`));
    storage = await openStorage({ metadataUrl: urls[0]!, shardUrls: urls });
    shardSql = urls.map((u) => openTestPool(u, 1));
  });
  afterAll(async () => {
    await Promise.all(shardSql.map((p) => p.end()));
    await storage.close();
    for (const u of urls) await dropTestDatabase(u);
  });

  it('places partitions round-robin and keeps each shard’s data in its own database', async () => {
    const t = await storage.catalog.createTopic({ name: 'spread', partitions: 7, configs: {} });
    const start = t.shardOfPartition[0]!;
    expect(t.shardOfPartition).toEqual(Array.from({ length: 7 }, (_, p) => (start + p) % 3));
    const results = await Promise.all(
      Array.from({ length: 7 }, async (_, p) => {
        const log = await storage.logs.getLog(t.topicId, p);
        await append(log, [`p${p}`]);
        return append(log, [`p${p}-again`]);
      }),
    );
    for (const r of results) expect(r.baseOffset).toBe(1n);
    for (let s = 0; s < 3; s++) {
      const [rows] = await shardSql[s]!.query(
        `SELECT DISTINCT partition_id AS p FROM log_${Buffer.from(t.topicId, 'base64url').toString('hex')} ORDER BY p`,
      );
      const expected = Array.from({ length: 7 }, (_, p) => p).filter((p) => t.shardOfPartition[p] === s);
      expect((rows as Array<{ p: number }>).map((r) => r.p)).toEqual(expected);
    }
    expect(storage.logs.commitStats()).toHaveLength(3);
    const grown = await storage.catalog.addPartitions('spread', 9);
    expect(grown.shardOfPartition).toEqual(Array.from({ length: 9 }, (_, p) => (start + p) % 3));
    const log8 = await storage.logs.getLog(t.topicId, 8);
    expect((await append(log8, ['new'])).baseOffset).toBe(0n);
  });
});
