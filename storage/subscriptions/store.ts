import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/**
 * Push subscriptions in the metadata database (tables of migration 0016; docs/subscriptions.md):
 * definitions, leases with the committed offset per (subscription, topic, partition), the state of
 * records that differ from the committed offset, and the attempt log. Times are milliseconds;
 * lease expiries use MySQL's clock (one clock for every broker), read with `now()`.
 *
 * Fencing: every progress write is one transaction that first updates the partition's lease row
 * WHERE owner and epoch are the writer's; when that matches nothing (the lease expired and another
 * broker took it, which bumped the epoch), the transaction is rolled back and the writer learns it
 * lost the partition.
 */
export type SubscriptionState = 'active' | 'paused' | 'retired';
export type RecordStateName = 'pending' | 'delivered' | 'dead';

export interface StoredSubscription {
  name: string;
  /** The definition as JSON text (server/subscriptions/definition.ts gives its shape). */
  spec: string;
  state: SubscriptionState;
  version: number;
  createdMs: number;
  updatedMs: number;
}

export interface LeaseRow {
  topicId: string;
  partition: number;
  owner: string;
  epoch: number;
  expiresMs: number;
  committed: bigint;
  updatedMs: number;
}

export interface RecordStateRow {
  offset: bigint;
  state: RecordStateName;
  attempts: number;
  firstMs: number | null;
  nextMs: number;
  lastStatus: number | null;
  lastError: string | null;
  updatedMs: number;
}

export interface AttemptRow {
  subscription: string;
  topicId: string;
  partition: number;
  offset: bigint;
  attempt: number;
  startedMs: number;
  latencyMs: number;
  /** HTTP status; null for a timeout or connection error. */
  status: number | null;
  /** delivered, retry, dead. */
  outcome: string;
  error: string | null;
  response: string | null;
  owner: string;
}

export interface AttemptQuery {
  subscription: string;
  topicId?: string;
  partition?: number;
  offset?: bigint;
  fromMs?: number;
  toMs?: number;
  limit: number;
}

/** SUBSCRIPTION_LEASE: the row saying which broker delivers the whole subscription. */
const SUB_TOPIC = '';
const SUB_PARTITION = -1;
const NOW_MS = 'CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)';

const big = (v: unknown): bigint => BigInt(String(v));
const num = (v: unknown): number => Number(v);

export class SubscriptionStore {
  constructor(private readonly pool: () => Pool) {}

  /** MySQL's clock in ms (lease expiries compare with it). */
  async now(): Promise<number> {
    const [rows] = await this.pool().query<RowDataPacket[]>(`SELECT ${NOW_MS} AS now_ms`);
    return num(rows[0]!.now_ms);
  }

  async list(): Promise<StoredSubscription[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>('SELECT name, spec, state, version, created_ms, updated_ms FROM subscriptions ORDER BY name');
    return rows.map(toSubscription);
  }

  async get(name: string): Promise<StoredSubscription | null> {
    const [rows] = await this.pool().query<RowDataPacket[]>('SELECT name, spec, state, version, created_ms, updated_ms FROM subscriptions WHERE name = ?', [name]);
    return rows.length === 0 ? null : toSubscription(rows[0]!);
  }

  /** Creates a subscription and its partitions' starting offsets; false when the name is taken. */
  async create(name: string, spec: string, state: SubscriptionState, starts: readonly { topicId: string; partition: number; offset: bigint }[]): Promise<boolean> {
    return this.tx(async (conn) => {
      const [res] = await conn.query<ResultSetHeader>(`INSERT IGNORE INTO subscriptions (name, spec, state, version, created_ms, updated_ms) VALUES (?, ?, ?, 1, ${NOW_MS}, ${NOW_MS})`, [name, spec, state]);
      if (res.affectedRows === 0) return false;
      // Leftovers of an earlier subscription of the same name would be taken for this one's progress.
      for (const table of ['subscription_leases', 'subscription_records', 'subscription_attempts']) await conn.query(`DELETE FROM ${table} WHERE subscription = ?`, [name]);
      for (const s of starts) {
        await conn.query('INSERT INTO subscription_leases (subscription, topic_id, partition_id, committed_offset) VALUES (?, ?, ?, ?)', [name, s.topicId, s.partition, s.offset.toString()]);
      }
      return true;
    });
  }

