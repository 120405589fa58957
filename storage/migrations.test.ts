import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { connect } from './mysql.js';
import { migrations, runMigrations, type Migration } from './migrations/index.js';

describe('migrations', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('migrate');
  });
  afterAll(async () => {
    await dropTestDatabase(url);
  });

  it('have unique versions', () => {
    expect(new Set(migrations.map((m) => m.version)).size).toBe(migrations.length);
  });

  it('apply once, concurrently or not', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map(() => runMigrations(url, 'metadata', migrations)));
    const metadataVersions = migrations.filter((m) => m.scope === 'metadata').map((m) => m.version).sort((a, b) => a - b);
    expect(runs.flat().sort((a, b) => a - b)).toEqual(metadataVersions);
    expect(await runMigrations(url, 'metadata', migrations)).toEqual([]);
    const shardRuns = await Promise.all([1, 2].map(() => runMigrations(url, 'shard', migrations)));
    expect(shardRuns.flat().length).toBe(migrations.filter((m) => m.scope === 'shard').length);
    const conn = await connect(url);
    try {
      const [rows] = await conn.query('SELECT scope, version FROM schema_migrations ORDER BY version');
      expect((rows as Array<{ scope: string; version: number }>).map((r) => r.version)).toEqual(
        migrations.map((m) => m.version).sort((a, b) => a - b),
      );
    } finally {
      await conn.end();
    }
  });

  it('apply a newly added migration after the existing ones, in version order', async () => {
    const order: number[] = [];
    const extra = (version: number): Migration => ({
      version,
      name: `test ${version}`,
      scope: 'metadata',
      async up(conn) {
        order.push(version);
        await conn.query(`CREATE TABLE IF NOT EXISTS extra_${version} (id INT PRIMARY KEY)`);
      },
    });
    const list = [...migrations, extra(1002), extra(1001)];
    expect(await runMigrations(url, 'metadata', list)).toEqual([1001, 1002]);
    expect(order).toEqual([1001, 1002]);
    expect(await runMigrations(url, 'metadata', list)).toEqual([]);
  });

  it('records nothing for a migration that fails, so it runs again', async () => {
    let calls = 0;
    const failing: Migration = {
      version: 2001,
      name: 'fails once',
      scope: 'metadata',
      async up(conn) {
        calls++;
        if (calls === 1) throw new Error('boom');
        await conn.query('SELECT 1');
      },
    };
    await expect(runMigrations(url, 'metadata', [...migrations, failing])).rejects.toThrow('boom');
    expect(await runMigrations(url, 'metadata', [...migrations, failing])).toEqual([2001]);
    expect(calls).toBe(2);
  });

  it('refuse duplicate versions', async () => {
    const dup: Migration = { version: 1, name: 'dup', scope: 'shard', up: async () => {} };
    await expect(runMigrations(url, 'shard', [...migrations, dup])).rejects.toThrow('duplicate migration version 1');
  });
});
