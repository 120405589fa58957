import { createHash } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * The message index of topics with message.index.enable (docs/outbox.md, "Finding messages"): per record,
 * partition and offset by key (a 63-bit hash of it), by message id (the topic's
 * message.id.header) and by timestamp, in the `message_index` table of the shard holding the
 * partition, with each partition's indexed end in `message_index_progress`. Filled after the
 * fact from committed batches by the broker's indexer (server/message-index/indexer.ts), never
 * on the produce path; rows below the log start offset are deleted (retention). Both tables are
 * created on first use on each shard.
 */
export const MAX_INDEXED_ID_BYTES = 255;

export interface IndexEntry {
  offset: bigint;
  timestampMs: bigint;
  key: Buffer | null;
  messageId: Buffer | null;
}

export interface IndexQuery {
  key?: Buffer;
  messageId?: Buffer;
  fromMs?: number;
  toMs?: number;
}

export interface IndexedPosition {
  partition: number;
  offset: bigint;
  timestampMs: bigint;
}

const TABLES = [
  `CREATE TABLE IF NOT EXISTS message_index (
  topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  partition_id INT NOT NULL,
  offset_value BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  key_hash BIGINT NULL,
  message_id VARBINARY(${MAX_INDEXED_ID_BYTES}) NULL,
  PRIMARY KEY (topic_id, partition_id, offset_value),
  KEY message_index_key (topic_id, key_hash),
  KEY message_index_id (topic_id, message_id),
  KEY message_index_time (topic_id, timestamp_ms)
) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS message_index_progress (
  topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  partition_id INT NOT NULL,
  next_offset BIGINT NOT NULL,
  PRIMARY KEY (topic_id, partition_id)
) ENGINE=InnoDB`,
];

/** A key's 63-bit hash (SHA-256's first 8 bytes, sign bit cleared), as a decimal string for BIGINT. */
export function keyHash(key: Buffer): string {
  return (createHash('sha256').update(key).digest().readBigUInt64BE(0) & 0x7fffffffffffffffn).toString();
}

export class MessageIndexStore {
  private readonly created = new Map<number, Promise<void>>();

  constructor(private readonly poolOf: (shard: number) => Pool) {}

  ensureTables(shard: number): Promise<void> {
    let p = this.created.get(shard);
    if (p === undefined) {
      const pool = this.poolOf(shard);
      p = (async () => {
        for (const sql of TABLES) await pool.query(sql);
      })();
      this.created.set(shard, p);
      p.catch(() => this.created.delete(shard));
    }
    return p;
  }

  /** The offset the partition's index reaches (0 when never indexed). */
  async progress(shard: number, topicId: string, partition: number): Promise<bigint> {
    await this.ensureTables(shard);
    const [rows] = await this.poolOf(shard).query<RowDataPacket[]>('SELECT next_offset FROM message_index_progress WHERE topic_id = ? AND partition_id = ?', [topicId, partition]);
    return rows.length === 0 ? 0n : BigInt(rows[0]!.next_offset as string | number);
  }

  /** Writes entries and the partition's new end in one transaction (INSERT IGNORE: a re-run after a crash rewrites nothing). */
  async write(shard: number, topicId: string, partition: number, entries: readonly IndexEntry[], nextOffset: bigint): Promise<void> {
    await this.ensureTables(shard);
    const conn = await this.poolOf(shard).getConnection();
    try {
      await conn.query('BEGIN');
      for (let i = 0; i < entries.length; i += 1000) {
        const chunk = entries.slice(i, i + 1000);
        const values: unknown[] = [];
        for (const e of chunk) {
          const id = e.messageId !== null && e.messageId.length <= MAX_INDEXED_ID_BYTES ? e.messageId : null;
          values.push(topicId, partition, e.offset.toString(), e.timestampMs.toString(), e.key === null ? null : keyHash(e.key), id);
        }
        await conn.query(
          `INSERT IGNORE INTO message_index (topic_id, partition_id, offset_value, timestamp_ms, key_hash, message_id) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          values,
        );
      }
      await conn.query(
        'INSERT INTO message_index_progress (topic_id, partition_id, next_offset) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE next_offset = GREATEST(next_offset, VALUES(next_offset))',
        [topicId, partition, nextOffset.toString()],
      );
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** Deletes the partition's entries below `logStart` (retention, DeleteRecords), in chunks. */
  async trim(shard: number, topicId: string, partition: number, logStart: bigint): Promise<number> {
    await this.ensureTables(shard);
    let total = 0;
    for (;;) {
      const [res] = await this.poolOf(shard).query('DELETE FROM message_index WHERE topic_id = ? AND partition_id = ? AND offset_value < ? LIMIT 10000', [
        topicId,
        partition,
        logStart.toString(),
      ]);
      const n = (res as { affectedRows: number }).affectedRows;
      total += n;
      if (n < 10000) return total;
    }
  }

  /** Drops a deleted topic's entries and progress on those shards. */
  async dropTopic(shards: readonly number[], topicId: string): Promise<void> {
    for (const shard of new Set(shards)) {
      await this.ensureTables(shard);
      await this.poolOf(shard).query('DELETE FROM message_index WHERE topic_id = ?', [topicId]);
      await this.poolOf(shard).query('DELETE FROM message_index_progress WHERE topic_id = ?', [topicId]);
    }
  }

  /**
   * Positions matching exactly one of key, message id or time range [fromMs, toMs], over the
   * topic's shards, oldest first, at most `limit`. A key match is by hash: callers compare the
   * record's key.
   */
  async find(topicId: string, shards: readonly number[], q: IndexQuery, limit: number): Promise<IndexedPosition[]> {
    let where: string;
    let params: unknown[];
    if (q.key !== undefined) {
      where = 'key_hash = ?';
      params = [keyHash(q.key)];
    } else if (q.messageId !== undefined) {
      where = 'message_id = ?';
      params = [q.messageId];
    } else {
      where = 'timestamp_ms BETWEEN ? AND ?';
      params = [q.fromMs ?? 0, q.toMs ?? Number.MAX_SAFE_INTEGER];
    }
    const out: IndexedPosition[] = [];
    await Promise.all(
      [...new Set(shards)].map(async (shard) => {
        await this.ensureTables(shard);
        const [rows] = await this.poolOf(shard).query<RowDataPacket[]>(
          `SELECT partition_id, offset_value, timestamp_ms FROM message_index WHERE topic_id = ? AND ${where} ORDER BY timestamp_ms, partition_id, offset_value LIMIT ?`,
          [topicId, ...params, limit],
        );
        for (const r of rows) out.push({ partition: r.partition_id as number, offset: BigInt(r.offset_value as string | number), timestampMs: BigInt(r.timestamp_ms as string | number) });
      }),
    );
    out.sort((a, b) => (a.timestampMs !== b.timestampMs ? (a.timestampMs < b.timestampMs ? -1 : 1) : a.partition !== b.partition ? a.partition - b.partition : a.offset < b.offset ? -1 : 1));
    return out.slice(0, limit);
  }
}
