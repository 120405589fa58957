import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { MessageIdStore } from '../dedupe/message-ids.js';

/**
 * Held records of topics with delayed.delivery.enable (server/delayed/, docs/delayed.md), in
 * the shard of the partition each is bound for (migration 0015): `delayed_messages` holds them
 * until due, keyed by (topic, message id) and indexed by (topic, partition, due time);
 * `delayed_done` remembers which ids were delivered (with their offset) or cancelled, for the
 * topic's retention. The delivering broker claims due rows a page at a time with
 * SELECT ... FOR UPDATE SKIP LOCKED in a READ COMMITTED transaction, appends them, then
 * moves them to `delayed_done` in that same transaction; a cancel's DELETE of a claimed row
 * waits for it, so a cancel never reports "cancelled" for a record that was appended.
 */
export const MAX_DELAYED_ID_BYTES = 255;

export const enum DoneOutcome {
  DELIVERED = 1,
  CANCELLED = 2,
}

export interface HeldHeader {
  key: string;
  value: Buffer | null;
}

export interface HeldRecord {
  messageId: Buffer;
  partition: number;
  dueMs: number;
  createdMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeldHeader[];
}

export interface DeliveredId {
  messageId: Buffer;
  offset: bigint;
}

/** Due rows locked by one transaction: append them, then finish (or abort to leave them held). */
export interface DueClaim {
  rows: HeldRecord[];
  /** Of `rows`, those whose id is already in message_ids (appended before a crash), with its offset. */
  alreadyAppended: Map<string, bigint>;
  finish(delivered: readonly DeliveredId[], nowMs: number): Promise<void>;
  abort(): Promise<void>;
  /** Settles once finish or abort has released the connection (either way). */
  finished: Promise<void>;
}

export type CancelResult =
  | { status: 'cancelled'; partition: number; dueMs: number }
  | { status: 'delivered'; partition: number; offset: bigint; dueMs: number; doneMs: number }
  | { status: 'already-cancelled'; partition: number; dueMs: number; doneMs: number }
  | { status: 'not-found' };

export interface ListQuery {
  fromMs?: number;
  toMs?: number;
  partition?: number;
  limit: number;
}

/** Headers as stored: per header a 2-byte key length, the key, a 4-byte value length (-1: null), the value. */
export function encodeHeaders(headers: readonly HeldHeader[]): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) {
    const k = Buffer.from(h.key, 'utf8');
    const head = Buffer.allocUnsafe(6);
    head.writeUInt16BE(k.length, 0);
    head.writeInt32BE(h.value === null ? -1 : h.value.length, 2);
    parts.push(head.subarray(0, 2), k, head.subarray(2), h.value ?? Buffer.alloc(0));
  }
  return Buffer.concat(parts);
}

export function decodeHeaders(b: Buffer | null): HeldHeader[] {
  const out: HeldHeader[] = [];
  if (b === null) return out;
  for (let p = 0; p + 6 <= b.length; ) {
    const kl = b.readUInt16BE(p);
    const key = b.toString('utf8', p + 2, p + 2 + kl);
    p += 2 + kl;
    const vl = b.readInt32BE(p);
    p += 4;
    out.push({ key, value: vl < 0 ? null : b.subarray(p, p + vl) });
    if (vl > 0) p += vl;
  }
  return out;
}

function rowToHeld(r: RowDataPacket): HeldRecord {
  return {
    messageId: r.message_id as Buffer,
    partition: r.partition_id as number,
    dueMs: Number(r.due_ms),
    createdMs: Number(r.created_ms),
    key: (r.record_key as Buffer | null) ?? null,
    value: (r.record_value as Buffer | null) ?? null,
    headers: decodeHeaders((r.record_headers as Buffer | null) ?? null),
  };
}

const COLUMNS = 'message_id, partition_id, due_ms, created_ms, record_key, record_value, record_headers';

export class DelayedStore {
  constructor(
    private readonly poolOf: (shard: number) => Pool,
    private readonly messageIds: MessageIdStore,
  ) {}

