import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { migrations, runMigrations } from '../storage/migrations/index.js';
import { connect, createPool, parseMysqlUrl, quoteIdent, withDatabase } from '../storage/mysql.js';
import { MysqlOffsetStore } from '../storage/offset-store.js';
import '../compat-tests/support/vitest-context.js';

/** URL of the test run's MariaDB (from the global setup). */
export function testServerUrl(): string {
  let url: string | undefined;
  try {
    url = inject('mysqlUrl');
  } catch {
    url = undefined;
  }
  url ??= process.env.KAFKA_MYSQL_TEST_URL;
  if (!url) throw new Error('no test MariaDB: run through vitest (compat-tests/support/global-setup.ts) or set KAFKA_MYSQL_TEST_URL');
  return url;
}

/** Creates a fresh, uniquely named database on the test server and returns its URL. */
export async function createTestDatabase(prefix: string): Promise<string> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  const name = `t_${clean}_${randomBytes(6).toString('hex')}`;
  const server = testServerUrl();
  const conn = await connect(withDatabase(server, ''));
  try {
    await conn.query(`CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return withDatabase(server, name);
}

/** Drops a database made by createTestDatabase. */
export async function dropTestDatabase(url: string): Promise<void> {
  const { database } = parseMysqlUrl(url);
  if (!database) return;
  const conn = await connect(withDatabase(url, ''));
  try {
    await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
  } finally {
    await conn.end();
  }
}

/** A small pool on a test database, for tests that read or write its tables directly. */
export function openTestPool(url: string, connectionLimit = 4): Pool {
  return createPool(url, { connectionLimit });
}

/** A fresh database with the metadata schema migrated, and an offset store on a small pool. */
export async function openTestOffsetStore(prefix: string): Promise<{ pool: Pool; store: MysqlOffsetStore; close(): Promise<void> }> {
  const url = await createTestDatabase(prefix);
  await runMigrations(url, 'metadata', migrations);
  const pool = createPool(url, { connectionLimit: 4 });
  return {
    pool,
    store: new MysqlOffsetStore(pool),
    async close() {
      await pool.end();
      await dropTestDatabase(url);
    },
  };
}
