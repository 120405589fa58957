import { Writable } from 'node:stream';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { createArchiveTableSql } from './archive.js';
import { openStorage, type Storage } from './index.js';
import { sweepOrphanLogTables } from './orphan-tables.js';
import { createLogTableSql, logTableName } from './schema.js';
import { newTopicId } from './topic-catalog.js';
import { buildTestBatch, concatBatches, testCatalog, testPools } from './testing.js';

async function tables(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME');
  return rows.map((r) => String(r.t));
}

/** A table exactly like a topic's log table, for a topic id that is in no metadata. */
async function strayTable(pool: Pool): Promise<string> {
  const table = logTableName(newTopicId());
  await pool.query(createLogTableSql(table));
  return table;
}

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('orphan log table sweep', () => {
  let url: string;
  let url2: string;
  let storage: Storage;
  let shard0: Pool;
  let shard1: Pool;
  beforeAll(async () => {
    url = await createTestDatabase('orphans');
    url2 = await createTestDatabase('orphans_shard1');
    storage = await openStorage({ metadataUrl: url, shardUrls: [url, url2] });
    shard0 = testPools(storage).shardPools[0]!;
    shard1 = testPools(storage).shardPools[1]!;
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
    await dropTestDatabase(url2);
  });

  it('drops log tables no topic refers to on every shard, keeps live topics and look-alikes; a dry run only reports', async () => {
    const live = await storage.catalog.createTopic({ name: 'live', partitions: 2, configs: {} });
    expect(new Set(live.shardOfPartition)).toEqual(new Set([0, 1]));
    const liveTable = logTableName(live.topicId);
    // A deletion that died after committing the metadata: both shards keep the topic's tables.
    const deleted = await storage.catalog.createTopic({ name: 'half-deleted', partitions: 2, configs: {} });
    const deletedTable = logTableName(deleted.topicId);
    await shard0.query('DELETE FROM partitions WHERE topic_id = ?', [deleted.topicId]);
    await shard0.query('DELETE FROM topics WHERE topic_id = ?', [deleted.topicId]);
    // A creation that died before committing the metadata.
    const stray = await strayTable(shard1);
    await shard1.query(`INSERT INTO \`${stray}\` (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp,
      producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload) VALUES (0, 0, 0, 1, 0, 0, -1, -1, -1, 0, 0, 3, 'abc')`);

    const hex = logTableName(newTopicId()).slice('log_'.length);
    const lookAlikes = [`log_${hex}_archive`, 'log_x_archive', `logX${hex}`, `log_${hex.slice(1)}`, `log_${hex}0`];
    for (const t of lookAlikes) await shard0.query(createLogTableSql(t));
    await shard0.query(createArchiveTableSql());
    const view = logTableName(newTopicId());
    await shard0.query(`CREATE VIEW \`${view}\` AS SELECT 1 AS one`);
    const before0 = await tables(shard0);
    const before1 = await tables(shard1);
    for (const t of [...lookAlikes, 'log_archive', view, 'topics', 'partitions', 'topic_configs', liveTable, deletedTable]) expect(before0).toContain(t);

    const dry = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: testPools(storage).shardPools, graceMs: 0, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, graceMs: 0, found: 3, dropped: 0, young: 0, errors: [] });
    const strayId = Buffer.from(stray.slice('log_'.length), 'hex').toString('base64url');
    expect(dry.tables.map((t) => `${t.shard} ${t.table} ${t.topicId} ${t.dropped}`).sort()).toEqual(
      [`0 ${deletedTable} ${deleted.topicId} false`, `1 ${deletedTable} ${deleted.topicId} false`, `1 ${stray} ${strayId} false`].sort(),
    );
    expect(dry.bytes).toBe(dry.tables.reduce((n, t) => n + t.bytes, 0));
    expect(dry.bytes).toBeGreaterThan(0);
    for (const t of dry.tables) expect(Date.parse(t.createTime)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(await tables(shard0)).toEqual(before0);
    expect(await tables(shard1)).toEqual(before1);

    const { logger, lines } = captureLogger();
    const run = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: testPools(storage).shardPools, graceMs: 0, logger });
    expect(run).toMatchObject({ dryRun: false, found: 3, dropped: 3, errors: [] });
    expect(run.bytes).toBe(dry.bytes);
    expect(run.tables.every((t) => t.dropped)).toBe(true);
    expect(await tables(shard0)).toEqual(before0.filter((t) => t !== deletedTable));
    expect(await tables(shard1)).toEqual(before1.filter((t) => t !== deletedTable && t !== stray));
    const dropLogs = lines.filter((l) => l.msg === 'orphan log table dropped');
    expect(dropLogs).toHaveLength(3);
    expect(dropLogs.find((l) => l.table === stray)).toMatchObject({ shard: 1, table: stray, createTime: expect.any(String), bytes: expect.any(Number) });

    // The live topic still takes appends on both shards.
    for (const p of [0, 1]) {
      const { records, infos } = concatBatches([buildTestBatch({ values: ['still here'] })]);
      const log = await storage.logs.getLog(live.topicId, p);
      expect((await log.append(records, infos, { logAppendTime: false, leaderEpoch: 0 })).baseOffset).toBe(0n);
    }
    const again = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: testPools(storage).shardPools, graceMs: 0 });
    expect(again).toMatchObject({ found: 0, dropped: 0, bytes: 0, tables: [] });
  });

  it('keeps an orphan younger than the grace period', async () => {
    const stray = await strayTable(shard0);
    const kept = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: testPools(storage).shardPools, graceMs: 3_600_000 });
    expect(kept).toMatchObject({ found: 0, dropped: 0, bytes: 0, young: 1, tables: [], errors: [] });
    expect(await tables(shard0)).toContain(stray);

    const swept = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: testPools(storage).shardPools, graceMs: 0 });
    expect(swept.tables.map((t) => t.table)).toEqual([stray]);
    expect(await tables(shard0)).not.toContain(stray);
  });

  it('re-checks the metadata right before dropping: a topic that appeared after the listing keeps its table', async () => {
    const stray = await strayTable(shard0);
    const checked: string[] = [];
    const catalog = {
      // The first read knows every topic; the re-check answers as if the stray's topic had been created since.
      storedTopicIds: () => testCatalog(storage).storedTopicIds(),
      isTopicStored: async (topicId: string) => {
        checked.push(topicId);
        return true;
      },
    };
    const result = await sweepOrphanLogTables({ catalog, shardPools: testPools(storage).shardPools, graceMs: 0 });
    expect(result).toMatchObject({ found: 0, dropped: 0, tables: [], errors: [] });
    expect(checked.map(logTableName)).toEqual([stray]);
    expect(await tables(shard0)).toContain(stray);
    await shard0.query(`DROP TABLE \`${stray}\``);
  });

  it('reports a shard it cannot read as an error and still sweeps the others', async () => {
    const stray = await strayTable(shard0);
    const broken = { query: async () => Promise.reject(new Error('shard down')) } as unknown as Pool;
    const result = await sweepOrphanLogTables({ catalog: testCatalog(storage), shardPools: [shard0, broken], graceMs: 0 });
    expect(result.errors).toEqual([{ shard: 1, table: null, error: 'shard down' }]);
    expect(result.tables.map((t) => t.table)).toEqual([stray]);
    expect(await tables(shard0)).not.toContain(stray);
  });
});
