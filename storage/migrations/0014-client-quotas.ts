import type { Migration } from './types.js';

/**
 * Client quotas (storage/quotas.ts): one row per (entity, quota key). An entity is Kafka's pair
 * of optional user and client-id components, each absent, a name, or the default; entity_key is a
 * SHA-256 of that pair because names may be longer than an index allows. quota_generation holds
 * one counter bumped with every change, so brokers poll one row to learn their cache is stale.
 */
export const migration: Migration = {
  version: 14,
  name: 'client-quotas',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS client_quotas (
      entity_key BINARY(32) NOT NULL,
      quota_name VARCHAR(64) NOT NULL,
      user_kind TINYINT NOT NULL,
      user_name BLOB NULL,
      client_kind TINYINT NOT NULL,
      client_name BLOB NULL,
      quota_value DOUBLE NOT NULL,
      PRIMARY KEY (entity_key, quota_name)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS quota_generation (
      id TINYINT NOT NULL,
      generation BIGINT NOT NULL,
      PRIMARY KEY (id)
    ) ENGINE=InnoDB`);
    await conn.query('INSERT IGNORE INTO quota_generation (id, generation) VALUES (1, 0)');
  },
};
