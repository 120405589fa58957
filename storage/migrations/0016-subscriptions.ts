import type { Migration } from './types.js';

/**
 * Push subscriptions (storage/subscriptions/store.ts, docs/subscriptions.md), in the metadata
 * database. `subscriptions`: one row per subscription, its definition as JSON and its state;
 * `version` is bumped with every change so brokers notice it. `subscription_leases`: one row per
 * (subscription, topic, partition), plus one per subscription with topic_id '' and partition -1
 * (which broker delivers it): the owner, an epoch bumped on every change of owner, the expiry
 * (MySQL's clock), and the committed offset (every record below it delivered, dead-lettered or
 * skipped). `subscription_records`: records whose state differs from what the committed offset
 * implies: waiting for a retry or re-pushed (pending), delivered above the committed offset,
 * dead-lettered (kept until retention removes the record). `subscription_attempts`: the log of
 * every delivery attempt.
 */
export const migration: Migration = {
  version: 16,
  name: 'subscriptions',
  scope: 'metadata',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS subscriptions (
      name VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      spec MEDIUMTEXT NOT NULL,
      state VARCHAR(16) CHARACTER SET ascii NOT NULL,
      version BIGINT NOT NULL,
      created_ms BIGINT NOT NULL,
      updated_ms BIGINT NOT NULL,
      PRIMARY KEY (name)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS subscription_leases (
      subscription VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      owner VARCHAR(100) CHARACTER SET ascii NOT NULL DEFAULT '',
      epoch BIGINT NOT NULL DEFAULT 0,
      expires_ms BIGINT NOT NULL DEFAULT 0,
      committed_offset BIGINT NOT NULL DEFAULT 0,
      updated_ms BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY (subscription, topic_id, partition_id)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS subscription_records (
      subscription VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      offset_value BIGINT NOT NULL,
      state VARCHAR(10) CHARACTER SET ascii NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      first_ms BIGINT NULL,
      next_ms BIGINT NOT NULL DEFAULT 0,
      last_status INT NULL,
      last_error VARCHAR(1000) NULL,
      updated_ms BIGINT NOT NULL,
      PRIMARY KEY (subscription, topic_id, partition_id, offset_value),
      KEY subscription_records_state (subscription, state, updated_ms)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS subscription_attempts (
      id BIGINT NOT NULL AUTO_INCREMENT,
      subscription VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      offset_value BIGINT NOT NULL,
      attempt INT NOT NULL,
      started_ms BIGINT NOT NULL,
      latency_ms INT NOT NULL,
      status INT NULL,
      outcome VARCHAR(10) CHARACTER SET ascii NOT NULL,
      error VARCHAR(1000) NULL,
      response VARCHAR(512) NULL,
      owner VARCHAR(100) CHARACTER SET ascii NOT NULL,
      PRIMARY KEY (id),
      KEY subscription_attempts_record (subscription, topic_id, partition_id, offset_value),
      KEY subscription_attempts_time (subscription, started_ms)
    ) ENGINE=InnoDB`);
  },
};
