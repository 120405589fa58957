import { inject, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { testServerUrl } from '../testing/mysql.js';
import '../compat-tests/support/vitest-context.js';
import { createPool, formatMysqlUrl, parseMysqlUrl } from './mysql.js';

const socketPath = inject('mysqlSocketPath');

/** Rows around and beyond the 64 KiB slab, and many small ones, through a pool that reads in place. */
async function checkRoundTrip(url: string): Promise<void> {
  const pool = createPool(url, { connectionLimit: 2 });
  try {
    const [big] = await pool.query<RowDataPacket[]>(
      `SELECT CAST(REPEAT('ab', 1572864) AS BINARY) AS v, 1 AS n
       UNION ALL SELECT CAST(REPEAT('c', 65530) AS BINARY), 2
       UNION ALL SELECT CAST(REPEAT('d', 70000) AS BINARY), 3
       UNION ALL SELECT CAST('' AS BINARY), 4`,
    );
    expect(big.map((r) => (r.v as Buffer).length)).toEqual([3145728, 65530, 70000, 0]);
    expect((big[0]!.v as Buffer).equals(Buffer.from('ab'.repeat(1572864)))).toBe(true);
    expect((big[2]!.v as Buffer).every((b) => b === 0x64)).toBe(true);
    const [small] = await pool.query<RowDataPacket[]>('SELECT seq FROM seq_1_to_20000');
    expect(small).toHaveLength(20000);
    expect(small.every((r, i) => Number(r.seq) === i + 1)).toBe(true);
    // Both connections of the pool, concurrently.
    const both = await Promise.all([1, 2].map((k) => pool.query<RowDataPacket[]>('SELECT CAST(REPEAT(?, 300000) AS BINARY) AS v', [String(k)])));
    expect(both.map(([rows]) => (rows[0]!.v as Buffer).toString().slice(0, 3))).toEqual(['111', '222']);
  } finally {
    await pool.end();
  }
}

describe('mysql2 reading in place (storage/mysql-socket.ts)', () => {
  it('returns rows of 0 B to 3 MiB and 20,000 small rows intact over TCP', async () => {
    await checkRoundTrip(testServerUrl());
  });

  it.skipIf(socketPath === null)('returns the same over a Unix socket (skipped only with an external KAFKA_MYSQL_TEST_URL, which has no socket path)', async () => {
    await checkRoundTrip(formatMysqlUrl({ ...parseMysqlUrl(testServerUrl()), socketPath: socketPath! }));
  });
});
