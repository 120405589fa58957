import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type KafkaError } from '../codec/error-codes.js';
import { MemoryTopicCatalog } from '../testing/memory-topic-catalog.js';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { openStorage, type Storage } from './index.js';
import { logTableName } from './schema.js';
import { describeTopicCatalog } from './topic-catalog.conformance.js';

describeTopicCatalog('MySQL', async () => {
  const url = await createTestDatabase('catalog_conf');
  const storage = await openStorage({ metadataUrl: url });
  const sql = openTestPool(url, 1);
  return {
    async emptyCatalog() {
      for (const table of ['topic_configs', 'partitions', 'topics']) await sql.query(`DELETE FROM ${table}`);
      await storage.catalog.refresh();
      return storage.catalog;
    },
    async close() {
      await sql.end();
      await storage.close();
      await dropTestDatabase(url);
    },
  };
});

describeTopicCatalog('in-memory double (testing/memory-topic-catalog.ts)', async () => ({
  emptyCatalog: async () => new MemoryTopicCatalog(),
  close: async () => undefined,
}));

/** What only MySQL has: log tables, rows, other brokers on the same database. */
describe('MysqlTopicCatalog on MySQL', () => {
  let url: string;
  let storage: Storage;
  // The metadata database is also shard 0 (no shard URLs given).
  let sql: Pool;
  beforeAll(async () => {
    url = await createTestDatabase('catalog');
    storage = await openStorage({ metadataUrl: url });
    sql = openTestPool(url);
  });
  afterAll(async () => {
    await sql?.end();
    await storage?.close();
    await dropTestDatabase(url);
  });

  async function tableExists(table: string): Promise<boolean> {
    const [rows] = await sql.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    return rows.length > 0;
  }

  it('creates the log table with the topic, and another instance sees the topic after refresh', async () => {
    const t = await storage.catalog.createTopic({ name: 'orders.v1', partitions: 3, configs: { 'retention.ms': '1000' } });
    expect(await tableExists(logTableName(t.topicId))).toBe(true);
    const other = await openStorage({ metadataUrl: url });
    try {
      expect(other.catalog.getTopic('orders.v1')).toEqual(t);
    } finally {
      await other.close();
    }
  });

  it('lets exactly one of many concurrent creators win, leaving no stray tables', async () => {
    const others = await Promise.all([1, 2, 3].map(() => openStorage({ metadataUrl: url })));
    try {
      const attempts = [storage, ...others].flatMap((s) =>
        [0, 1].map(() => s.catalog.createTopic({ name: 'race', partitions: 2, configs: {} })),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as KafkaError).code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
      }
      const [rows] = await sql.query<RowDataPacket[]>(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'log\\_%'",
      );
      const [topics] = await sql.query<RowDataPacket[]>('SELECT topic_id FROM topics');
      const expected = topics.map((t) => logTableName(String(t.topic_id))).sort();
      expect(rows.map((r) => String(r.t)).sort()).toEqual(expected);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it('deletes a topic with its rows and table', async () => {
    const t = await storage.catalog.createTopic({ name: 'doomed', partitions: 2, configs: { a: 'b' } });
    const deleted = await storage.catalog.deleteTopic('doomed');
    expect(deleted.topicId).toBe(t.topicId);
    expect(await tableExists(logTableName(t.topicId))).toBe(false);
    for (const table of ['topics', 'partitions', 'topic_configs']) {
      const [rows] = await sql.query<RowDataPacket[]>(`SELECT * FROM ${table} WHERE topic_id = ?`, [t.topicId]);
      expect(rows).toHaveLength(0);
    }
  });

  it('gives added partitions an empty log', async () => {
    await storage.catalog.createTopic({ name: 'growing', partitions: 2, configs: {} });
    const grown = await storage.catalog.addPartitions('growing', 5);
    const [rows] = await sql.query<RowDataPacket[]>('SELECT partition_id FROM partitions WHERE topic_id = ? ORDER BY partition_id', [
      grown.topicId,
    ]);
    expect(rows.map((r) => Number(r.partition_id))).toEqual([0, 1, 2, 3, 4]);
    const log = await storage.logs.getLog(grown.topicId, 4);
    expect(log.highWatermark()).toBe(0n);
  });
});
