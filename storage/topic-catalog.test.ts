import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { openStorage, type Storage } from './index.js';
import { logTableName } from './schema.js';

async function codeOf(p: Promise<unknown>): Promise<number> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KafkaError);
  return (err as KafkaError).code;
}

async function tableExists(storage: Storage, table: string): Promise<boolean> {
  const [rows] = await storage.shardPools[0]!.query(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  return (rows as unknown[]).length > 0;
}

describe('MysqlTopicCatalog', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('catalog');
    storage = await openStorage({ metadataUrl: url });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  it('creates a topic with a random id, configs and a log table', async () => {
    const t = await storage.catalog.createTopic({ name: 'orders.v1', partitions: 3, configs: { 'retention.ms': '1000' } });
    expect(t.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(t.partitionCount).toBe(3);
    expect(t.shardOfPartition).toEqual([0, 0, 0]);
    expect(t.configs).toEqual({ 'retention.ms': '1000' });
    expect(t.isInternal).toBe(false);
    expect(storage.catalog.getTopic('orders.v1')).toEqual(t);
    expect(storage.catalog.getTopicById(t.topicId)).toEqual(t);
    expect(await tableExists(storage, logTableName(t.topicId))).toBe(true);
    // Another instance sees the same after refresh.
    const other = await openStorage({ metadataUrl: url });
    try {
      expect(other.catalog.getTopic('orders.v1')).toEqual(t);
    } finally {
      await other.close();
    }
  });

  it('enforces Kafka topic name rules', async () => {
    for (const name of ['', '.', '..', 'a b', 'ünï', 'a/b', 'x'.repeat(250)]) {
      expect(await codeOf(storage.catalog.createTopic({ name, partitions: 1, configs: {} }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    }
    const ok = await storage.catalog.createTopic({ name: 'A-z_0.9' + 'x'.repeat(242), partitions: 1, configs: {} });
    expect(ok.name).toHaveLength(249);
  });

  it('rejects a partition count below one', async () => {
    expect(await codeOf(storage.catalog.createTopic({ name: 'nope', partitions: 0, configs: {} }))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(storage.catalog.createTopic({ name: 'nope', partitions: -3, configs: {} }))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(storage.catalog.getTopic('nope')).toBeUndefined();
  });

  it('rejects duplicates and names colliding on . versus _', async () => {
    await storage.catalog.createTopic({ name: 'dup', partitions: 1, configs: {} });
    expect(await codeOf(storage.catalog.createTopic({ name: 'dup', partitions: 2, configs: {} }))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    await storage.catalog.createTopic({ name: 'metric.name', partitions: 1, configs: {} });
    expect(await codeOf(storage.catalog.createTopic({ name: 'metric_name', partitions: 1, configs: {} }))).toBe(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
    // Names are case-sensitive.
    const upper = await storage.catalog.createTopic({ name: 'DUP', partitions: 1, configs: {} });
    expect(upper.name).toBe('DUP');
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
      const [rows] = await storage.shardPools[0]!.query(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'log\\_%'",
      );
      const [topics] = await storage.metadataPool.query('SELECT topic_id FROM topics');
      const expected = (topics as Array<{ topic_id: string }>).map((t) => logTableName(t.topic_id)).sort();
      expect((rows as Array<{ t: string }>).map((r) => r.t).sort()).toEqual(expected);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it('deletes a topic with its rows and table', async () => {
    const t = await storage.catalog.createTopic({ name: 'doomed', partitions: 2, configs: { a: 'b' } });
    const deleted = await storage.catalog.deleteTopic('doomed');
    expect(deleted.topicId).toBe(t.topicId);
    expect(storage.catalog.getTopic('doomed')).toBeUndefined();
    expect(storage.catalog.getTopicById(t.topicId)).toBeUndefined();
    expect(await tableExists(storage, logTableName(t.topicId))).toBe(false);
    for (const table of ['topics', 'partitions', 'topic_configs']) {
      const [rows] = await storage.metadataPool.query(`SELECT * FROM ${table} WHERE topic_id = ?`, [t.topicId]);
      expect(rows).toHaveLength(0);
    }
    expect(await codeOf(storage.catalog.deleteTopic('doomed'))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // The name is free again, with a new id.
    const again = await storage.catalog.createTopic({ name: 'doomed', partitions: 1, configs: {} });
    expect(again.topicId).not.toBe(t.topicId);
  });

  it('replaces topic configs', async () => {
    await storage.catalog.createTopic({ name: 'configured', partitions: 1, configs: { x: '1', y: '2' } });
    await storage.catalog.setTopicConfigs('configured', { y: '3', z: '4' });
    expect(storage.catalog.getTopic('configured')!.configs).toEqual({ y: '3', z: '4' });
    await storage.catalog.refresh();
    expect(storage.catalog.getTopic('configured')!.configs).toEqual({ y: '3', z: '4' });
    expect(await codeOf(storage.catalog.setTopicConfigs('missing', {}))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('adds partitions, never removes them', async () => {
    await storage.catalog.createTopic({ name: 'growing', partitions: 2, configs: {} });
    const grown = await storage.catalog.addPartitions('growing', 5);
    expect(grown.partitionCount).toBe(5);
    expect(grown.shardOfPartition).toHaveLength(5);
    expect(await codeOf(storage.catalog.addPartitions('growing', 5))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(storage.catalog.addPartitions('growing', 3))).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(await codeOf(storage.catalog.addPartitions('missing', 3))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await storage.catalog.refresh();
    expect(storage.catalog.getTopic('growing')!.partitionCount).toBe(5);
    const log = await storage.logs.getLog(grown.topicId, 4);
    expect(log.highWatermark()).toBe(0n);
  });

  it('creates internal topics when asked', async () => {
    const t = await storage.catalog.createTopic({ name: '__internal', partitions: 1, configs: {}, isInternal: true });
    expect(t.isInternal).toBe(true);
    await storage.catalog.refresh();
    expect(storage.catalog.getTopic('__internal')!.isInternal).toBe(true);
    expect(storage.catalog.listTopics().map((x) => x.name)).toContain('__internal');
  });
});
