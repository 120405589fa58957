import type { Pool, RowDataPacket } from 'mysql2/promise';
import {
  ARCHIVED_COLUMNS,
  ARCHIVE_TABLE,
  copyRowsToArchiveTable,
  createArchiveTableSql,
  removeArchiveTempFiles,
  writeArchiveFile,
  type ArchiveMode,
  type LogRow,
} from './archive.js';
import { createPool, quoteIdent } from './mysql.js';
import { lockPartition, type HeldPartitionLock } from './partition-lock.js';
import { logTableName } from './schema.js';
import type { RetentionCleaner, RetentionCleanerSettings } from './services.js';
import type { ShardMap } from './shards.js';
import type { MysqlTopicCatalog } from './topic-catalog.js';
import { withTransaction } from './transaction.js';
import type { TopicRecord } from './types.js';

/**
 * The retention job: deletes whole batches from the start of each partition and advances its
 * log start offset, as Kafka's log manager deletes whole segments.
 *
 * - Time (retention.ms >= 0): batches from the log start whose max timestamp is older than
 *   now - retention.ms, stopping at the first one that is not; the newest batch of a partition
 *   always stays (Kafka keeps the active segment), so the next offset survives.
 * - Size (retention.bytes >= 0): then the oldest batches while the partition keeps at least
 *   retention.bytes after deleting them (Kafka's rule: never below the limit), newest kept.
 * - Log start: rows wholly below the log start (DeleteRecords, an interrupted run) go too.
 *
 * One runner at a time per partition: a MySQL named lock (GET_LOCK, on the metadata database,
 * held on one connection for the partition's whole run; a runner that dies loses its
 * connection and so its lock). What to delete is computed under the lock from MySQL's state,
 * so a second runner finds nothing left to do. Work goes in chunks (at most chunkBatches
 * batches and chunkBytes bytes per transaction). When the log table lives in the metadata
 * database, a chunk's DELETE and its log start update commit in one transaction; otherwise
 * the log start moves first (reads below it already get OFFSET_OUT_OF_RANGE) and the rows go
 * after, so a crash in between leaves only invisible rows, which the next run removes.
 * Archiving (retention.archive=table|file) happens in the deleting transaction (same-database
 * archive table) or before it (file, other database), so nothing is deleted unarchived.
 */

export interface RetentionPolicy {
  /** -1 keeps forever. */
  retentionMs: bigint;
  /** Per partition; -1 = no limit. */
  retentionBytes: bigint;
  archive: ArchiveMode;
}

export interface RetentionTarget {
  topic: TopicRecord;
  policy: RetentionPolicy;
  /** Default: every partition. */
  partitions?: number[];
}

export type RetentionReason = 'time' | 'bytes' | 'log-start';

export interface PartitionRetentionResult {
  topic: string;
  partition: number;
  shard: number;
  logStartBefore: bigint;
  logStartAfter: bigint;
  /** Batches deleted (or that would be, in a dry run). */
  batches: number;
  bytes: number;
  chunks: number;
  ms: number;
  reasons: RetentionReason[];
  /** 'locked': another runner holds this partition; nothing was done here. */
  skipped: 'locked' | null;
  archive: ArchiveMode;
  archiveFiles: string[];
  dryRun: boolean;
}

export interface RetentionRunResult {
  partitions: PartitionRetentionResult[];
  batches: number;
  bytes: number;
  ms: number;
  errors: Array<{ topic: string; partition: number; error: string }>;
}

export interface RetentionCleanerOptions extends RetentionCleanerSettings {
  /** The shards, asked for a shard's pool at each use (a failover may replace it). */
  shards: ShardMap;
  catalog: MysqlTopicCatalog;
  /** Called after a chunk moved a partition's log start (storage updates the loaded log). */
  onLogStartAdvanced?(topicId: string, partition: number, logStart: bigint): void;
}

export interface CleanOptions {
  dryRun?: boolean;
  /** Seconds to wait for another runner's lock on a partition (default 0: skip it). */
  lockWaitSeconds?: number;
  signal?: AbortSignal;
}

const WALK_PAGE = 1000;

