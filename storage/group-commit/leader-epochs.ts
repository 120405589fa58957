import type { RowDataPacket } from 'mysql2/promise';
import type { LogConnection } from './log-connection.js';
import type { PendingAppend } from './types.js';

/**
 * Fencing for several brokers (docs/cluster.md): inside the append transaction, the leader
 * epoch of each partition written is read from the shard's partition_leaders table with a
 * shared lock and compared with the epoch the append was made under. The controller's epoch
 * bump (storage/leaders.ts) waits for that lock, so a move takes effect between two
 * transactions, never inside one; an append made under an older epoch rolls back.
 */

/** Thrown from step 4 when some appends were made under a leader epoch that is no longer current. */
export class FencedAppends extends Error {
  constructor(readonly fenced: ReadonlySet<PendingAppend>) {
    super(`${fenced.size} append(s) made under a stale leader epoch`);
  }
}

export async function checkLeaderEpochs(conn: LogConnection, group: PendingAppend[]): Promise<void> {
  const wanted = new Map<string, { topicId: string; partition: number }>();
  for (const p of group) wanted.set(`${p.target.topicId}:${p.target.partition}`, { topicId: p.target.topicId, partition: p.target.partition });
  const params: (string | number)[] = [];
  for (const w of wanted.values()) params.push(w.topicId, w.partition);
  const [rows] = (await conn.queryConn.query(
    `SELECT topic_id, partition_id, leader_epoch FROM partition_leaders WHERE ${[...wanted.values()].map(() => '(topic_id = ? AND partition_id = ?)').join(' OR ')} LOCK IN SHARE MODE`,
    params,
  )) as [RowDataPacket[], unknown];
  const epochs = new Map<string, number>();
  for (const r of rows) epochs.set(`${r.topic_id}:${r.partition_id}`, Number(r.leader_epoch));
  const fenced = new Set<PendingAppend>();
  for (const p of group) {
    // A partition the controller has not assigned yet has no row: nobody may write it.
    if (epochs.get(`${p.target.topicId}:${p.target.partition}`) !== p.options.leaderEpoch) fenced.add(p);
  }
  if (fenced.size > 0) throw new FencedAppends(fenced);
}
