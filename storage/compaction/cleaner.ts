import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { loadZstdCompressor } from '../../codec/compression/zstd.js';
import { rewriteBatch, scanBatchForCompaction, type CompactionRecord } from '../../codec/records/compaction.js';
import { quoteIdent } from '../mysql.js';
import { lockPartition } from '../partition-lock.js';
import { logTableName } from '../schema.js';
import type { ShardMap } from '../shards.js';
import type { MysqlTopicCatalog } from '../topic-catalog.js';
import { withTransaction } from '../transaction.js';
import type { TopicRecord } from '../types.js';
import { bumpGeneration, readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { BatchDecider, DirtyScan, addMark, firstCleanTimeOf, type BatchMeta, type ControlType } from './select.js';

/**
 * The compaction job on MySQL (docs/compaction.md): for each partition of a compacted topic,
 * under the partition's lock (the same as retention's), it
 * 1. finds the cleanable end: never the newest batch; not the "active head", the batches newer
 *    than now - max(segment.ms, min.compaction.lag.ms) or within the last segment.bytes (rows
 *    have no segments: this is the segment Kafka would not have rolled yet);
 * 2. skips the partition unless the dirty section [checkpoint, end) is at least
 *    min.cleanable.dirty.ratio of [log start, end), its oldest dirty batch is older than
 *    max.compaction.lag.ms, or a kept tombstone's delete horizon has come;
 * 3. reads the dirty section and builds the key map (select.ts DirtyScan), stopping before an
 *    open transaction or when the map is full;
 * 4. goes over [log start, end) in chunks (chunkBatches rows / chunkBytes bytes), decides per
 *    batch (select.ts BatchDecider) and commits each chunk's rewrites and deletes in one shard
 *    transaction: a rewritten row keeps (partition_id, base_offset, last_offset), so readers
 *    see the old or the new batch, never a hole; each chunk tells the loaded logs (and, through
 *    the checkpoint generation, other brokers) to drop cached batches of that range;
 * 5. writes the checkpoint (new clean end, first-clean mark, next tombstone due time).
 * A crash between chunks leaves a log where each batch is old or new, both correct (the latest
 * record of every key is in both); the checkpoint is unchanged, so the next run does it again.
 */

export interface CompactionPolicy {
  deleteRetentionMs: bigint;
  minCompactionLagMs: bigint;
  maxCompactionLagMs: bigint;
  minCleanableDirtyRatio: number;
  segmentMs: bigint;
  segmentBytes: bigint;
}

export interface CompactionTarget {
  topic: TopicRecord;
  policy: CompactionPolicy;
  /** Default: every partition. */
  partitions?: number[];
}

export type CompactionTrigger = 'dirty-ratio' | 'max-lag' | 'tombstones';
export type CompactionSkip = 'locked' | 'empty' | 'clean' | 'below-ratio';

export interface PartitionCompactionResult {
  topic: string;
  partition: number;
  shard: number;
  skipped: CompactionSkip | null;
  trigger: CompactionTrigger | null;
  logStart: bigint;
  /** Where the clean section started and where it ends now ([logStart, cleanedUpto) was cleaned). */
  firstDirty: bigint;
  cleanedUpto: bigint;
  dirtyRatio: number;
  /** Batches and bytes read (both passes). */
  scannedBatches: number;
  scannedBytes: number;
  rewrittenBatches: number;
  deletedBatches: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  abortedRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
  chunks: number;
  ms: number;
}

export interface CompactionRunResult {
  partitions: PartitionCompactionResult[];
  scannedBytes: number;
  removedBytes: number;
  ms: number;
  errors: Array<{ topic: string; partition: number; error: string }>;
}

export interface CompactionCleanerSettings {
  /** Rows per rewriting transaction (default 500). */
  chunkBatches?: number;
  /** Payload bytes read per chunk (default 64 MiB). */
  chunkBytes?: number;
  /** Most distinct keys in one run's map (default 1,000,000); a larger dirty section takes several runs. */
  maxKeys?: number;
  /** Bound on one batch's decompressed records (default 64 MiB). */
  maxDecompressedBytes?: number;
  logger?: Logger;
  now?: () => number;
  /** Test hook: called after each committed chunk (a failure here stops the partition like a crash). */
  afterChunk?(topic: string, partition: number, chunk: number): void | Promise<void>;
}

export interface CompactionCleanerOptions extends CompactionCleanerSettings {
  shards: ShardMap;
  catalog: MysqlTopicCatalog;
  /** Called after a chunk committed: rows below `upTo` may have been rewritten or deleted. */
  onCompacted?(topicId: string, partition: number, upTo: bigint): void;
}

export interface CompactOptions {
  /** Seconds to wait for another runner's lock on a partition (default 0: skip it). */
  lockWaitSeconds?: number;
  signal?: AbortSignal;
}

interface Row {
  base_offset: string | number;
  last_offset: string | number;
  producer_id: string | number;
  is_transactional: number;
  is_control: number;
  byte_size: number;
  payload: Buffer;
}

const UPSERT_BYTES = 8 * 1024 * 1024;
const META_COLUMNS = 'base_offset, last_offset, producer_id, is_transactional, is_control, byte_size, payload';

export class MysqlCompactionCleaner {
  private readonly chunkBatches: number;
  private readonly chunkBytes: number;
  private readonly maxKeys: number;

  constructor(private readonly o: CompactionCleanerOptions) {
    this.chunkBatches = Math.max(1, o.chunkBatches ?? 500);
    this.chunkBytes = Math.max(1, o.chunkBytes ?? 64 * 1024 * 1024);
    this.maxKeys = Math.max(1, o.maxKeys ?? 1_000_000);
  }

  async run(targets: CompactionTarget[], options: CompactOptions = {}): Promise<CompactionRunResult> {
    const started = performance.now();
    const result: CompactionRunResult = { partitions: [], scannedBytes: 0, removedBytes: 0, ms: 0, errors: [] };
    for (const target of targets) {
      const partitions = target.partitions ?? Array.from({ length: target.topic.partitionCount }, (_, i) => i);
      for (const partition of partitions) {
        if (options.signal?.aborted) break;
        try {
          const r = await this.compactPartition(target.topic, partition, target.policy, options);
          result.partitions.push(r);
          result.scannedBytes += r.scannedBytes;
          result.removedBytes += r.bytesBefore - r.bytesAfter;
        } catch (err) {
          if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') continue; // topic deleted meanwhile
          this.o.logger?.error({ err, topic: target.topic.name, partition }, 'compaction failed for partition');
          result.errors.push({ topic: target.topic.name, partition, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    result.ms = Math.round(performance.now() - started);
    return result;
  }

  async compactPartition(topic: TopicRecord, partition: number, policy: CompactionPolicy, options: CompactOptions = {}): Promise<PartitionCompactionResult> {
    const started = performance.now();
    const shard = topic.shardOfPartition[partition] ?? 0;
    const result: PartitionCompactionResult = {
      topic: topic.name,
      partition,
      shard,
      skipped: null,
      trigger: null,
      logStart: -1n,
      firstDirty: -1n,
      cleanedUpto: -1n,
      dirtyRatio: 0,
      scannedBatches: 0,
      scannedBytes: 0,
      rewrittenBatches: 0,
      deletedBatches: 0,
      recordsRemoved: 0,
      tombstonesRemoved: 0,
      abortedRemoved: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      chunks: 0,
      ms: 0,
    };
    const lock = await lockPartition(this.o.shards, topic.topicId, partition, options.lockWaitSeconds ?? 0);
    if (!lock) {
      result.skipped = 'locked';
    } else {
      try {
        await loadZstdCompressor();
        await this.compactLocked(topic, partition, shard, policy, result, options.signal);
      } finally {
        await lock.release();
      }
    }
    result.ms = Math.round(performance.now() - started);
    if (result.chunks > 0) {
      this.o.logger?.info(
        {
          topic: topic.name,
          partition,
          trigger: result.trigger,
          cleanedUpto: String(result.cleanedUpto),
          scannedBytes: result.scannedBytes,
          rewritten: result.rewrittenBatches,
          deleted: result.deletedBatches,
          recordsRemoved: result.recordsRemoved,
          bytesBefore: result.bytesBefore,
          bytesAfter: result.bytesAfter,
          ms: result.ms,
        },
        'compaction: partition cleaned',
      );
    }
    return result;
  }

  private now(): bigint {
    return BigInt(Math.floor((this.o.now ?? Date.now)()));
  }

  private async compactLocked(
    topic: TopicRecord,
    partition: number,
    shard: number,
    policy: CompactionPolicy,
    result: PartitionCompactionResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const pool = this.o.shards.pool(shard);
    const meta = this.o.shards.metadataPool;
    const table = quoteIdent(logTableName(topic.topicId));
    const now = this.now();
    const placement = await this.o.catalog.loadPartition(topic.topicId, partition);
    const logStart = placement?.logStartOffset ?? 0n;
    const checkpoint = await readCheckpoint(meta, topic.topicId, partition);
    result.logStart = logStart;

    let end = await this.cleanableEnd(pool, table, partition, logStart, policy, now);
    const firstDirty = checkpoint.cleanedUpto > logStart ? checkpoint.cleanedUpto : logStart;
    result.firstDirty = firstDirty;
    result.cleanedUpto = checkpoint.cleanedUpto;
    if (end === null) {
      result.skipped = 'empty';
      return;
    }
    const tombstonesDue = checkpoint.nextDueMs !== null && checkpoint.nextDueMs <= now;
    if (end <= firstDirty && !tombstonesDue) {
      result.skipped = 'clean';
      return;
    }
    if (end < firstDirty) end = firstDirty;

    const [sums] = await pool.query<RowDataPacket[]>(
      `SELECT COALESCE(SUM(byte_size), 0) AS total, COALESCE(SUM(CASE WHEN base_offset >= ? THEN byte_size ELSE 0 END), 0) AS dirty,
              MIN(CASE WHEN base_offset >= ? THEN max_timestamp END) AS oldest_dirty
       FROM ${table} FORCE INDEX (idx_last_offset) WHERE partition_id = ? AND last_offset >= ? AND base_offset < ?`,
      [String(firstDirty), String(firstDirty), partition, String(logStart), String(end)],
    );
    const total = Number(sums[0]?.total ?? 0);
    const dirty = Number(sums[0]?.dirty ?? 0);
    result.bytesBefore = total;
    result.bytesAfter = total;
    result.dirtyRatio = total > 0 ? dirty / total : 0;
    const oldestDirty = sums[0]?.oldest_dirty;
    if (dirty > 0 && result.dirtyRatio >= policy.minCleanableDirtyRatio) result.trigger = 'dirty-ratio';
    else if (dirty > 0 && oldestDirty !== null && oldestDirty !== undefined && BigInt(oldestDirty) <= now - policy.maxCompactionLagMs) result.trigger = 'max-lag';
    else if (tombstonesDue) result.trigger = 'tombstones';
    else {
      result.skipped = 'below-ratio';
      return;
    }

    // Pass 1: the key map over the dirty section.
    const scan = new DirtyScan(this.maxKeys);
    let from = firstDirty;
    pass1: while (from < end) {
      const rows = await this.page(pool, table, partition, from, end);
      if (rows.length === 0) break;
      for (const row of rows) {
        const m = metaOf(row);
        const records = this.records(row.payload);
        result.scannedBatches++;
        result.scannedBytes += row.payload.length;
        if (m.isControl) m.controlType = controlTypeOf(records);
        if (!scan.add(m, records)) break pass1;
        from = m.lastOffset + 1n;
      }
      if (signal?.aborted) return;
    }
    const scanned = scan.finish();
    if (scanned.end !== null && scanned.end < end) end = scanned.end;
    if (scanned.openTransactionStart !== null && scanned.openTransactionStart < end) end = scanned.openTransactionStart;
    if (end < firstDirty) end = firstDirty;

    const [lastRows] = await pool.query<RowDataPacket[]>(
      `SELECT MAX(base_offset) AS b FROM ${table} WHERE partition_id = ? AND base_offset < ? AND last_offset >= ? AND producer_id >= 0 GROUP BY producer_id`,
      [partition, String(end), String(logStart)],
    );
    const lastOfProducer = new Set(lastRows.map((r) => BigInt(r.b)));
    const decider = new BatchDecider({
      map: scanned.map,
      aborted: scanned.aborted,
      lastOfProducer,
      firstCleanTime: (offset) => firstCleanTimeOf(checkpoint.marks, offset),
      now,
      deleteRetentionMs: policy.deleteRetentionMs,
    });

    // Pass 2: [log start, end) in chunks, each committed on its own.
    from = logStart;
    while (from < end) {
      if (signal?.aborted) return;
      const rows = await this.page(pool, table, partition, from, end);
      if (rows.length === 0) break;
      const updates: Array<{ row: Row; payload: Buffer; count: number; first: bigint; max: bigint }> = [];
      const deletes: Row[] = [];
      for (const row of rows) {
        const m = metaOf(row);
        const scannedBatch = scanBatchForCompaction(row.payload, { maxDecompressedBytes: this.o.maxDecompressedBytes });
        result.scannedBatches++;
        result.scannedBytes += row.payload.length;
        if (m.isControl) m.controlType = controlTypeOf(scannedBatch.records);
        const d = decider.decide(m, scannedBatch.records);
        result.tombstonesRemoved += d.tombstones;
        result.abortedRemoved += d.aborted;
        result.recordsRemoved += d.superseded + d.tombstones + d.aborted + d.noKey;
        if (d.action === 'delete') deletes.push(row);
        else if (d.action === 'rewrite') {
          const payload = rewriteBatch(row.payload, scannedBatch, d.keep);
          updates.push({
            row,
            payload,
            count: payload.readInt32BE(57),
            first: payload.readBigInt64BE(27),
            max: payload.readBigInt64BE(35),
          });
        }
        from = m.lastOffset + 1n;
      }
      if (updates.length > 0 || deletes.length > 0) {
        // Other brokers learn of the chunk from the generation, bumped before the rows change:
        // a broker that drops its cached batches then reads them from MySQL (old rows until the
        // commit, new after), and a crash between the two leaves no broker with stale cache.
        await bumpGeneration(meta, topic.topicId, partition, from, now);
        await withTransaction(pool, async (conn) => {
          // Statements of up to ~8 MiB for the chunk's rewrites (well under max_allowed_packet):
          // every row exists (the partition lock keeps retention away, appends only add rows
          // after the head), so each VALUES row updates its row in place; last_offset is unchanged.
          for (let i = 0; i < updates.length; ) {
            let j = i;
            for (let size = 0; j < updates.length && (j === i || size + updates[j]!.payload.length <= UPSERT_BYTES); j++) size += updates[j]!.payload.length;
            const part = updates.slice(i, j);
            i = j;
            await conn.query(
              `INSERT INTO ${table} (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload)
               VALUES ? ON DUPLICATE KEY UPDATE payload = VALUES(payload), byte_size = VALUES(byte_size), record_count = VALUES(record_count),
               first_timestamp = VALUES(first_timestamp), max_timestamp = VALUES(max_timestamp)`,
              [
                part.map((u) => [
                  partition,
                  String(u.row.base_offset),
                  String(u.row.last_offset),
                  u.count,
                  String(u.first),
                  String(u.max),
                  String(u.row.producer_id),
                  u.payload.readInt16BE(51),
                  u.payload.readInt32BE(53),
                  u.row.is_transactional,
                  u.row.is_control,
                  u.payload.length,
                  u.payload,
                ]),
              ],
            );
          }
          if (deletes.length > 0) {
            await conn.query(`DELETE FROM ${table} WHERE partition_id = ? AND base_offset IN (?)`, [partition, deletes.map((r) => String(r.base_offset))]);
          }
        });
        for (const u of updates) result.bytesAfter += u.payload.length - u.row.payload.length;
        for (const r of deletes) result.bytesAfter -= r.payload.length;
        result.rewrittenBatches += updates.length;
        result.deletedBatches += deletes.length;
        result.chunks++;
        this.o.onCompacted?.(topic.topicId, partition, from);
        this.o.logger?.info(
          { topic: topic.name, partition, chunk: result.chunks, rewritten: updates.length, deleted: deletes.length, upTo: String(from) },
          'compaction: chunk committed',
        );
        await this.o.afterChunk?.(topic.name, partition, result.chunks);
      }
    }
    if (signal?.aborted) return;
    const marks = addMark(checkpoint.marks, end, now);
    await writeCheckpoint(meta, topic.topicId, partition, { cleanedUpto: end, marks, nextDueMs: decider.nextDue }, now);
    result.cleanedUpto = end;
  }

  private records(payload: Buffer): CompactionRecord[] {
    return scanBatchForCompaction(payload, { maxDecompressedBytes: this.o.maxDecompressedBytes }).records;
  }

  /** Rows from the batch containing `from`, below `end`, at most chunkBatches rows and about chunkBytes bytes. */
  private async page(pool: Pool, table: string, partition: number, from: bigint, end: bigint): Promise<Row[]> {
    const [index] = await pool.query<RowDataPacket[]>(
      `SELECT base_offset, byte_size FROM ${table} FORCE INDEX (idx_last_offset)
       WHERE partition_id = ? AND last_offset >= ? AND base_offset < ? ORDER BY last_offset LIMIT ${this.chunkBatches}`,
      [partition, String(from), String(end)],
    );
    if (index.length === 0) return [];
    let bytes = 0;
    let n = 0;
    for (const r of index) {
      if (n > 0 && bytes + Number(r.byte_size) > this.chunkBytes) break;
      bytes += Number(r.byte_size);
      n++;
    }
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT ${META_COLUMNS} FROM ${table} WHERE partition_id = ? AND base_offset >= ? AND base_offset <= ? ORDER BY base_offset`,
      [partition, String(index[0]!.base_offset), String(index[n - 1]!.base_offset)],
    );
    return rows as unknown as Row[];
  }

  /**
   * The end of what may be cleaned: the newest batch never; nor the active head (batches newer
   * than now - max(segment.ms, min.compaction.lag.ms), and the last segment.bytes of the log).
   * Null when the partition has no rows.
   */
  private async cleanableEnd(pool: Pool, table: string, partition: number, logStart: bigint, policy: CompactionPolicy, now: bigint): Promise<bigint | null> {
    const [newestRows] = await pool.query<RowDataPacket[]>(`SELECT MAX(base_offset) AS b, COALESCE(SUM(byte_size), 0) AS total FROM ${table} FORCE INDEX (idx_last_offset) WHERE partition_id = ? AND last_offset >= ?`, [
      partition,
      String(logStart),
    ]);
    const newest = newestRows[0]?.b;
    if (newest === null || newest === undefined) return null;
    const newestBase = BigInt(newest);
    // The head Kafka would still be writing: its active segment rolls after segment.ms or
    // segment.bytes, so the head is what is both newer than segment.ms and within the last
    // segment.bytes; min.compaction.lag.ms holds back what is newer than it as well.
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT MIN(CASE WHEN max_timestamp > ? THEN base_offset END) AS seg, MIN(CASE WHEN max_timestamp > ? THEN base_offset END) AS lag
       FROM ${table} FORCE INDEX (idx_last_offset) WHERE partition_id = ? AND last_offset >= ?`,
      [String(now - policy.segmentMs), String(now - policy.minCompactionLagMs), partition, String(logStart)],
    );
    const seg = rows[0]?.seg;
    const lag = rows[0]?.lag;
    let head = seg === null || seg === undefined ? newestBase : BigInt(seg);
    const total = BigInt(newestRows[0]?.total ?? 0);
    if (total > policy.segmentBytes) {
      // The cut by size is after the batch where the running size (from the newest) passes segment.bytes.
      const [cut] = await pool.query<RowDataPacket[]>(
        `SELECT last_offset FROM (
           SELECT last_offset, SUM(byte_size) OVER (ORDER BY last_offset DESC) AS cum
           FROM ${table} FORCE INDEX (idx_last_offset) WHERE partition_id = ? AND last_offset >= ?) x
         WHERE cum > ? ORDER BY last_offset DESC LIMIT 1`,
        [partition, String(logStart), String(policy.segmentBytes)],
      );
      const l = cut[0]?.last_offset;
      if (l !== null && l !== undefined && BigInt(l) + 1n > head) head = BigInt(l) + 1n;
    }
    let end = head < newestBase ? head : newestBase;
    if (lag !== null && lag !== undefined && BigInt(lag) < end) end = BigInt(lag);
    return end > logStart ? end : logStart;
  }
}

function metaOf(row: Row): BatchMeta {
  return {
    baseOffset: BigInt(row.base_offset),
    lastOffset: BigInt(row.last_offset),
    producerId: BigInt(row.producer_id),
    isTransactional: Number(row.is_transactional) === 1,
    isControl: Number(row.is_control) === 1,
  };
}

/** A control batch's marker type: its record's key is (version int16, type int16: 0 abort, 1 commit). */
function controlTypeOf(records: readonly CompactionRecord[]): ControlType {
  const key = records[0]?.key;
  if (!key || key.length < 4) return null;
  const type = key.readInt16BE(2);
  return type === 1 ? 'commit' : type === 0 ? 'abort' : null;
}
