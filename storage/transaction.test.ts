import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { withTransaction } from './transaction.js';

describe('withTransaction', () => {
  let url: string;
  // One connection: a transaction that did not give its connection back blocks every later test.
  let pool: Pool;
  let handedOut: PoolConnection[];

  beforeAll(async () => {
    url = await createTestDatabase('transaction');
    pool = openTestPool(url, 1);
    await pool.query('CREATE TABLE items (id INT PRIMARY KEY) ENGINE=InnoDB');
  });
  afterAll(async () => {
    await pool?.end();
    await dropTestDatabase(url);
  });
  beforeEach(async () => {
    vi.restoreAllMocks();
    await pool.query('DELETE FROM items');
    handedOut = [];
    const getConnection = pool.getConnection.bind(pool);
    vi.spyOn(pool, 'getConnection').mockImplementation(async () => {
      const conn = await getConnection();
      vi.spyOn(conn, 'release');
      vi.spyOn(conn, 'destroy');
      handedOut.push(conn);
      return conn;
    });
  });

  async function storedIds(): Promise<number[]> {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM items ORDER BY id');
    return rows.map((r) => Number(r.id));
  }

  function onlyConnection(): PoolConnection {
    expect(handedOut).toHaveLength(1);
    return handedOut[0]!;
  }

  it('commits: the rows are visible to other statements and the result is returned', async () => {
    const result = await withTransaction(pool, async (conn) => {
      await conn.query('INSERT INTO items (id) VALUES (1), (2)');
      return 'done';
    });
    expect(result).toBe('done');
    const conn = onlyConnection();
    expect(conn.release).toHaveBeenCalledTimes(1);
    expect(conn.destroy).not.toHaveBeenCalled();
    expect(await storedIds()).toEqual([1, 2]);
  });

  it('rolls back when the work throws, rethrows that error and releases the connection', async () => {
    await pool.query('INSERT INTO items (id) VALUES (7)');
    const failure = new Error('work failed');
    const outcome = withTransaction(pool, async (conn) => {
      await conn.query('INSERT INTO items (id) VALUES (8)');
      await conn.query('DELETE FROM items WHERE id = 7');
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    const conn = onlyConnection();
    expect(conn.release).toHaveBeenCalledTimes(1);
    expect(conn.destroy).not.toHaveBeenCalled();
    expect(await storedIds()).toEqual([7]);
  });

  it('rolls back when the commit fails and rethrows the commit error', async () => {
    const commitFailure = new Error('commit failed');
    const outcome = withTransaction(pool, async (conn) => {
      vi.spyOn(conn, 'commit').mockRejectedValueOnce(commitFailure);
      await conn.query('INSERT INTO items (id) VALUES (3)');
    });
    await expect(outcome).rejects.toBe(commitFailure);
    expect(onlyConnection().release).toHaveBeenCalledTimes(1);
    expect(await storedIds()).toEqual([]);
  });

  it('rethrows the original error when the rollback fails too, and destroys the connection instead of reusing it', async () => {
    const failure = new Error('work failed');
    const outcome = withTransaction(pool, async (conn) => {
      vi.spyOn(conn, 'rollback').mockRejectedValueOnce(new Error('rollback failed'));
      await conn.query('INSERT INTO items (id) VALUES (4)');
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    const conn = onlyConnection();
    expect(conn.destroy).toHaveBeenCalledTimes(1);
    expect(conn.release).not.toHaveBeenCalled();
    // The pool hands out a fresh connection; the destroyed one's row 4 was never committed.
    await withTransaction(pool, async (next) => {
      await next.query('INSERT INTO items (id) VALUES (5)');
    });
    expect(await storedIds()).toEqual([5]);
  });
});
