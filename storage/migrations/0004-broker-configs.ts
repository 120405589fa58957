import type { Migration } from './types.js';

/**
 * Dynamic broker configuration (AlterConfigs / IncrementalAlterConfigs on a broker resource):
 * one row per key and entity. entity '' is the cluster-wide default (Kafka's empty resource
 * name), otherwise a broker id in decimal. Every broker polls this table (storage/broker-configs.ts).
 */
export const migration: Migration = {
  version: 4,
  name: 'broker configs',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS broker_configs (
      entity VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      config_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      config_value TEXT NOT NULL,
      updated_ms BIGINT NOT NULL,
      PRIMARY KEY (entity, config_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
