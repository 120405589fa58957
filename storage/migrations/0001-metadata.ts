import type { Migration } from './types.js';

/** Topics, their configs and partition placement, cluster identity, producer id allocation. */
export const migration: Migration = {
  version: 1,
  name: 'metadata tables',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS cluster_meta (
      meta_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
      meta_value VARCHAR(1024) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    // Topic names are ASCII by Kafka's rules and case-sensitive. canonical_name ('.' -> '_') is
    // unique because Kafka refuses topics whose names differ only in '.' vs '_' (metric names).
    await conn.query(`CREATE TABLE IF NOT EXISTS topics (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
      name VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      canonical_name VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_count INT NOT NULL,
      is_internal TINYINT NOT NULL DEFAULT 0,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      UNIQUE KEY uk_topics_name (name),
      UNIQUE KEY uk_topics_canonical_name (canonical_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await conn.query(`CREATE TABLE IF NOT EXISTS topic_configs (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      config_key VARCHAR(255) NOT NULL,
      config_value TEXT NULL,
      PRIMARY KEY (topic_id, config_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await conn.query(`CREATE TABLE IF NOT EXISTS partitions (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      shard INT NOT NULL,
      log_start_offset BIGINT NOT NULL DEFAULT 0,
      leader_epoch INT NOT NULL DEFAULT 0,
      PRIMARY KEY (topic_id, partition_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    // A one-row counter; allocation uses UPDATE ... LAST_INSERT_ID(expr), atomic on MySQL 8 and MariaDB.
    await conn.query(`CREATE TABLE IF NOT EXISTS producer_id_seq (
      id TINYINT NOT NULL PRIMARY KEY,
      next_id BIGINT NOT NULL
    ) ENGINE=InnoDB`);
    await conn.query('INSERT IGNORE INTO producer_id_seq (id, next_id) VALUES (1, 0)');
  },
};
