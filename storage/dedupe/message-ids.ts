import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Connection } from 'mysql2/promise';
import { KafkaError } from '../../codec/error-codes.js';
import type { PendingAppend } from '../group-commit/types.js';
import type { AppendResult } from '../types.js';

/**
 * Message ids accepted on topics with message.id.header set (server/dedupe/): one row per
 * (topic, id) in the `message_ids` table of the shard holding the partition the record went
 * to, written in the group-commit transaction that appends the record (recordMessageIds,
 * called from group-commit step 4), so an id is stored iff its record is. Rows older than the
 * topic's dedupe window no longer count and are trimmed.
 *
 * The table is created on first use on each shard (CREATE TABLE IF NOT EXISTS), so brokers
 * whose topics never use the feature never have it.
 */
export const MAX_MESSAGE_ID_BYTES = 255;

export interface AcceptedMessageId {
  partition: number;
  offset: bigint;
}

/** What group-commit writes with an append: ids and their offsets relative to the append's first offset. */
export interface AppendMessageIds {
  ids: Buffer[];
  offsetDeltas: number[];
  /** The topic's message.id.dedupe.window.ms. */
  windowMs: number;
}

const CREATE = `CREATE TABLE IF NOT EXISTS message_ids (
  topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  message_id VARBINARY(${MAX_MESSAGE_ID_BYTES}) NOT NULL,
  partition_id INT NOT NULL,
  offset_value BIGINT NOT NULL,
  accepted_ms BIGINT NOT NULL,
  PRIMARY KEY (topic_id, message_id),
  KEY message_ids_age (topic_id, accepted_ms)
) ENGINE=InnoDB`;

export class MessageIdStore {
  private readonly created = new Map<number, Promise<void>>();

  constructor(private readonly poolOf: (shard: number) => Pool) {}

  /** Creates the shard's table once per process. */
  ensureTable(shard: number): Promise<void> {
    let p = this.created.get(shard);
    if (p === undefined) {
      p = this.poolOf(shard)
        .query(CREATE)
        .then(() => undefined);
      this.created.set(shard, p);
      p.catch(() => this.created.delete(shard));
    }
    return p;
  }

  /**
   * Which of `ids` were accepted on the topic since `sinceMs`, looked up on every shard in
   * `shards`. Rows of those ids older than that are deleted here (by primary key, outside any
   * append), so the append's INSERT of an id accepted again finds no row in its way.
   */
  async accepted(topicId: string, shards: readonly number[], ids: readonly Buffer[], sinceMs: number): Promise<Map<string, AcceptedMessageId>> {
    const found = new Map<string, AcceptedMessageId>();
    if (ids.length === 0) return found;
    await Promise.all(
      [...new Set(shards)].map(async (shard) => {
        await this.ensureTable(shard);
        for (let i = 0; i < ids.length; i += 1000) {
          const chunk = ids.slice(i, i + 1000);
          const [rows] = await this.poolOf(shard).query<RowDataPacket[]>(
            `SELECT message_id, partition_id, offset_value, accepted_ms FROM message_ids WHERE topic_id = ? AND message_id IN (${chunk.map(() => '?').join(', ')})`,
            [topicId, ...chunk],
          );
          const expired: Buffer[] = [];
          for (const r of rows) {
            if (Number(r.accepted_ms) < sinceMs) expired.push(r.message_id as Buffer);
            else found.set((r.message_id as Buffer).toString('hex'), { partition: r.partition_id as number, offset: BigInt(r.offset_value as string | number) });
          }
          if (expired.length > 0) {
            await this.poolOf(shard).query(
              `DELETE FROM message_ids WHERE topic_id = ? AND accepted_ms < ? AND message_id IN (${expired.map(() => '?').join(', ')})`,
              [topicId, sinceMs, ...expired],
            );
          }
        }
      }),
    );
    return found;
  }

  /** Drops a deleted topic's ids on those shards. */
  async dropTopic(shards: readonly number[], topicId: string): Promise<void> {
    for (const shard of new Set(shards)) {
      await this.ensureTable(shard);
      await this.poolOf(shard).query('DELETE FROM message_ids WHERE topic_id = ?', [topicId]);
    }
  }

  /** Deletes the topic's ids older than `beforeMs` on those shards, in chunks; returns how many. */
  async trim(topicId: string, shards: readonly number[], beforeMs: number): Promise<number> {
    let total = 0;
    for (const shard of new Set(shards)) {
      await this.ensureTable(shard);
      // READ COMMITTED: the range DELETE takes no gap locks that appends' INSERTs would wait for.
      const conn = await this.poolOf(shard).getConnection();
      try {
        for (;;) {
          await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
          const [res] = await conn.query('DELETE FROM message_ids WHERE topic_id = ? AND accepted_ms < ? LIMIT 10000', [topicId, beforeMs]);
          const n = (res as { affectedRows: number }).affectedRows;
          total += n;
          if (n < 10000) break;
        }
      } finally {
        conn.release();
      }
    }
    return total;
  }
}

/**
 * Group-commit step 4: the ids of one append whose first record got `baseOffset`, on the
 * append's transaction. A plain INSERT of new keys: it takes no gap locks, so concurrent
 * group-commit transactions of the lane never wait for each other here (expired rows of the
 * same ids were deleted by the produce-path lookup). An id accepted within the window by
 * another append meanwhile (a race the lookup could not see: another broker) makes it fail
 * with ER_DUP_ENTRY, which rolls the transaction back.
 */
export async function recordMessageIds(
  conn: Pick<Connection, 'query'>,
  topicId: string,
  partition: number,
  baseOffset: bigint,
  m: AppendMessageIds,
  nowMs: number,
): Promise<void> {
  if (m.ids.length === 0) return;
  const values: unknown[] = [];
  m.ids.forEach((id, i) => values.push(topicId, id, partition, (baseOffset + BigInt(m.offsetDeltas[i]!)).toString(), nowMs));
  await conn.query(`INSERT INTO message_ids (topic_id, message_id, partition_id, offset_value, accepted_ms) VALUES ${m.ids.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, values);
}

/**
 * Group-commit step 4 for the appends of `group` that carry message ids and were decided to
 * be written (`results[i]` an AppendResult that is not a producer retry). `onTable` is told
 * each append's log table before its statements, so a conflict fails only that table's appends.
 */
export async function recordGroupMessageIds(
  conn: Pick<Connection, 'query'>,
  group: readonly PendingAppend[],
  results: readonly (AppendResult | KafkaError)[],
  onTable: (table: string) => void,
): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < group.length; i++) {
    const p = group[i]!;
    const r = results[i];
    const m = p.options.messageIds;
    if (m === undefined || r === undefined || r instanceof KafkaError || r.duplicate === true) continue;
    onTable(p.target.table);
    await recordMessageIds(conn, p.target.topicId, p.target.partition, r.baseOffset, m, now);
  }
}
