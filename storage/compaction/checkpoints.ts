import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Compaction's per-partition state in the metadata database (Kafka's cleaner-offset-checkpoint):
 * where the clean section ends, when each run first covered which offsets (marks, for the
 * tombstone horizon), when a kept tombstone or marker next becomes removable, and a generation
 * bumped by every committed chunk with the offset below which rows may have been rewritten, so
 * brokers (this one or others) drop cached batches of that range.
 *
 * The table is created on first use (as the archive table is), so compaction needs no
 * migration and a broker that never compacts never has it.
 */
export const CHECKPOINT_TABLE = 'compaction_checkpoints';

const CREATE_SQL = `CREATE TABLE IF NOT EXISTS \`${CHECKPOINT_TABLE}\` (
  topic_id VARCHAR(32) NOT NULL,
  partition_id INT NOT NULL,
  cleaned_upto BIGINT NOT NULL,
  marks TEXT NOT NULL,
  next_due_ms BIGINT NULL,
  rewritten_upto BIGINT NOT NULL,
  generation BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (topic_id, partition_id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin`;

export interface Checkpoint {
  cleanedUpto: bigint;
  marks: Array<[bigint, bigint]>;
  nextDueMs: bigint | null;
}

const created = new WeakSet<Pool>();

export async function ensureCheckpointTable(pool: Pool): Promise<void> {
  if (created.has(pool)) return;
  await pool.query(CREATE_SQL);
  created.add(pool);
}

export async function readCheckpoint(pool: Pool, topicId: string, partition: number): Promise<Checkpoint> {
  await ensureCheckpointTable(pool);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT cleaned_upto, marks, next_due_ms FROM \`${CHECKPOINT_TABLE}\` WHERE topic_id = ? AND partition_id = ?`,
    [topicId, partition],
  );
  const row = rows[0];
  if (!row) return { cleanedUpto: 0n, marks: [], nextDueMs: null };
  const marks = (JSON.parse(String(row.marks)) as Array<[string, string]>).map(([e, t]): [bigint, bigint] => [BigInt(e), BigInt(t)]);
  return { cleanedUpto: BigInt(row.cleaned_upto), marks, nextDueMs: row.next_due_ms === null ? null : BigInt(row.next_due_ms) };
}

/** A run finished: the new clean end, its marks and the next tombstone due time. */
export async function writeCheckpoint(pool: Pool, topicId: string, partition: number, c: Checkpoint, now: bigint): Promise<void> {
  const marks = JSON.stringify(c.marks.map(([e, t]) => [String(e), String(t)]));
  await pool.query(
    `INSERT INTO \`${CHECKPOINT_TABLE}\` (topic_id, partition_id, cleaned_upto, marks, next_due_ms, rewritten_upto, generation, updated_ms)
     VALUES (?, ?, ?, ?, ?, -1, 0, ?)
     ON DUPLICATE KEY UPDATE cleaned_upto = VALUES(cleaned_upto), marks = VALUES(marks), next_due_ms = VALUES(next_due_ms), updated_ms = VALUES(updated_ms)`,
    [topicId, partition, String(c.cleanedUpto), marks, c.nextDueMs === null ? null : String(c.nextDueMs), String(now)],
  );
}

/** A chunk committed: rows below `upTo` may have changed. */
export async function bumpGeneration(pool: Pool, topicId: string, partition: number, upTo: bigint, now: bigint): Promise<void> {
  await pool.query(
    `INSERT INTO \`${CHECKPOINT_TABLE}\` (topic_id, partition_id, cleaned_upto, marks, next_due_ms, rewritten_upto, generation, updated_ms)
     VALUES (?, ?, 0, '[]', NULL, ?, 1, ?)
     ON DUPLICATE KEY UPDATE rewritten_upto = GREATEST(rewritten_upto, VALUES(rewritten_upto)), generation = generation + 1, updated_ms = VALUES(updated_ms)`,
    [topicId, partition, String(upTo), String(now)],
  );
}

export interface Generation {
  topicId: string;
  partition: number;
  generation: bigint;
  rewrittenUpto: bigint;
}

/** Every partition's chunk generation (brokers compare them with what they last saw). */
export async function readGenerations(pool: Pool): Promise<Generation[]> {
  await ensureCheckpointTable(pool);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT topic_id, partition_id, generation, rewritten_upto FROM \`${CHECKPOINT_TABLE}\``);
  return rows.map((r) => ({
    topicId: String(r.topic_id),
    partition: Number(r.partition_id),
    generation: BigInt(r.generation),
    rewrittenUpto: BigInt(r.rewritten_upto),
  }));
}