  /** Changes the state and/or the definition (version bumped); false when there is no such subscription. */
  async update(name: string, change: { state?: SubscriptionState; spec?: string }): Promise<boolean> {
    const sets: string[] = ['version = version + 1', `updated_ms = ${NOW_MS}`];
    const params: unknown[] = [];
    if (change.state !== undefined) sets.push('state = ?'), params.push(change.state);
    if (change.spec !== undefined) sets.push('spec = ?'), params.push(change.spec);
    const [res] = await this.pool().query<ResultSetHeader>(`UPDATE subscriptions SET ${sets.join(', ')} WHERE name = ?`, [...params, name]);
    return res.affectedRows > 0;
  }

  /** Every partition lease of a subscription (describe, lag). */
  async leases(name: string): Promise<LeaseRow[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      'SELECT topic_id, partition_id, owner, epoch, expires_ms, committed_offset, updated_ms FROM subscription_leases WHERE subscription = ? AND partition_id >= 0 ORDER BY topic_id, partition_id',
      [name],
    );
    return rows.map((r) => ({
      topicId: String(r.topic_id),
      partition: num(r.partition_id),
      owner: String(r.owner),
      epoch: num(r.epoch),
      expiresMs: num(r.expires_ms),
      committed: big(r.committed_offset),
      updatedMs: num(r.updated_ms),
    }));
  }

  /** The broker delivering the subscription, when its lease has not expired. */
  async subscriptionOwner(name: string): Promise<string | null> {
    const [rows] = await this.pool().query<RowDataPacket[]>(`SELECT owner FROM subscription_leases WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND expires_ms > ${NOW_MS}`, [
      name,
      SUB_TOPIC,
      SUB_PARTITION,
    ]);
    return rows.length === 0 || String(rows[0]!.owner) === '' ? null : String(rows[0]!.owner);
  }

  /** Takes (or keeps) the subscription's lease for `owner`; true when it holds it now. */
  async acquireSubscription(name: string, owner: string, leaseMs: number): Promise<boolean> {
    await this.pool().query('INSERT IGNORE INTO subscription_leases (subscription, topic_id, partition_id) VALUES (?, ?, ?)', [name, SUB_TOPIC, SUB_PARTITION]);
    const [res] = await this.pool().query<ResultSetHeader>(
      `UPDATE subscription_leases SET epoch = IF(owner = ?, epoch, epoch + 1), owner = ?, expires_ms = ${NOW_MS} + ? WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND (owner = ? OR expires_ms <= ${NOW_MS})`,
      [owner, owner, leaseMs, name, SUB_TOPIC, SUB_PARTITION, owner],
    );
    return res.affectedRows > 0;
  }

  /**
   * Takes a partition's lease when it is free or expired (the epoch moves on, fencing the previous
   * owner's writes); a missing row starts at `initial`. Null when another owner holds it.
   */
  async acquirePartition(name: string, topicId: string, partition: number, owner: string, leaseMs: number, initial: bigint): Promise<{ epoch: number; committed: bigint } | null> {
    await this.pool().query('INSERT IGNORE INTO subscription_leases (subscription, topic_id, partition_id, committed_offset) VALUES (?, ?, ?, ?)', [name, topicId, partition, initial.toString()]);
    const [res] = await this.pool().query<ResultSetHeader>(
      `UPDATE subscription_leases SET epoch = epoch + 1, owner = ?, expires_ms = ${NOW_MS} + ? WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND (owner = '' OR expires_ms <= ${NOW_MS})`,
      [owner, leaseMs, name, topicId, partition],
    );
    if (res.affectedRows === 0) return null;
    const [rows] = await this.pool().query<RowDataPacket[]>('SELECT epoch, committed_offset, owner FROM subscription_leases WHERE subscription = ? AND topic_id = ? AND partition_id = ?', [name, topicId, partition]);
    const r = rows[0];
    if (!r || String(r.owner) !== owner) return null;
    return { epoch: num(r.epoch), committed: big(r.committed_offset) };
  }

  /** Extends every lease `owner` holds of the subscription; resolves how many rows it still holds. */
  async renew(name: string, owner: string, leaseMs: number): Promise<number> {
    const [res] = await this.pool().query<ResultSetHeader>(`UPDATE subscription_leases SET expires_ms = ${NOW_MS} + ? WHERE subscription = ? AND owner = ? AND expires_ms > ${NOW_MS}`, [
      leaseMs,
      name,
      owner,
    ]);
    return res.affectedRows;
  }

  /** Gives up `owner`'s leases of the subscription (stopped, paused): another broker may take them at once. */
  async release(name: string, owner: string): Promise<void> {
    await this.pool().query("UPDATE subscription_leases SET owner = '', expires_ms = 0 WHERE subscription = ? AND owner = ?", [name, owner]);
  }

  /** The record states of one partition from `from` on (loaded with the lease). */
  async recordStates(name: string, topicId: string, partition: number, from: bigint, to: bigint | null = null, limit = 100_000): Promise<RecordStateRow[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      `SELECT offset_value, state, attempts, first_ms, next_ms, last_status, last_error, updated_ms FROM subscription_records
       WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND offset_value >= ?${to === null ? '' : ' AND offset_value < ?'} ORDER BY offset_value LIMIT ?`,
      to === null ? [name, topicId, partition, from.toString(), limit] : [name, topicId, partition, from.toString(), to.toString(), limit],
    );
    return rows.map(toRecordState);
  }

  /** Pending records below `below` (re-pushed), oldest first. */
  async pendingBelow(name: string, topicId: string, partition: number, below: bigint, limit: number): Promise<RecordStateRow[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      `SELECT offset_value, state, attempts, first_ms, next_ms, last_status, last_error, updated_ms FROM subscription_records
       WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND state = 'pending' AND offset_value < ? ORDER BY offset_value LIMIT ?`,
      [name, topicId, partition, below.toString(), limit],
    );
    return rows.map(toRecordState);
  }

  /** Another subscription's view of one partition (`after:`): its committed offset and its record states in [from, to). */
  async dependencyView(name: string, topicId: string, partition: number, from: bigint, to: bigint): Promise<{ committed: bigint; states: RecordStateRow[] }> {
    const [rows] = await this.pool().query<RowDataPacket[]>('SELECT committed_offset FROM subscription_leases WHERE subscription = ? AND topic_id = ? AND partition_id = ?', [
      name,
      topicId,
      partition,
    ]);
    const committed = rows.length === 0 ? -1n : big(rows[0]!.committed_offset);
    const states = await this.recordStates(name, topicId, partition, from, to, 10_000);
    return { committed, states };
  }

  /**
   * One fenced progress write: the committed offset, record states to upsert, and the delivered
   * rows below the committed offset (no longer needed) deleted. False when the lease is lost.
   */
  async commitProgress(
    name: string,
    topicId: string,
    partition: number,
    owner: string,
    epoch: number,
    committed: bigint,
    states: readonly (Omit<RecordStateRow, 'updatedMs'> & { remove?: boolean })[],
  ): Promise<boolean> {
    return this.tx(async (conn) => {
      const [res] = await conn.query<ResultSetHeader>(
        `UPDATE subscription_leases SET committed_offset = GREATEST(committed_offset, ?), updated_ms = ${NOW_MS} WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND owner = ? AND epoch = ?`,
        [committed.toString(), name, topicId, partition, owner, epoch],
      );
      if (res.affectedRows === 0) return false;
      const upserts = states.filter((s) => !s.remove);
      for (let i = 0; i < upserts.length; i += 500) {
        const chunk = upserts.slice(i, i + 500);
        const values: unknown[] = [];
        for (const s of chunk) values.push(name, topicId, partition, s.offset.toString(), s.state, s.attempts, s.firstMs, s.nextMs, s.lastStatus, s.lastError?.slice(0, 1000) ?? null);
        await conn.query(
          `INSERT INTO subscription_records (subscription, topic_id, partition_id, offset_value, state, attempts, first_ms, next_ms, last_status, last_error, updated_ms) VALUES ${chunk.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS})`).join(', ')}
           ON DUPLICATE KEY UPDATE state = VALUES(state), attempts = VALUES(attempts), first_ms = VALUES(first_ms), next_ms = VALUES(next_ms), last_status = VALUES(last_status), last_error = VALUES(last_error), updated_ms = VALUES(updated_ms)`,
          values,
        );
      }
      const removed = states.filter((s) => s.remove).map((s) => s.offset.toString());
      for (let i = 0; i < removed.length; i += 1000) {
        const chunk = removed.slice(i, i + 1000);
        await conn.query(`DELETE FROM subscription_records WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND offset_value IN (${chunk.map(() => '?').join(', ')})`, [name, topicId, partition, ...chunk]);
      }
      await conn.query("DELETE FROM subscription_records WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND state = 'delivered' AND offset_value < ?", [
        name,
        topicId,
        partition,
        committed.toString(),
      ]);
      return true;
    });
  }

  async insertAttempts(rows: readonly AttemptRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const values: unknown[] = [];
      for (const a of chunk) {
        values.push(a.subscription, a.topicId, a.partition, a.offset.toString(), a.attempt, a.startedMs, a.latencyMs, a.status, a.outcome, a.error?.slice(0, 1000) ?? null, a.response?.slice(0, 512) ?? null, a.owner);
      }
      await this.pool().query(
        `INSERT INTO subscription_attempts (subscription, topic_id, partition_id, offset_value, attempt, started_ms, latency_ms, status, outcome, error, response, owner) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        values,
      );
    }
  }

  /** Attempts of a subscription, per record (topic, partition, offset) and/or time range, newest first. */
  async attempts(q: AttemptQuery): Promise<AttemptRow[]> {
    const where = ['subscription = ?'];
    const params: unknown[] = [q.subscription];
    if (q.topicId !== undefined) where.push('topic_id = ?'), params.push(q.topicId);
    if (q.partition !== undefined) where.push('partition_id = ?'), params.push(q.partition);
    if (q.offset !== undefined) where.push('offset_value = ?'), params.push(q.offset.toString());
    if (q.fromMs !== undefined) where.push('started_ms >= ?'), params.push(q.fromMs);
    if (q.toMs !== undefined) where.push('started_ms <= ?'), params.push(q.toMs);
    const [rows] = await this.pool().query<RowDataPacket[]>(
      `SELECT subscription, topic_id, partition_id, offset_value, attempt, started_ms, latency_ms, status, outcome, error, response, owner FROM subscription_attempts WHERE ${where.join(' AND ')} ORDER BY started_ms DESC, id DESC LIMIT ?`,
      [...params, q.limit],
    );
    return rows.map((r) => ({
      subscription: String(r.subscription),
      topicId: String(r.topic_id),
      partition: num(r.partition_id),
      offset: big(r.offset_value),
      attempt: num(r.attempt),
      startedMs: num(r.started_ms),
      latencyMs: num(r.latency_ms),
      status: r.status === null ? null : num(r.status),
      outcome: String(r.outcome),
      error: r.error === null ? null : String(r.error),
      response: r.response === null ? null : String(r.response),
      owner: String(r.owner),
    }));
  }

  /** Marks [from, to) of a partition for delivery again (pending, attempts reset); resolves how many rows. */
  async repushRange(name: string, topicId: string, partition: number, from: bigint, to: bigint): Promise<number> {
    let n = 0;
    for (let start = from; start < to; start += 1000n) {
      const end = start + 1000n < to ? start + 1000n : to;
      const values: unknown[] = [];
      const marks: string[] = [];
      for (let o = start; o < end; o++) {
        values.push(name, topicId, partition, o.toString());
        marks.push(`(?, ?, ?, ?, 'pending', 0, NULL, 0, ${NOW_MS})`);
      }
      await this.pool().query(
        `INSERT INTO subscription_records (subscription, topic_id, partition_id, offset_value, state, attempts, first_ms, next_ms, updated_ms) VALUES ${marks.join(', ')}
         ON DUPLICATE KEY UPDATE state = 'pending', attempts = 0, first_ms = NULL, next_ms = 0, updated_ms = VALUES(updated_ms)`,
        values,
      );
      n += Number(end - start);
    }
    return n;
  }

  /** Marks every record dead-lettered since `sinceMs` for delivery again; resolves how many. */
  async repushDead(name: string, sinceMs: number): Promise<number> {
    const [res] = await this.pool().query<ResultSetHeader>(
      `UPDATE subscription_records SET state = 'pending', attempts = 0, first_ms = NULL, next_ms = 0, updated_ms = ${NOW_MS} WHERE subscription = ? AND state = 'dead' AND updated_ms >= ?`,
      [name, sinceMs],
    );
    return res.affectedRows;
  }

  /** Counts of record states (describe). */
  async stateCounts(name: string): Promise<Record<RecordStateName, number>> {
    const [rows] = await this.pool().query<RowDataPacket[]>('SELECT state, COUNT(*) AS n FROM subscription_records WHERE subscription = ? GROUP BY state', [name]);
    const out: Record<RecordStateName, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of rows) out[String(r.state) as RecordStateName] = num(r.n);
    return out;
  }

  /** Dead-lettered records, newest first. */
  async deadRecords(name: string, limit: number): Promise<(RecordStateRow & { topicId: string; partition: number })[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      `SELECT topic_id, partition_id, offset_value, state, attempts, first_ms, next_ms, last_status, last_error, updated_ms FROM subscription_records WHERE subscription = ? AND state = 'dead' ORDER BY updated_ms DESC LIMIT ?`,
      [name, limit],
    );
    return rows.map((r) => ({ ...toRecordState(r), topicId: String(r.topic_id), partition: num(r.partition_id) }));
  }

  /** Deletes the attempts and record states of a partition below its log start (the topic's retention), in chunks. */
  async trim(name: string, topicId: string, partition: number, logStart: bigint): Promise<number> {
    let total = 0;
    for (const table of ['subscription_attempts', 'subscription_records']) {
      for (;;) {
        const [res] = await this.pool().query<ResultSetHeader>(`DELETE FROM ${table} WHERE subscription = ? AND topic_id = ? AND partition_id = ? AND offset_value < ? LIMIT 10000`, [
          name,
          topicId,
          partition,
          logStart.toString(),
        ]);
        total += res.affectedRows;
        if (res.affectedRows < 10000) break;
      }
    }
    return total;
  }

  private async tx<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool().getConnection();
    try {
      await conn.query('BEGIN');
      const out = await fn(conn);
      await conn.query('COMMIT');
      return out;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}

function toSubscription(r: RowDataPacket): StoredSubscription {
  return { name: String(r.name), spec: String(r.spec), state: String(r.state) as SubscriptionState, version: num(r.version), createdMs: num(r.created_ms), updatedMs: num(r.updated_ms) };
}

function toRecordState(r: RowDataPacket): RecordStateRow {
  return {
    offset: big(r.offset_value),
    state: String(r.state) as RecordStateName,
    attempts: num(r.attempts),
    firstMs: r.first_ms === null ? null : num(r.first_ms),
    nextMs: num(r.next_ms),
    lastStatus: r.last_status === null ? null : num(r.last_status),
    lastError: r.last_error === null ? null : String(r.last_error),
    updatedMs: num(r.updated_ms),
  };
}
