import type { RowDataPacket } from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../../testing/mysql.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { createLogTableSql, logTableName } from '../../storage/schema.js';
import { testPools } from '../../storage/testing.js';
import { newTopicId } from '../../storage/topic-catalog.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { RetentionService } from './service.js';

const logger = pino({ level: 'silent' });

describe('retention service: orphan log-table sweep', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('retention_service');
    storage = await openStorage({ metadataUrl: url });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  const exists = async (table: string) => {
    const [rows] = await testPools(storage).metadataPool.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    return rows.length > 0;
  };
  const stray = async () => {
    const table = logTableName(newTopicId());
    await testPools(storage).metadataPool.query(createLogTableSql(table));
    return table;
  };

  it('log.orphan.table.grace.ms: 1 hour by default, 0 allowed, negative refused', () => {
    expect(loadConfig({ env: {} }).orphanTableGraceMs).toBe(3_600_000);
    expect(loadConfig({ env: { KAFKA_MYSQL_LOG_ORPHAN_TABLE_GRACE_MS: '0' } }).orphanTableGraceMs).toBe(0);
    expect(() => loadConfig({ env: {}, overrides: { 'log.orphan.table.grace.ms': -1 } })).toThrow(ConfigError);
  });

  it('each pass sweeps after retention: a dry run reports, a real run drops, the default grace keeps a young table', async () => {
    const topic = await storage.catalog.createTopic({ name: 'kept', partitions: 1, configs: {} });
    const table = await stray();

    const young = new RetentionService(storage, loadConfig({ env: {} }), logger);
    try {
      const pass = await young.runOnce();
      expect(pass.orphanTables).toMatchObject({ graceMs: 3_600_000, found: 0, dropped: 0, young: 1 });
      expect(await exists(table)).toBe(true);
    } finally {
      await young.shutdown();
    }

    const service = new RetentionService(storage, loadConfig({ env: {}, overrides: { 'log.orphan.table.grace.ms': 0 } }), logger);
    try {
      const dry = await service.runOnce({ dryRun: true });
      expect(dry.orphanTables).toMatchObject({ dryRun: true, found: 1, dropped: 0, tables: [{ table, dropped: false }] });
      expect(await exists(table)).toBe(true);

      const pass = await service.runOnce();
      expect(pass.errors).toEqual([]);
      expect(pass.partitions.map((p) => p.topic)).toEqual(['kept']);
      expect(pass.orphanTables).toMatchObject({ dryRun: false, found: 1, dropped: 1, tables: [{ shard: 0, table, dropped: true }], errors: [] });
      expect(await exists(table)).toBe(false);
      expect(await exists(logTableName(topic.topicId))).toBe(true);
    } finally {
      await service.shutdown();
    }
  });
});
