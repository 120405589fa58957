import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { ShardMap } from './shards.js';
import type { TopicRecord } from './types.js';

/**
 * Partition leadership in MySQL (several brokers, docs/cluster.md): each shard's
 * partition_leaders table (migration 5) holds the leader and leader epoch of the partitions
 * placed on it. The controller writes it here; every broker reads it when ZooKeeper says it
 * changed; the group-commit transaction checks it (group-commit/leader-epochs.ts).
 */

export interface LeaderRecord {
  topicId: string;
  partition: number;
  leaderId: number;
  leaderEpoch: number;
}

export interface LeaderChange {
  topic: TopicRecord;
  partition: number;
  leaderId: number;
}

export interface LeaderStore {
  /** Every partition's leader and epoch, from every shard. */
  readAll(): Promise<LeaderRecord[]>;
  /**
   * Gives each partition its new leader and bumps its epoch (0 for a partition never led), one
   * transaction per shard. The update waits for the appends in flight (they hold the row
   * shared); a transaction holding it longer than `fenceAfterMs` (a paused ex-leader) has its
   * connection killed, so a zombie can neither block the move nor commit after it.
   */
  assign(changes: LeaderChange[], fenceAfterMs?: number): Promise<LeaderRecord[]>;
  /** Forgets the rows of deleted topics. */
  forgetTopics(topicIds: string[]): Promise<void>;
}

const DEFAULT_FENCE_AFTER_MS = 1500;

export class MysqlLeaderStore implements LeaderStore {
  constructor(
    private readonly shards: ShardMap,
    private readonly logger?: Logger,
  ) {}

  private distinctPools(): Pool[] {
    return [...new Set(this.shards.shardPools)];
  }

  async readAll(): Promise<LeaderRecord[]> {
    const out = new Map<string, LeaderRecord>();
    for (const pool of this.distinctPools()) {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT topic_id, partition_id, leader_id, leader_epoch FROM partition_leaders');
      for (const r of rows) {
        out.set(`${r.topic_id}:${r.partition_id}`, {
          topicId: String(r.topic_id),
          partition: Number(r.partition_id),
          leaderId: Number(r.leader_id),
          leaderEpoch: Number(r.leader_epoch),
        });
      }
    }
    return [...out.values()];
  }

  async assign(changes: LeaderChange[], fenceAfterMs = DEFAULT_FENCE_AFTER_MS): Promise<LeaderRecord[]> {
    const byPool = new Map<Pool, LeaderChange[]>();
    for (const c of changes) {
      const shard = c.topic.shardOfPartition[c.partition] ?? 0;
      const pool = this.shards.pool(shard);
      let list = byPool.get(pool);
      if (!list) byPool.set(pool, (list = []));
      list.push(c);
    }
    const results: LeaderRecord[] = [];
    for (const [pool, list] of byPool) results.push(...(await this.assignOnPool(pool, list, fenceAfterMs)));
    return results;
  }

  private async assignOnPool(pool: Pool, changes: LeaderChange[], fenceAfterMs: number): Promise<LeaderRecord[]> {
    const conn = await pool.getConnection();
    let done = false;
    let fencer: NodeJS.Timeout | undefined;
    try {
      await conn.query('BEGIN');
      const values: (string | number)[] = [];
      for (const c of changes) values.push(c.topic.topicId, c.partition, c.leaderId);
      const threadId = (conn as unknown as { threadId: number }).threadId;
      // Kill whatever still holds the rows after fenceAfterMs: only a paused or cut-off writer does.
      const fence = () => {
        if (done) return;
        void this.killBlockers(pool, threadId).finally(() => {
          if (!done) fencer = setTimeout(fence, fenceAfterMs);
        });
      };
      fencer = setTimeout(fence, fenceAfterMs);
      await conn.query(
        `INSERT INTO partition_leaders (topic_id, partition_id, leader_id, leader_epoch) VALUES ${changes.map(() => '(?, ?, ?, 0)').join(', ')}
         ON DUPLICATE KEY UPDATE leader_id = VALUES(leader_id), leader_epoch = leader_epoch + 1`,
        values,
      );
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT topic_id, partition_id, leader_id, leader_epoch FROM partition_leaders WHERE ${changes.map(() => '(topic_id = ? AND partition_id = ?)').join(' OR ')}`,
        changes.flatMap((c) => [c.topic.topicId, c.partition]),
      );
      await conn.query('COMMIT');
      return rows.map((r) => ({
        topicId: String(r.topic_id),
        partition: Number(r.partition_id),
        leaderId: Number(r.leader_id),
        leaderEpoch: Number(r.leader_epoch),
      }));
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      done = true;
      clearTimeout(fencer);
      conn.release();
    }
  }

  /** Kills the connections whose transactions hold locks `threadId` waits for (MariaDB, then MySQL 8's performance_schema). */
  private async killBlockers(pool: Pool, threadId: number): Promise<void> {
    let ids: number[] = [];
    try {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT DISTINCT b.trx_mysql_thread_id AS id FROM information_schema.INNODB_LOCK_WAITS w
           JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
           JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
          WHERE r.trx_mysql_thread_id = ?`,
        [threadId],
      );
      ids = rows.map((r) => Number(r.id));
    } catch {
      try {
        const [rows] = await pool.query<RowDataPacket[]>(
          `SELECT DISTINCT bt.PROCESSLIST_ID AS id FROM performance_schema.data_lock_waits w
             JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
             JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
            WHERE rt.PROCESSLIST_ID = ?`,
          [threadId],
        );
        ids = rows.map((r) => Number(r.id));
      } catch (err) {
        this.logger?.warn({ err: (err as Error).message }, 'cannot list the transactions blocking a leader change');
      }
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id <= 0 || id === threadId) continue;
      this.logger?.warn({ connection: id }, 'fencing a writer that holds a partition being moved: killing its MySQL connection');
      await pool.query(`KILL CONNECTION ${id}`).catch((err: unknown) => {
        this.logger?.warn({ connection: id, err: (err as Error).message }, 'cannot kill the blocking connection');
      });
    }
  }

  async forgetTopics(topicIds: string[]): Promise<void> {
    if (topicIds.length === 0) return;
    for (const pool of this.distinctPools()) {
      await pool.query(`DELETE FROM partition_leaders WHERE topic_id IN (${topicIds.map(() => '?').join(', ')})`, topicIds);
    }
  }
}