/** The retention job on MySQL; built by openStorage's retentionCleaner(), which owns its archive connections. */
export class MysqlRetentionCleaner implements RetentionCleaner {
  private readonly chunkBatches: number;
  private readonly chunkBytes: number;
  private readonly archiveTables = new WeakSet<Pool>();
  private readonly o: RetentionCleanerOptions & { archivePool: Pool | null };

  constructor(options: RetentionCleanerOptions) {
    this.o = { ...options, archivePool: options.archiveUrl ? createPool(options.archiveUrl, { connectionLimit: 2 }) : null };
    this.chunkBatches = Math.max(1, options.chunkBatches ?? 500);
    this.chunkBytes = Math.max(1, options.chunkBytes ?? 64 * 1024 * 1024);
  }

  async close(): Promise<void> {
    await this.o.archivePool?.end().catch(() => undefined);
  }

  /** Every partition of every target, one after the other; a failing partition does not stop the others. */
  async run(targets: RetentionTarget[], options: CleanOptions = {}): Promise<RetentionRunResult> {
    const started = performance.now();
    const result: RetentionRunResult = { partitions: [], batches: 0, bytes: 0, ms: 0, errors: [] };
    for (const target of targets) {
      const partitions = target.partitions ?? Array.from({ length: target.topic.partitionCount }, (_, i) => i);
      for (const partition of partitions) {
        if (options.signal?.aborted) break;
        try {
          const r = await this.cleanPartition(target.topic, partition, target.policy, options);
          result.partitions.push(r);
          result.batches += r.batches;
          result.bytes += r.bytes;
        } catch (err) {
          if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') continue; // topic deleted meanwhile
          const message = err instanceof Error ? err.message : String(err);
          this.o.logger?.error({ err, topic: target.topic.name, partition }, 'retention failed for partition');
          result.errors.push({ topic: target.topic.name, partition, error: message });
        }
      }
    }
    result.ms = Math.round(performance.now() - started);
    return result;
  }

  async cleanPartition(
    topic: TopicRecord,
    partition: number,
    policy: RetentionPolicy,
    options: CleanOptions = {},
  ): Promise<PartitionRetentionResult> {
    const started = performance.now();
    const shard = topic.shardOfPartition[partition] ?? 0;
    const result: PartitionRetentionResult = {
      topic: topic.name,
      partition,
      shard,
      logStartBefore: -1n,
      logStartAfter: -1n,
      batches: 0,
      bytes: 0,
      chunks: 0,
      ms: 0,
      reasons: [],
      skipped: null,
      archive: policy.archive,
      archiveFiles: [],
      dryRun: options.dryRun ?? false,
    };
    const finish = () => {
      result.ms = Math.round(performance.now() - started);
      return result;
    };
    if (options.dryRun) {
      const plan = await this.plan(topic, partition, policy);
      Object.assign(result, {
        logStartBefore: plan.logStart,
        logStartAfter: plan.target > plan.logStart ? plan.target : plan.logStart,
        batches: plan.batches,
        bytes: plan.bytes,
        reasons: plan.reasons,
      });
      return finish();
    }
    const lock = await this.lock(topic.topicId, partition, options.lockWaitSeconds ?? 0);
    if (!lock) {
      result.skipped = 'locked';
      this.o.logger?.info({ topic: topic.name, partition }, 'retention: partition locked by another runner, skipped');
      return finish();
    }
    try {
      const plan = await this.plan(topic, partition, policy);
      result.logStartBefore = plan.logStart;
      result.logStartAfter = plan.logStart;
      result.reasons = plan.reasons;
      if (plan.batches > 0 || plan.target > plan.logStart) {
        await this.deleteChunks(topic, partition, shard, policy, plan, result, options.signal);
      }
    } finally {
      await lock.release();
    }
    if (result.batches > 0) {
      this.o.logger?.info(
        {
          topic: topic.name,
          partition,
          batches: result.batches,
          bytes: result.bytes,
          chunks: result.chunks,
          ms: Math.round(performance.now() - started),
          logStart: String(result.logStartAfter),
          reasons: result.reasons,
        },
        'retention: partition cleaned',
      );
    }
    return finish();
  }

