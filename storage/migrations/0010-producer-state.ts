import type { RowDataPacket } from 'mysql2/promise';
import { PRODUCER_INDEX } from '../schema.js';
import { listLogTables } from './runner.js';
import type { Migration } from './types.js';

/**
 * Idempotent and transactional producers (docs/transactions.md), on every shard:
 * - idx_producer (partition_id, producer_id, base_offset) on each log table, so a partition
 *   that loads finds each producer's last batches without scanning the partition (new log
 *   tables get it from storage/schema.ts);
 * - txn_aborted: the aborted transactions of each partition (producer, first offset, abort
 *   marker offset), written in the group-commit transaction that writes the abort marker; Fetch
 *   lists them to read_committed consumers.
 * Re-runnable: the index is added only where information_schema does not show it.
 */
export const migration: Migration = {
  version: 10,
  name: 'producer state',
  scope: 'shard',
  async up(conn) {
    for (const table of await listLogTables(conn)) {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1',
        [table, PRODUCER_INDEX],
      );
      if (rows.length > 0) continue;
      await conn.query(`ALTER TABLE \`${table}\` ADD KEY ${PRODUCER_INDEX} (partition_id, producer_id, base_offset)`);
    }
    await conn.query(`CREATE TABLE IF NOT EXISTS txn_aborted (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      producer_id BIGINT NOT NULL,
      first_offset BIGINT NOT NULL,
      last_offset BIGINT NOT NULL,
      PRIMARY KEY (topic_id, partition_id, last_offset)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