  /**
   * Holds the records (all bound for partitions of one shard) in one INSERT IGNORE: an id
   * already held for the topic keeps its first row (a producer retry is acknowledged again,
   * not held twice). Resolves once committed.
   */
  async hold(shard: number, topicId: string, records: readonly HeldRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500);
      const values: unknown[] = [];
      for (const r of chunk) values.push(topicId, r.messageId, r.partition, r.dueMs, r.createdMs, r.key, r.value, encodeHeaders(r.headers));
      await this.poolOf(shard).query(
        `INSERT IGNORE INTO delayed_messages (topic_id, ${COLUMNS}) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        values,
      );
    }
  }

  /** The earliest due time held for the partition, or null when none. */
  async nextDue(shard: number, topicId: string, partition: number): Promise<number | null> {
    const [rows] = await this.poolOf(shard).query<RowDataPacket[]>('SELECT MIN(due_ms) AS due FROM delayed_messages WHERE topic_id = ? AND partition_id = ?', [topicId, partition]);
    const due = rows[0]?.due as string | number | null | undefined;
    return due === null || due === undefined ? null : Number(due);
  }

  /**
   * Locks up to `limit` rows of the partition due by `nowMs`, earliest first (rows locked by a
   * cancel in progress are skipped), and finds which of them a previous delivery appended
   * already (their id in message_ids: a crash between the append and finish). null when none is due.
   */
  async claimDue(shard: number, topicId: string, partition: number, nowMs: number, limit: number): Promise<DueClaim | null> {
    await this.messageIds.ensureTable(shard);
    const conn = await this.poolOf(shard).getConnection();
    let open = false;
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      open = true;
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT ${COLUMNS} FROM delayed_messages WHERE topic_id = ? AND partition_id = ? AND due_ms <= ? ORDER BY due_ms LIMIT ? FOR UPDATE SKIP LOCKED`,
        [topicId, partition, nowMs, limit],
      );
      if (rows.length === 0) {
        await conn.rollback();
        conn.release();
        return null;
      }
      const held = rows.map(rowToHeld);
      // One statement: ids already appended (message_ids, with their offset) and ids with an earlier
      // outcome in delayed_done (held again since), so finish deletes those only when there are any.
      // Neither can change before this transaction ends: a cancel waits for the rows locked above.
      const marks = held.map(() => '?').join(', ');
      const idList = held.map((h) => h.messageId);
      const [found] = await conn.query<RowDataPacket[]>(
        `SELECT message_id, offset_value, 0 AS done FROM message_ids WHERE topic_id = ? AND message_id IN (${marks})
         UNION ALL SELECT message_id, NULL, 1 FROM delayed_done WHERE topic_id = ? AND message_id IN (${marks})`,
        [topicId, ...idList, topicId, ...idList],
      );
      const alreadyAppended = new Map<string, bigint>();
      let doneBefore = 0;
      for (const f of found) {
        if (Number(f.done) === 1) doneBefore++;
        else alreadyAppended.set((f.message_id as Buffer).toString('hex'), BigInt(f.offset_value as string | number));
      }
      let settled = false;
      let markFinished!: () => void;
      const finished = new Promise<void>((resolve) => (markFinished = resolve));
      const settle = async (work: () => Promise<void>) => {
        if (settled) return;
        settled = true;
        try {
          await work();
        } catch (err) {
          conn.destroy();
          markFinished();
          throw err;
        }
        conn.release();
        markFinished();
      };
      return {
        rows: held,
        alreadyAppended,
        finished,
        finish: (delivered, doneMs) =>
          settle(async () => {
            if (delivered.length > 0) {
              const byId = new Map(held.map((h) => [h.messageId.toString('hex'), h]));
              const values: unknown[] = [];
              for (const d of delivered) {
                const h = byId.get(d.messageId.toString('hex'))!;
                values.push(topicId, d.messageId, partition, DoneOutcome.DELIVERED, d.offset.toString(), h.dueMs, doneMs);
              }
              // An id held again after an earlier outcome replaces it: DELETE then a plain INSERT, since
              // INSERT ... ON DUPLICATE KEY UPDATE takes gap locks that deadlock two partitions' moves.
              const ids = delivered.map((d) => d.messageId);
              if (doneBefore > 0) await conn.query(`DELETE FROM delayed_done WHERE topic_id = ? AND message_id IN (${ids.map(() => '?').join(', ')})`, [topicId, ...ids]);
              await conn.query(
                `INSERT INTO delayed_done (topic_id, message_id, partition_id, outcome, offset_value, due_ms, done_ms) VALUES ${delivered.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
                values,
              );
              await conn.query(`DELETE FROM delayed_messages WHERE topic_id = ? AND message_id IN (${delivered.map(() => '?').join(', ')})`, [topicId, ...delivered.map((d) => d.messageId)]);
            }
            await conn.commit();
          }),
        abort: () => settle(() => conn.rollback()),
      };
    } catch (err) {
      if (open) conn.destroy();
      else conn.release();
      throw err;
    }
  }

  /** Cancels the held record of that id (looked up on every shard of the topic), or says what became of it. */
  async cancel(shards: readonly number[], topicId: string, messageId: Buffer, nowMs: number): Promise<CancelResult> {
    for (const shard of new Set(shards)) {
      const conn = await this.poolOf(shard).getConnection();
      try {
        await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
        await conn.beginTransaction();
        // Waits for a delivery that claimed the row: afterwards the row is gone and delayed_done says delivered.
        const [rows] = await conn.query<RowDataPacket[]>('SELECT partition_id, due_ms FROM delayed_messages WHERE topic_id = ? AND message_id = ? FOR UPDATE', [topicId, messageId]);
        const row = rows[0];
        if (row !== undefined) {
          await conn.query('DELETE FROM delayed_messages WHERE topic_id = ? AND message_id = ?', [topicId, messageId]);
          await conn.query(
            `INSERT INTO delayed_done (topic_id, message_id, partition_id, outcome, offset_value, due_ms, done_ms) VALUES (?, ?, ?, ?, -1, ?, ?)
             ON DUPLICATE KEY UPDATE partition_id = VALUES(partition_id), outcome = VALUES(outcome), offset_value = -1, due_ms = VALUES(due_ms), done_ms = VALUES(done_ms)`,
            [topicId, messageId, row.partition_id, DoneOutcome.CANCELLED, row.due_ms, nowMs],
          );
          await conn.commit();
          conn.release();
          return { status: 'cancelled', partition: row.partition_id as number, dueMs: Number(row.due_ms) };
        }
        await conn.commit();
      } catch (err) {
        conn.destroy();
        throw err;
      }
      conn.release();
    }
    for (const shard of new Set(shards)) {
      const [rows] = await this.poolOf(shard).query<RowDataPacket[]>('SELECT partition_id, outcome, offset_value, due_ms, done_ms FROM delayed_done WHERE topic_id = ? AND message_id = ?', [topicId, messageId]);
      const r = rows[0];
      if (r === undefined) continue;
      const base = { partition: r.partition_id as number, dueMs: Number(r.due_ms), doneMs: Number(r.done_ms) };
      if (Number(r.outcome) === DoneOutcome.DELIVERED) return { status: 'delivered', offset: BigInt(r.offset_value as string | number), ...base };
      return { status: 'already-cancelled', ...base };
    }
    return { status: 'not-found' };
  }

  /**
   * Held records of the topic by due time (each partition read by its index, then merged):
   * at most `limit`, earliest first, due in [fromMs, toMs].
   */
  async list(shardOfPartition: readonly number[], topicId: string, q: ListQuery): Promise<HeldRecord[]> {
    const partitions = q.partition === undefined ? shardOfPartition.map((_, p) => p) : [q.partition];
    const all: HeldRecord[] = [];
    for (const p of partitions) {
      const shard = shardOfPartition[p];
      if (shard === undefined) continue;
      const [rows] = await this.poolOf(shard).query<RowDataPacket[]>(
        `SELECT ${COLUMNS} FROM delayed_messages WHERE topic_id = ? AND partition_id = ? AND due_ms >= ? AND due_ms <= ? ORDER BY due_ms LIMIT ?`,
        [topicId, p, q.fromMs ?? 0, q.toMs ?? Number.MAX_SAFE_INTEGER, q.limit],
      );
      all.push(...rows.map(rowToHeld));
    }
    all.sort((a, b) => a.dueMs - b.dueMs || a.partition - b.partition);
    return all.slice(0, q.limit);
  }

  /** Deletes the topic's delivered/cancelled records older than `beforeMs` (and its message ids as old), in chunks. */
  async trimDone(shards: readonly number[], topicId: string, beforeMs: number): Promise<number> {
    let total = 0;
    for (const shard of new Set(shards)) {
      for (;;) {
        const [res] = await this.poolOf(shard).query('DELETE FROM delayed_done WHERE topic_id = ? AND done_ms < ? LIMIT 10000', [topicId, beforeMs]);
        const n = (res as { affectedRows: number }).affectedRows;
        total += n;
        if (n < 10000) break;
      }
    }
    total += await this.messageIds.trim(topicId, shards, beforeMs);
    return total;
  }

  /** A deleted topic's held and done rows. */
  async dropTopic(shards: readonly number[], topicId: string): Promise<void> {
    for (const shard of new Set(shards)) {
      for (const table of ['delayed_messages', 'delayed_done']) {
        for (;;) {
          const [res] = await this.poolOf(shard).query(`DELETE FROM ${table} WHERE topic_id = ? LIMIT 10000`, [topicId]);
          if ((res as { affectedRows: number }).affectedRows < 10000) break;
        }
      }
    }
  }
}

