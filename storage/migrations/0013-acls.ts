import type { Migration } from './types.js';

/**
 * ACLs (storage/acls.ts): one row per ACL binding, keyed by a SHA-256 of its fields because
 * resource names and principals may be longer than an index allows. acl_generation holds one
 * counter bumped in the same transaction as every change, so brokers poll one row to learn that
 * their cached ACLs are stale.
 */
export const migration: Migration = {
  version: 13,
  name: 'acls',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS acls (
      acl_key BINARY(32) NOT NULL,
      resource_type TINYINT NOT NULL,
      resource_name BLOB NOT NULL,
      pattern_type TINYINT NOT NULL,
      principal BLOB NOT NULL,
      host BLOB NOT NULL,
      operation TINYINT NOT NULL,
      permission_type TINYINT NOT NULL,
      created_ms BIGINT NOT NULL,
      PRIMARY KEY (acl_key)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS acl_generation (
      id TINYINT NOT NULL,
      generation BIGINT NOT NULL,
      PRIMARY KEY (id)
    ) ENGINE=InnoDB`);
    await conn.query('INSERT IGNORE INTO acl_generation (id, generation) VALUES (1, 0)');
  },
};
