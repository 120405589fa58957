import type { Migration } from './types.js';

/**
 * Partition leadership when several brokers run (ZooKeeper, docs/cluster.md), on every shard:
 * one row per partition placed on the shard, with its leader broker and leader epoch. The
 * controller bumps the epoch on every change; the group-commit transaction reads the row with a
 * shared lock, so an append by a broker that lost leadership fails and the bump waits for the
 * appends in flight. A single broker without ZooKeeper never writes or reads it.
 */
export const migration: Migration = {
  version: 5,
  name: 'partition leaders',
  scope: 'shard',
  async up(conn) {
    await conn.query(`CREATE TABLE IF NOT EXISTS partition_leaders (
      topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      partition_id INT NOT NULL,
      leader_id INT NOT NULL,
      leader_epoch INT NOT NULL,
      PRIMARY KEY (topic_id, partition_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  },
};
