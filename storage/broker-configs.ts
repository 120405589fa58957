import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Dynamic broker configuration in the metadata database (table broker_configs, migration
 * 0004): what AlterConfigs / IncrementalAlterConfigs set on a broker resource. An entity is
 * '' for the cluster-wide default (Kafka's empty resource name) or a broker id in decimal.
 * Storage knows nothing of which keys are valid: the server validates before writing and again
 * when applying what it reads (a row written by a newer version is skipped, not fatal).
 */
export interface BrokerConfigStore {
  /** Every key of each entity asked for; an entity without keys maps to an empty map. */
  read(entities: readonly string[]): Promise<Map<string, Map<string, string>>>;
  /** Sets and removes keys of one entity in one transaction; keys not named stay as they are. */
  update(entity: string, set: ReadonlyMap<string, string>, remove: readonly string[]): Promise<void>;
  /** Makes `configs` the entity's whole set, in one transaction (legacy AlterConfigs). */
  replace(entity: string, configs: ReadonlyMap<string, string>): Promise<void>;
}

/** Longest entity and key the table holds. */
export const MAX_BROKER_CONFIG_ENTITY = 16;
export const MAX_BROKER_CONFIG_KEY = 255;

export class MysqlBrokerConfigStore implements BrokerConfigStore {
  /** A getter, not a pool: the metadata pool may be replaced at run time (failover). */
  constructor(private readonly pool: () => Pool) {}

  async read(entities: readonly string[]): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>(entities.map((e) => [e, new Map()]));
    if (entities.length === 0) return out;
    const [rows] = await this.pool().query<RowDataPacket[]>(
      'SELECT entity, config_key, config_value FROM broker_configs WHERE entity IN (?) ORDER BY entity, config_key',
      [entities],
    );
    for (const r of rows) out.get(String(r.entity))?.set(String(r.config_key), String(r.config_value));
    return out;
  }

  update(entity: string, set: ReadonlyMap<string, string>, remove: readonly string[]): Promise<void> {
    return this.inTransaction(entity, async (conn, now) => {
      if (remove.length > 0) await conn.query('DELETE FROM broker_configs WHERE entity = ? AND config_key IN (?)', [entity, remove]);
      await this.upsert(conn, entity, set, now);
    });
  }

  replace(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.inTransaction(entity, async (conn, now) => {
      await conn.query('DELETE FROM broker_configs WHERE entity = ?', [entity]);
      await this.upsert(conn, entity, configs, now);
    });
  }

  private async upsert(conn: Queryable, entity: string, configs: ReadonlyMap<string, string>, now: number): Promise<void> {
    if (configs.size === 0) return;
    for (const key of configs.keys()) checkLength(key, MAX_BROKER_CONFIG_KEY, 'config key');
    const rows = [...configs].map(([k, v]) => [entity, k, v, now]);
    await conn.query(
      'INSERT INTO broker_configs (entity, config_key, config_value, updated_ms) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE config_value = VALUES(config_value), updated_ms = VALUES(updated_ms)',
      [rows],
    );
  }

  private async inTransaction(entity: string, work: (conn: Queryable, now: number) => Promise<void>): Promise<void> {
    checkLength(entity, MAX_BROKER_CONFIG_ENTITY, 'entity');
    const conn = await this.pool().getConnection();
    try {
      await conn.beginTransaction();
      try {
        await work(conn, Date.now());
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    } finally {
      conn.release();
    }
  }
}

type Queryable = Pick<Pool, 'query'>;

function checkLength(value: string, max: number, what: string): void {
  if (Buffer.byteLength(value) > max) throw new RangeError(`broker config ${what} longer than ${max} bytes: ${value.slice(0, 40)}…`);
}
