import type { Migration } from './types.js';

/**
 * Marks a database as a kafka-mysql shard. Log tables themselves are created per topic
 * (storage/schema.ts); a later shard migration that changes them iterates listLogTables().
 */
export const migration: Migration = {
  version: 2,
  name: 'shard marker',
  scope: 'shard',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS shard_meta (
      meta_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
      meta_value VARCHAR(1024) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
