import type { Pool, PoolConnection } from 'mysql2/promise';

/**
 * Runs `work` in one transaction on a connection of `pool`: commits when it resolves, rolls
 * back when it (or the commit) throws, and rethrows that original error even if the rollback
 * fails too. The connection always leaves the caller: released to the pool, or destroyed when
 * the rollback failed (its transaction state is then unknown, so no one may reuse it).
 */
export async function withTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  let reusable = true;
  try {
    await conn.beginTransaction();
    const result = await work(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => {
      reusable = false;
    });
    throw err;
  } finally {
    if (reusable) conn.release();
    else conn.destroy();
  }
}
