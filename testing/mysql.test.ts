import { describe, expect, it } from 'vitest';
import { connect } from '../storage/mysql.js';
import { createTestDatabase, dropTestDatabase, testServerUrl } from './mysql.js';

describe('test MariaDB support', () => {
  it('provides a server URL to workers, with the generated root password of the managed server', () => {
    expect(testServerUrl()).toMatch(/^mysql:\/\/root:[0-9a-f]{48}@127\.0\.0\.1:\d+\/kafka_mysql$/);
  });

  it('creates and drops a private database', async () => {
    const url = await createTestDatabase('support check');
    const name = new URL(url).pathname.slice(1);
    expect(name).toMatch(/^t_support_check_[0-9a-f]{12}$/);
    const conn = await connect(url);
    try {
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY)');
      await conn.query('INSERT INTO t VALUES (1), (2)');
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM t');
      expect(Number((rows as Array<{ n: string }>)[0]!.n)).toBe(2);
    } finally {
      await conn.end();
    }
    await dropTestDatabase(url);
    const check = await connect(url.replace(/\/[^/]*$/, '/'));
    try {
      const [rows] = await check.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
      expect(rows).toHaveLength(0);
    } finally {
      await check.end();
    }
  });
});
