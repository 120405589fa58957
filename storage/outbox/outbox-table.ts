import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { createPool, quoteIdent } from '../mysql.js';

/**
 * The outbox table in an application's own MySQL database (docs/outbox.md): the SQL of the
 * outbox relay (server/outbox/). The application inserts rows in the same transaction as its
 * business writes; the relay claims the oldest rows, publishes them and deletes them.
 *
 * A claim is one transaction on one connection: the oldest unclaimed rows are locked with
 * SELECT ... FOR UPDATE SKIP LOCKED (MariaDB 10.6+, MySQL 8.0.1+), so relays running at once
 * take disjoint rows and never publish one twice; rows are deleted in that transaction after
 * they were published, and a relay that dies loses its connection, which rolls its claim
 * back. Order per key: a claimed row is held back (left locked, not published, still in the
 * table when the claim commits) when a row with the same key and a lower id is claimed by
 * another relay, so rows of one key are published in id order. READ COMMITTED, so each
 * claim sees the rows committed since the last one.
 */
export interface OutboxRow {
  id: bigint;
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header name -> value (the headers column: a JSON object of strings), possibly empty. */
  headers: Array<{ key: string; value: string }>;
  createdAtMs: number;
}

/** The documented CREATE TABLE (docs/outbox.md), for applications and tests. */
export function outboxTableDdl(table = 'outbox'): string {
  return `CREATE TABLE ${quoteIdent(table)} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  topic VARCHAR(249) NOT NULL,
  \`key\` VARBINARY(1024) NULL,
  value LONGBLOB NULL,
  headers JSON NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id)
) ENGINE=InnoDB`;
}

export class OutboxClaim {
  private ended = false;

  constructor(
    private readonly conn: PoolConnection,
    private readonly table: string,
    /** Rows to publish now, in id order. */
    readonly rows: OutboxRow[],
    /** Rows claimed but held back (an earlier row of their key is claimed elsewhere). */
    readonly heldBack: number,
  ) {}

  /** Deletes the published rows and commits the claim. */
  async complete(): Promise<void> {
    try {
      const ids = this.rows.map((r) => r.id.toString());
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        await this.conn.query(`DELETE FROM ${quoteIdent(this.table)} WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      }
      await this.conn.query('COMMIT');
    } finally {
      this.end();
    }
  }

  /** Gives the rows back (nothing deleted). */
  async release(): Promise<void> {
    try {
      await this.conn.query('ROLLBACK');
    } catch {
      // The connection is gone: MySQL rolled the claim back itself.
    } finally {
      this.end();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.conn.release();
  }
}

export class OutboxTable {
  private readonly pool: Pool;

  constructor(
    url: string,
    readonly table: string,
    connections = 2,
  ) {
    this.pool = createPool(url, { connectionLimit: connections });
  }

  /** Claims up to `limit` of the oldest rows no other relay holds; null when there are none. */
  async claim(limit: number): Promise<OutboxClaim | null> {
    const t = quoteIdent(this.table);
    const conn = await this.pool.getConnection();
    try {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.query('BEGIN');
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT id, topic, \`key\`, value, headers, created_at FROM ${t} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) {
        await conn.query('ROLLBACK');
        conn.release();
        return null;
      }
      const claimed = rows.map(toRow);
      const maxId = claimed[claimed.length - 1]!.id;
      // Rows below our last one that we do not hold are held by other relays (a plain read does not wait for their locks).
      const mine = new Set(claimed.map((r) => r.id));
      const [below] = await conn.query<RowDataPacket[]>(`SELECT id, \`key\` FROM ${t} WHERE id < ?`, [maxId.toString()]);
      const blocked = new Set<string>();
      for (const b of below) {
        if (mine.has(BigInt(b.id as string | number)) || b.key === null) continue;
        blocked.add((b.key as Buffer).toString('hex'));
      }
      const publish = blocked.size === 0 ? claimed : claimed.filter((r) => r.key === null || !blocked.has(r.key.toString('hex')));
      return new OutboxClaim(conn, this.table, publish, claimed.length - publish.length);
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      conn.release();
      throw err;
    }
  }

  /** Rows waiting in the table (for logs and metrics). */
  async backlog(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdent(this.table)}`);
    return Number(rows[0]!.n);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function toRow(r: RowDataPacket): OutboxRow {
  let headers: Array<{ key: string; value: string }> = [];
  const raw = r.headers as unknown;
  if (raw !== null && raw !== undefined) {
    const parsed: unknown = typeof raw === 'string' ? JSON.parse(raw) : Buffer.isBuffer(raw) ? JSON.parse(raw.toString('utf8')) : raw;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new OutboxRowError(`row ${r.id}: headers must be a JSON object`);
    headers = Object.entries(parsed as Record<string, unknown>).map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
  }
  return {
    id: BigInt(r.id as string | number),
    topic: String(r.topic),
    key: (r.key as Buffer | null) ?? null,
    value: (r.value as Buffer | null) ?? null,
    headers,
    createdAtMs: r.created_at instanceof Date ? r.created_at.getTime() : Date.now(),
  };
}

export class OutboxRowError extends Error {
  override name = 'OutboxRowError';
}
