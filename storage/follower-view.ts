import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { AbortedTxn } from './producer-state.js';

/**
 * A partition as a broker that does not lead it sees it (follower fetching, KIP-392). Storage
 * is shared, so such a broker reads the same rows as the leader; what it lacks is the leader's
 * in-memory state (next offset, producer state, tail cache), which is never updated on a
 * follower. Everything is therefore read from MySQL at each fetch, where the leader's commits
 * are the truth:
 * - high watermark: the last committed batch's last offset + 1 (a batch is visible only after
 *   the commit that acknowledged it, so this is never ahead of what the leader acknowledged,
 *   and never behind what the leader has exposed to consumers). On a shard with replicas that
 *   is the log end, which may hold commits no replica confirmed: the caller serves only what
 *   it knows confirmed (MysqlPartitionLog.readAsFollower);
 * - last stable offset (read_committed): the first transactional data batch at or after the
 *   fetch offset, below that high watermark, with no control batch (marker) of its producer
 *   after it; the high watermark when there is none. Only the range the consumer is about to
 *   read is looked at: a transaction that began before the fetch offset cannot still be open,
 *   or the consumer could not have passed its start;
 * - aborted transactions: the shard's txn_aborted rows, written in the same MySQL transaction
 *   as their ABORT marker.
 */
export interface FollowerView {
  highWatermark: bigint;
  lastStableOffset: bigint;
}

export async function readFollowerView(pool: Pool, quotedTable: string, partition: number, fetchOffset: bigint, logStart: bigint): Promise<FollowerView> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT last_offset FROM ${quotedTable} FORCE INDEX (idx_last_offset) WHERE partition_id = ? ORDER BY last_offset DESC LIMIT 1`,
    [partition],
  );
  const highWatermark = rows.length > 0 ? BigInt(rows[0]!.last_offset) + 1n : logStart;
  if (fetchOffset >= highWatermark) return { highWatermark, lastStableOffset: highWatermark };
  const [open] = await pool.query<RowDataPacket[]>(
    `SELECT MIN(d.base_offset) AS first FROM ${quotedTable} d
      WHERE d.partition_id = ? AND d.base_offset >= ? AND d.base_offset < ? AND d.is_transactional = 1 AND d.is_control = 0
        AND NOT EXISTS (SELECT 1 FROM ${quotedTable} c FORCE INDEX (idx_producer)
                         WHERE c.partition_id = d.partition_id AND c.producer_id = d.producer_id
                           AND c.base_offset > d.base_offset AND c.base_offset < ? AND c.is_control = 1)`,
    [partition, fetchOffset.toString(), highWatermark.toString(), highWatermark.toString()],
  );
  const first = open[0]?.first;
  const lastStableOffset = first === null || first === undefined ? highWatermark : BigInt(first);
  return { highWatermark, lastStableOffset };
}

/** Aborted transactions overlapping [from, to) from the shard's txn_aborted table. */
export async function readAbortedTransactions(pool: Pool, topicId: string, partition: number, from: bigint, to: bigint): Promise<AbortedTxn[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT producer_id, first_offset, last_offset FROM txn_aborted WHERE topic_id = ? AND partition_id = ? AND last_offset >= ? AND first_offset < ? ORDER BY first_offset',
    [topicId, partition, from.toString(), to.toString()],
  );
  return rows.map((r) => ({ producerId: BigInt(r.producer_id), firstOffset: BigInt(r.first_offset), lastOffset: BigInt(r.last_offset) }));
}
