import { createHash } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Client quotas in the metadata database (tables client_quotas and quota_generation, migration
 * 0014). An entity is Kafka's: an optional user component and an optional client-id component,
 * each a name or the default (Kafka's "<default>"). Storage keeps names and numbers; what the
 * keys mean (producer_byte_rate, ...) is the quota manager's business (server/quotas/).
 */

/** One component of an entity: absent (undefined in QuotaEntity), a name, or the default (null). */
export type EntityName = string | null;

export interface QuotaEntity {
  /** undefined: the entity has no user component; null: the default user. */
  user?: EntityName;
  /** undefined: no client-id component; null: the default client id. */
  clientId?: EntityName;
}

export interface StoredQuota {
  entity: QuotaEntity;
  values: Record<string, number>;
}

export interface QuotaChange {
  entity: QuotaEntity;
  /** Keys to set to a value; keys mapped to null are removed. */
  ops: Record<string, number | null>;
}

export interface QuotaStore {
  /** A counter bumped by every change: a broker reloads its cached quotas when it moves. */
  generation(): Promise<bigint>;
  /** Every entity with at least one quota. */
  list(): Promise<StoredQuota[]>;
  /** Applies the changes in one transaction. */
  alter(changes: readonly QuotaChange[]): Promise<void>;
}

const ABSENT = 0;
const NAMED = 1;
const DEFAULT = 2;

function kindOf(name: EntityName | undefined): number {
  return name === undefined ? ABSENT : name === null ? DEFAULT : NAMED;
}

/** Identity of an entity: each component's kind and length-prefixed name, so no two entities share a key. */
export function entityKey(e: QuotaEntity): Buffer {
  const h = createHash('sha256');
  for (const part of [e.user, e.clientId]) {
    const b = Buffer.from(part ?? '', 'utf8');
    h.update(`${kindOf(part)}:${b.length}:`);
    h.update(b);
  }
  return h.digest();
}

function nameOf(kind: number, raw: unknown): EntityName | undefined {
  if (kind === ABSENT) return undefined;
  if (kind === DEFAULT) return null;
  return Buffer.from(raw as Buffer).toString('utf8');
}

export class MysqlQuotaStore implements QuotaStore {
  /** A getter, not a pool: the metadata pool may be replaced at run time (failover). */
  constructor(private readonly pool: () => Pool) {}

  async generation(): Promise<bigint> {
    const [rows] = await this.pool().query<RowDataPacket[]>({ sql: 'SELECT generation FROM quota_generation WHERE id = 1', supportBigNumbers: true, bigNumberStrings: true });
    return rows.length === 0 ? 0n : BigInt(rows[0]!.generation as string);
  }

  async list(): Promise<StoredQuota[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      'SELECT entity_key, quota_name, user_kind, user_name, client_kind, client_name, quota_value FROM client_quotas ORDER BY entity_key, quota_name',
    );
    const byKey = new Map<string, StoredQuota>();
    for (const r of rows) {
      const key = Buffer.from(r.entity_key as Buffer).toString('hex');
      let q = byKey.get(key);
      if (!q) {
        const entity: QuotaEntity = {};
        const user = nameOf(Number(r.user_kind), r.user_name);
        const clientId = nameOf(Number(r.client_kind), r.client_name);
        if (user !== undefined) entity.user = user;
        if (clientId !== undefined) entity.clientId = clientId;
        q = { entity, values: {} };
        byKey.set(key, q);
      }
      q.values[String(r.quota_name)] = Number(r.quota_value);
    }
    return [...byKey.values()];
  }

  async alter(changes: readonly QuotaChange[]): Promise<void> {
    if (changes.length === 0) return;
    const conn = await this.pool().getConnection();
    try {
      await conn.beginTransaction();
      for (const c of changes) {
        const key = entityKey(c.entity);
        for (const [name, value] of Object.entries(c.ops)) {
          if (value === null) {
            await conn.query('DELETE FROM client_quotas WHERE entity_key = ? AND quota_name = ?', [key, name]);
          } else {
            const user = c.entity.user;
            const client = c.entity.clientId;
            await conn.query(
              `INSERT INTO client_quotas (entity_key, quota_name, user_kind, user_name, client_kind, client_name, quota_value)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE quota_value = VALUES(quota_value)`,
              [key, name, kindOf(user), typeof user === 'string' ? Buffer.from(user) : null, kindOf(client), typeof client === 'string' ? Buffer.from(client) : null, value],
            );
          }
        }
      }
      await conn.query('UPDATE quota_generation SET generation = generation + 1 WHERE id = 1');
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
