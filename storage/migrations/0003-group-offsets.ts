import type { Migration } from './types.js';

/**
 * Committed consumer-group offsets (storage/offset-store.ts). group_id is VARBINARY so ids
 * compare byte for byte (Kafka's are case- and space-sensitive); topic names are ASCII.
 * Times are milliseconds since the epoch; expire_timestamp is set only by OffsetCommit v2-v4
 * with an explicit retention time.
 */
export const migration: Migration = {
  version: 3,
  name: 'group offsets',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS group_offsets (
      group_id VARBINARY(1024) NOT NULL,
      topic_name VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      committed_offset BIGINT NOT NULL,
      leader_epoch INT NOT NULL DEFAULT -1,
      metadata TEXT NULL,
      commit_timestamp BIGINT NOT NULL,
      expire_timestamp BIGINT NULL,
      PRIMARY KEY (group_id, topic_name, partition_id),
      KEY ix_group_offsets_topic (topic_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