  /** What a run would delete now: the new log start target and the rows below it. */
  private async plan(topic: TopicRecord, partition: number, policy: RetentionPolicy): Promise<Plan> {
    const shard = topic.shardOfPartition[partition] ?? 0;
    const pool = this.pool(shard);
    const table = quoteIdent(logTableName(topic.topicId));
    const placement = await this.o.catalog.loadPartition(topic.topicId, partition);
    const logStart = placement?.logStartOffset ?? 0n;
    const reasons: RetentionReason[] = [];
    const [newestRows] = await pool.query<RowDataPacket[]>(`SELECT MAX(base_offset) AS newest FROM ${table} WHERE partition_id = ?`, [partition]);
    const newestValue = newestRows[0]?.newest;
    if (newestValue === null || newestValue === undefined) return { logStart, target: logStart, batches: 0, bytes: 0, reasons };
    const newest = BigInt(newestValue);
    let target = logStart;

    if (policy.retentionMs >= 0n) {
      const cutoff = BigInt((this.o.now ?? Date.now)()) - policy.retentionMs;
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT base_offset FROM ${table} FORCE INDEX (idx_last_offset)
         WHERE partition_id = ? AND last_offset >= ? AND max_timestamp >= ? ORDER BY last_offset LIMIT 1`,
        [partition, logStart.toString(), cutoff.toString()],
      );
      let t = rows[0] ? BigInt(rows[0].base_offset) : newest;
      if (t > newest) t = newest;
      if (t > target) {
        target = t;
        reasons.push('time');
      }
    }

    if (policy.retentionBytes >= 0n) {
      const [sumRows] = await pool.query<RowDataPacket[]>(
        `SELECT COALESCE(SUM(byte_size), 0) AS total FROM ${table} FORCE INDEX (idx_last_offset) WHERE partition_id = ? AND last_offset >= ?`,
        [partition, target.toString()],
      );
      let excess = BigInt(sumRows[0]?.total ?? 0) - policy.retentionBytes;
      let t = target;
      let from = target;
      walk: while (excess > 0n) {
        const [rows] = await pool.query<RowDataPacket[]>(
          `SELECT base_offset, last_offset, byte_size FROM ${table} FORCE INDEX (idx_last_offset)
           WHERE partition_id = ? AND last_offset >= ? ORDER BY last_offset LIMIT ${WALK_PAGE}`,
          [partition, from.toString()],
        );
        for (const r of rows) {
          const size = BigInt(r.byte_size);
          if (BigInt(r.base_offset) >= newest || excess - size < 0n) break walk;
          excess -= size;
          t = BigInt(r.last_offset) + 1n;
        }
        if (rows.length < WALK_PAGE) break;
        from = t;
      }
      if (t > target) {
        target = t;
        reasons.push('bytes');
      }
    }

    const [countRows] = await pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(byte_size), 0) AS bytes FROM ${table}
       WHERE partition_id = ? AND base_offset < ? AND last_offset < ?`,
      [partition, target.toString(), target.toString()],
    );
    const batches = Number(countRows[0]?.n ?? 0);
    if (batches > 0 && reasons.length === 0) reasons.push('log-start');
    return { logStart, target, batches, bytes: Number(countRows[0]?.bytes ?? 0), reasons };
  }

