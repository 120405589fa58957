import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { quoteIdent } from './mysql.js';
import { LOG_TABLE_PATTERN, logTableName } from './schema.js';

/**
 * The orphan log-table sweep. createTopic creates a topic's log tables before committing its
 * metadata, and deleteTopic commits the metadata deletion before dropping them, so a process
 * that dies in between leaves a `log_<hex>` table no topic refers to. The sweep finds such
 * tables on every shard and drops them.
 *
 * A table is dropped only when all of these hold:
 * - its name matches logTableName exactly (`log_` + 32 lower-case hex chars) and it is a base
 *   table (never a view, the archive table `log_archive` or a metadata table);
 * - no row of the metadata `topics` table has its topic id, read after the table list (so a
 *   topic committed in between is seen) and read again right before the DROP;
 * - it is at least `graceMs` old by information_schema's CREATE_TIME, because a topic being
 *   created by another process has its tables before its metadata row. A table whose
 *   CREATE_TIME is unknown is kept.
 *
 * A shard database belongs to one cluster: tables of another metadata database's topics in
 * the same schema would look orphaned.
 */

/** The catalog's view of MySQL that the sweep needs (MysqlTopicCatalog). */
export interface StoredTopics {
  storedTopicIds(): Promise<Set<string>>;
  isTopicStored(topicId: string): Promise<boolean>;
}

export interface OrphanTableSweepOptions {
  catalog: StoredTopics;
  /** Index = shard number; a pool listed twice (shard 0 = metadata) is swept once. */
  shardPools: Pool[];
  /** Tables younger than this are kept (default 1 hour). */
  graceMs?: number;
  /** Report what would be dropped, drop nothing. */
  dryRun?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface OrphanTable {
  shard: number;
  table: string;
  topicId: string;
  /** ISO-8601 from information_schema.TABLES.CREATE_TIME. */
  createTime: string;
  /** DATA_LENGTH + INDEX_LENGTH: approximate (InnoDB statistics). */
  bytes: number;
  dropped: boolean;
}

export interface OrphanTableSweepResult {
  dryRun: boolean;
  graceMs: number;
  /** Orphan tables past the grace period (dropped, or would be in a dry run). */
  found: number;
  dropped: number;
  /** Approximate bytes of the tables dropped (in a dry run: that would be). */
  bytes: number;
  /** Orphan tables kept because they are younger than the grace period (or of unknown age). */
  young: number;
  tables: OrphanTable[];
  errors: Array<{ shard: number; table: string | null; error: string }>;
  ms: number;
}

export const DEFAULT_ORPHAN_TABLE_GRACE_MS = 3_600_000;

interface Candidate {
  table: string;
  topicId: string;
  /** Unix seconds; null when the server does not know. */
  created: number | null;
  ageMs: number | null;
  bytes: number;
}

export async function sweepOrphanLogTables(o: OrphanTableSweepOptions): Promise<OrphanTableSweepResult> {
  const started = performance.now();
  const graceMs = Math.max(0, o.graceMs ?? DEFAULT_ORPHAN_TABLE_GRACE_MS);
  const dryRun = o.dryRun ?? false;
  const result: OrphanTableSweepResult = { dryRun, graceMs, found: 0, dropped: 0, bytes: 0, young: 0, tables: [], errors: [], ms: 0 };
  const seen = new Set<Pool>();
  for (let shard = 0; shard < o.shardPools.length; shard++) {
    const pool = o.shardPools[shard]!;
    if (seen.has(pool)) continue;
    seen.add(pool);
    if (o.signal?.aborted) break;
    try {
      await sweepShard(o, shard, pool, graceMs, dryRun, result);
    } catch (err) {
      o.logger?.error({ err, shard }, 'orphan log table sweep failed on shard');
      result.errors.push({ shard, table: null, error: err instanceof Error ? err.message : String(err) });
    }
  }
  result.ms = Math.round(performance.now() - started);
  if (result.found > 0 || result.errors.length > 0) {
    o.logger?.info(
      { found: result.found, dropped: result.dropped, bytes: result.bytes, young: result.young, errors: result.errors.length, dryRun, ms: result.ms },
      'orphan log table sweep finished',
    );
  }
  return result;
}

async function sweepShard(
  o: OrphanTableSweepOptions,
  shard: number,
  pool: Pool,
  graceMs: number,
  dryRun: boolean,
  result: OrphanTableSweepResult,
): Promise<void> {
  const candidates = await listLogTables(pool);
  if (candidates.length === 0) return;
  // Read after the table list: a topic whose metadata committed in between is then known.
  const live = await o.catalog.storedTopicIds();
  for (const c of candidates) {
    if (o.signal?.aborted) return;
    if (live.has(c.topicId)) continue;
    if (c.created === null || c.ageMs === null || c.ageMs < graceMs) {
      result.young++;
      continue;
    }
    const entry: OrphanTable = {
      shard,
      table: c.table,
      topicId: c.topicId,
      createTime: new Date(c.created * 1000).toISOString(),
      bytes: c.bytes,
      dropped: false,
    };
    try {
      // Belt and braces with the grace period: the topic may have been created meanwhile.
      if (await o.catalog.isTopicStored(c.topicId)) continue;
      if (!dryRun) {
        await pool.query(`DROP TABLE IF EXISTS ${quoteIdent(c.table)}`);
        entry.dropped = true;
        result.dropped++;
      }
    } catch (err) {
      o.logger?.error({ err, shard, table: c.table }, 'orphan log table: drop failed');
      result.errors.push({ shard, table: c.table, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    result.found++;
    result.bytes += c.bytes;
    result.tables.push(entry);
    o.logger?.info(
      { shard, table: c.table, topicId: c.topicId, createTime: entry.createTime, bytes: c.bytes, dryRun },
      dryRun ? 'orphan log table found (dry run, kept)' : 'orphan log table dropped',
    );
  }
}

/** Log tables of the pool's database with their age (by the server's clock) and size. */
async function listLogTables(pool: Pool): Promise<Candidate[]> {
  // ESCAPE '!' rather than a backslash: it means the same under every sql_mode.
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS name,
            UNIX_TIMESTAMP(CREATE_TIME) AS created,
            UNIX_TIMESTAMP() - UNIX_TIMESTAMP(CREATE_TIME) AS age_s,
            COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS bytes
       FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
        AND TABLE_NAME LIKE 'log!_%' ESCAPE '!'
      ORDER BY TABLE_NAME`,
  );
  const out: Candidate[] = [];
  for (const r of rows) {
    const table = String(r.name);
    if (!LOG_TABLE_PATTERN.test(table)) continue;
    const topicId = Buffer.from(table.slice('log_'.length), 'hex').toString('base64url');
    if (logTableName(topicId) !== table) continue; // never act on a name the catalog would not produce
    const created = r.created === null || r.created === undefined ? null : Number(r.created);
    const ageS = r.age_s === null || r.age_s === undefined ? null : Number(r.age_s);
    out.push({ table, topicId, created, ageMs: ageS === null ? null : ageS * 1000, bytes: Number(r.bytes ?? 0) });
  }
  return out;
}
