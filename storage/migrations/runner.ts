import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { connect } from '../mysql.js';
import { LOG_TABLE_PATTERN } from '../schema.js';
import type { Migration } from './types.js';

export const MIGRATION_LOCK = 'kafka_mysql_migrate';

/**
 * Applies the pending migrations of one scope to one database. Concurrent start-ups serialize
 * on GET_LOCK(MIGRATION_LOCK); each applied version is recorded in schema_migrations, so
 * running twice (or after another broker did) applies nothing. Returns the versions applied.
 */
export async function runMigrations(
  url: string,
  scope: Migration['scope'],
  all: readonly Migration[],
  logger?: Logger,
  lockTimeoutSeconds = 60,
): Promise<number[]> {
  const list = all.filter((m) => m.scope === scope).sort((a, b) => a.version - b.version);
  const versions = new Set<number>();
  for (const m of all) {
    if (versions.has(m.version)) throw new Error(`duplicate migration version ${m.version}`);
    versions.add(m.version);
  }
  const conn = await connect(url);
  try {
    const [lockRows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [MIGRATION_LOCK, lockTimeoutSeconds]);
    if (Number(lockRows[0]?.got) !== 1) {
      throw new Error(`could not take the migration lock ${MIGRATION_LOCK} within ${lockTimeoutSeconds}s`);
    }
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        scope VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        version INT NOT NULL,
        name VARCHAR(200) NOT NULL,
        applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (scope, version)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
      const [rows] = await conn.query<RowDataPacket[]>('SELECT version FROM schema_migrations WHERE scope = ?', [scope]);
      const applied = new Set(rows.map((r) => Number(r.version)));
      const done: number[] = [];
      for (const m of list) {
        if (applied.has(m.version)) continue;
        logger?.info({ scope, version: m.version, name: m.name }, 'applying migration');
        await m.up(conn);
        await conn.query('INSERT INTO schema_migrations (scope, version, name) VALUES (?, ?, ?)', [scope, m.version, m.name]);
        done.push(m.version);
      }
      return done;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
    }
  } finally {
    await conn.end();
  }
}

/** Names of the log tables in the connection's database (for shard migrations that alter them). */
export async function listLogTables(conn: Connection): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'log\\_%'",
  );
  return rows.map((r) => String(r.t)).filter((t) => LOG_TABLE_PATTERN.test(t));
}