  private async deleteChunks(
    topic: TopicRecord,
    partition: number,
    shard: number,
    policy: RetentionPolicy,
    plan: Plan,
    result: PartitionRetentionResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const pool = this.pool(shard);
    const sameDb = pool === this.o.shards.metadataPool;
    const tableName = logTableName(topic.topicId);
    const table = quoteIdent(tableName);
    const target = plan.target;
    if (policy.archive === 'table') await this.ensureArchiveTable(this.o.archivePool ?? pool);
    if (policy.archive === 'file') await removeArchiveTempFiles(this.archiveDir(), topic.name, partition);

    for (;;) {
      if (signal?.aborted) return;
      const chunkStarted = performance.now();
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT base_offset, last_offset, byte_size FROM ${table}
         WHERE partition_id = ? AND base_offset < ? ORDER BY base_offset LIMIT ${this.chunkBatches}`,
        [partition, target.toString()],
      );
      const chunk: RowDataPacket[] = [];
      let bytes = 0;
      let cut = rows.length === this.chunkBatches;
      for (const r of rows) {
        if (BigInt(r.last_offset) >= target) break; // the batch holding the target stays
        const size = Number(r.byte_size);
        if (chunk.length > 0 && bytes + size > this.chunkBytes) {
          cut = true;
          break;
        }
        chunk.push(r);
        bytes += size;
      }
      const logStartNow = result.logStartAfter;
      if (chunk.length === 0) {
        // Only the log start moves (nothing wholly below the target is stored).
        if (target > logStartNow) await this.advanceLogStart(topic, partition, target, result);
        return;
      }
      const first = String(chunk[0]!.base_offset);
      const last = String(chunk[chunk.length - 1]!.base_offset);
      const chunkEnd = BigInt(chunk[chunk.length - 1]!.last_offset) + 1n;
      let newStart = cut ? chunkEnd : chunkEnd > target ? chunkEnd : target;
      if (newStart < logStartNow) newStart = logStartNow;

      // Archive outside the deleting transaction first (file, or an archive in another database).
      if (policy.archive === 'file' || (policy.archive === 'table' && this.o.archivePool)) {
        const [full] = await pool.query<LogRow[]>(
          `SELECT ${ARCHIVED_COLUMNS.join(', ')} FROM ${table} WHERE partition_id = ? AND base_offset >= ? AND base_offset <= ? ORDER BY base_offset`,
          [partition, first, last],
        );
        if (policy.archive === 'file') {
          result.archiveFiles.push(await writeArchiveFile(this.archiveDir(), topic.name, topic.topicId, partition, full));
        } else {
          await copyRowsToArchiveTable(this.o.archivePool!, topic.topicId, topic.name, full);
        }
      }
      if (!sameDb) await this.o.catalog.saveLogStartOffset(topic.topicId, partition, newStart);

      await withTransaction(pool, async (conn) => {
        if (policy.archive === 'table' && !this.o.archivePool) {
          await conn.query(
            `INSERT IGNORE INTO \`${ARCHIVE_TABLE}\` (topic_id, topic_name, ${ARCHIVED_COLUMNS.join(', ')})
             SELECT ?, ?, ${ARCHIVED_COLUMNS.join(', ')} FROM ${table} WHERE partition_id = ? AND base_offset >= ? AND base_offset <= ?`,
            [topic.topicId, topic.name, partition, first, last],
          );
        }
        if (sameDb) {
          await conn.query(
            'UPDATE partitions SET log_start_offset = GREATEST(log_start_offset, ?) WHERE topic_id = ? AND partition_id = ?',
            [newStart.toString(), topic.topicId, partition],
          );
        }
        await conn.query(`DELETE FROM ${table} WHERE partition_id = ? AND base_offset >= ? AND base_offset <= ?`, [partition, first, last]);
      });
      result.logStartAfter = newStart;
      result.batches += chunk.length;
      result.bytes += bytes;
      result.chunks++;
      this.o.onLogStartAdvanced?.(topic.topicId, partition, newStart);
      this.o.logger?.info(
        {
          topic: topic.name,
          partition,
          chunkBatches: chunk.length,
          chunkBytes: bytes,
          chunkMs: Math.round(performance.now() - chunkStarted),
          logStart: String(newStart),
          archive: policy.archive,
        },
        'retention: chunk deleted',
      );
      if (!cut && newStart >= target) return;
    }
  }

  private async advanceLogStart(topic: TopicRecord, partition: number, offset: bigint, result: PartitionRetentionResult): Promise<void> {
    await this.o.catalog.saveLogStartOffset(topic.topicId, partition, offset);
    result.logStartAfter = offset;
    this.o.onLogStartAdvanced?.(topic.topicId, partition, offset);
  }

  private pool(shard: number): Pool {
    return this.o.shards.pool(shard);
  }

  private archiveDir(): string {
    return this.o.archiveDir ?? './archive';
  }

  private async ensureArchiveTable(pool: Pool): Promise<void> {
    if (this.archiveTables.has(pool)) return;
    await pool.query(createArchiveTableSql());
    this.archiveTables.add(pool);
  }

  /** Takes the partition's named lock (shared with compaction, storage/partition-lock.ts); null when another runner has it. */
  private lock(topicId: string, partition: number, waitSeconds: number): Promise<HeldPartitionLock | null> {
    return lockPartition(this.o.shards, topicId, partition, waitSeconds);
  }
}

interface Plan {
  logStart: bigint;
  target: bigint;
  batches: number;
  bytes: number;
  reasons: RetentionReason[];
}
