import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import type { ShardMap } from './shards.js';

/**
 * The per-partition lock of the jobs that rewrite a partition's rows (retention, compaction):
 * a MySQL named lock (GET_LOCK on the metadata database) held on one connection for the
 * partition's whole run. One lock name per partition for both jobs, so they never work on a
 * partition at the same time, in one process or several (brokers, the CLI). A runner that dies
 * loses its connection and so its lock.
 */
export interface HeldPartitionLock {
  release(): Promise<void>;
}

const LOCK_PREFIX = 'kafka-mysql-retention:';
const databases = new WeakMap<ShardMap, Promise<string>>();

/** Takes the partition's lock, waiting up to waitSeconds; null when another runner holds it. */
export async function lockPartition(shards: ShardMap, topicId: string, partition: number, waitSeconds: number): Promise<HeldPartitionLock | null> {
  let database = databases.get(shards);
  if (!database) {
    database = shards.metadataPool.query<RowDataPacket[]>('SELECT DATABASE() AS db').then(([rows]) => String(rows[0]?.db ?? ''));
    databases.set(shards, database);
  }
  const db = await database;
  const name = LOCK_PREFIX + createHash('sha256').update(`${db}/${topicId}/${partition}`).digest('base64url').slice(0, 40);
  const conn = await shards.metadataPool.getConnection();
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [name, waitSeconds]);
    if (Number(rows[0]?.got) !== 1) {
      conn.release();
      return null;
    }
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return {
    async release() {
      try {
        await conn.query('SELECT RELEASE_LOCK(?)', [name]);
        conn.release();
      } catch {
        conn.destroy();
      }
    },
  };
}
