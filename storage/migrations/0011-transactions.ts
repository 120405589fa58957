import type { Migration } from './types.js';

/**
 * Transaction coordinator state (storage/transaction-store.ts, docs/transactions.md), in the
 * metadata database: one row per transactional id (producer id and epoch, the previous ones for
 * KIP-360 retries, state, timeout, start time, the partitions and groups of the open
 * transaction as JSON), and the offsets a transaction committed (TxnOffsetCommit), moved into
 * group_offsets only when the transaction commits. Transactional ids are VARBINARY: exact bytes.
 */
export const migration: Migration = {
  version: 11,
  name: 'transactions',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS txn_state (
      transactional_id VARBINARY(1024) NOT NULL PRIMARY KEY,
      producer_id BIGINT NOT NULL,
      producer_epoch SMALLINT NOT NULL,
      last_producer_id BIGINT NOT NULL,
      last_producer_epoch SMALLINT NOT NULL,
      timeout_ms INT NOT NULL,
      state VARCHAR(24) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      txn_start_ms BIGINT NOT NULL,
      updated_ms BIGINT NOT NULL,
      partitions MEDIUMTEXT NOT NULL,
      groups_json MEDIUMTEXT NOT NULL,
      KEY ix_txn_state_producer (producer_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    await conn.query(`CREATE TABLE IF NOT EXISTS txn_offsets (
      transactional_id VARBINARY(1024) NOT NULL,
      group_id VARBINARY(1024) NOT NULL,
      topic_name VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      committed_offset BIGINT NOT NULL,
      leader_epoch INT NOT NULL DEFAULT -1,
      metadata TEXT NULL,
      commit_timestamp BIGINT NOT NULL,
      PRIMARY KEY (transactional_id, group_id, topic_name, partition_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
