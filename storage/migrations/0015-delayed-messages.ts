import type { Migration } from './types.js';

/**
 * Delayed delivery (storage/delayed/, docs/delayed.md), on every shard: the partitions' held
 * records in `delayed_messages`, one row per (topic, message id), indexed by (topic, partition,
 * due time) so the delivering broker reads due rows in pages by index; and a short record of
 * the ids delivered or cancelled in `delayed_done`, kept for the topic's retention so a late
 * cancel can answer what became of the message.
 */
export const migration: Migration = {
  version: 15,
  name: 'delayed-messages',
  scope: 'shard',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS delayed_messages (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      message_id VARBINARY(255) NOT NULL,
      partition_id INT NOT NULL,
      due_ms BIGINT NOT NULL,
      created_ms BIGINT NOT NULL,
      record_key MEDIUMBLOB NULL,
      record_value LONGBLOB NULL,
      record_headers MEDIUMBLOB NULL,
      PRIMARY KEY (topic_id, message_id),
      KEY delayed_due (topic_id, partition_id, due_ms)
    ) ENGINE=InnoDB`);
    await conn.query(`CREATE TABLE IF NOT EXISTS delayed_done (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      message_id VARBINARY(255) NOT NULL,
      partition_id INT NOT NULL,
      outcome TINYINT NOT NULL,
      offset_value BIGINT NOT NULL,
      due_ms BIGINT NOT NULL,
      done_ms BIGINT NOT NULL,
      PRIMARY KEY (topic_id, message_id),
      KEY delayed_done_age (topic_id, done_ms)
    ) ENGINE=InnoDB`);
  },
};
