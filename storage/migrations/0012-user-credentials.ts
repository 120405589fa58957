import type { Migration } from './types.js';

/**
 * SASL credentials (storage/users.ts): one row per user and mechanism. SCRAM rows hold what
 * RFC 5802 lets a server keep (salt, iterations, StoredKey, ServerKey), never the password; a
 * PLAIN row holds a salted PBKDF2 hash of the password in stored_key and an empty server_key.
 */
export const migration: Migration = {
  version: 12,
  name: 'user credentials',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS user_credentials (
      user_name VARBINARY(1024) NOT NULL,
      mechanism VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      salt VARBINARY(255) NOT NULL,
      stored_key VARBINARY(255) NOT NULL,
      server_key VARBINARY(255) NOT NULL,
      iterations INT NOT NULL,
      updated_ms BIGINT NOT NULL,
      PRIMARY KEY (user_name, mechanism)
    ) ENGINE=InnoDB`);
  },
};
