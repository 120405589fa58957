import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { createPool } from './mysql.js';
import { BATCH_COLUMNS_SQL, LOG_INSERT_COLUMNS } from './schema.js';
import { withTransaction } from './transaction.js';

/**
 * Cold storage for batches the retention job deletes (topic config `retention.archive`).
 *
 * table: rows of `log_archive` (same columns as a log table plus the topic's id and name), in
 * the partition's own shard (INSERT ... SELECT in the deleting transaction) or in another
 * MySQL (copied first, INSERT IGNORE by primary key, so a rerun after a crash is harmless).
 *
 * file: one gzip file per deleted chunk, `<dir>/<topic>/<partition>/<first>-<last>.kma.gz`,
 * written to a temporary name, fsynced, renamed and the directory fsynced before the rows
 * are deleted. Content (before gzip): the line `KMARCHIVE1 <json header>\n`, then per batch a
 * 28-byte header (int64 base offset, int64 last offset, int64 max timestamp, int32 size)
 * followed by the stored batch bytes. A rerun after a crash may write a file overlapping an
 * earlier one; readers keep the first copy of each base offset.
 */

export const ARCHIVE_TABLE = 'log_archive';

export type ArchiveMode = 'none' | 'table' | 'file';

export function createArchiveTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS \`${ARCHIVE_TABLE}\` (
  topic_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  topic_name VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
${BATCH_COLUMNS_SQL}
  archived_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (topic_id, partition_id, base_offset),
  KEY idx_archive_name (topic_name, partition_id, base_offset)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/** Log-table columns copied into the archive, in order: all of them. */
export const ARCHIVED_COLUMNS = LOG_INSERT_COLUMNS;

/** One archived batch as read back. */
export interface ArchivedBatch {
  topicId: string;
  partition: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  payload: Buffer;
}

/** A stored row of a log table (all archived columns). */
export type LogRow = RowDataPacket & Record<(typeof ARCHIVED_COLUMNS)[number], unknown>;

/** Copies rows into an archive table in another database; idempotent (INSERT IGNORE). */
export async function copyRowsToArchiveTable(
  pool: Pool,
  topicId: string,
  topicName: string,
  rows: LogRow[],
  maxStatementBytes = 8 * 1024 * 1024,
): Promise<void> {
  await withTransaction(pool, async (conn) => {
    let pending: unknown[][] = [];
    let bytes = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      await conn.query(`INSERT IGNORE INTO \`${ARCHIVE_TABLE}\` (topic_id, topic_name, ${ARCHIVED_COLUMNS.join(', ')}) VALUES ?`, [pending]);
      pending = [];
      bytes = 0;
    };
    for (const r of rows) {
      const size = (r.payload as Buffer).length;
      if (bytes > 0 && bytes + size > maxStatementBytes) await flush();
      pending.push([topicId, topicName, ...ARCHIVED_COLUMNS.map((c) => r[c])]);
      bytes += size;
    }
    await flush();
  });
}

/** Reads a topic's archived batches from one archive database, by topic name, in offset order. */
export async function* readArchiveTable(
  pool: Pool,
  topicName: string,
  options: { topicId?: string; pageBytes?: number } = {},
): AsyncGenerator<ArchivedBatch> {
  const pageRows = 200;
  let after: { topicId: string; partition: number; baseOffset: string } | null = null;
  for (;;) {
    const params: unknown[] = [topicName];
    let where = 'topic_name = ?';
    if (options.topicId) {
      where += ' AND topic_id = ?';
      params.push(options.topicId);
    }
    if (after) {
      where += ' AND (topic_id, partition_id, base_offset) > (?, ?, ?)';
      params.push(after.topicId, after.partition, after.baseOffset);
    }
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT topic_id, partition_id, base_offset, last_offset, max_timestamp, payload FROM \`${ARCHIVE_TABLE}\`
       WHERE ${where} ORDER BY topic_id, partition_id, base_offset LIMIT ${pageRows}`,
      params,
    );
    for (const r of rows) {
      yield {
        topicId: String(r.topic_id),
        partition: Number(r.partition_id),
        baseOffset: BigInt(r.base_offset),
        lastOffset: BigInt(r.last_offset),
        maxTimestamp: BigInt(r.max_timestamp),
        payload: r.payload as Buffer,
      };
    }
    if (rows.length < pageRows) return;
    const last = rows[rows.length - 1]!;
    after = { topicId: String(last.topic_id), partition: Number(last.partition_id), baseOffset: String(last.base_offset) };
  }
}

/**
 * A topic's archived batches from the archive tables of several databases (by MySQL URL), one
 * database after the other, each in offset order; a database without an archive table is
 * skipped. Connections are opened here and closed when the reading ends.
 */
export async function* readArchiveTables(
  urls: readonly string[],
  topicName: string,
  options: { topicId?: string } = {},
): AsyncGenerator<ArchivedBatch> {
  for (const url of urls) {
    const pool = createPool(url, { connectionLimit: 1 });
    try {
      const [exists] = await pool.query<RowDataPacket[]>(
        'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [ARCHIVE_TABLE],
      );
      if (exists.length === 0) continue;
      yield* readArchiveTable(pool, topicName, options);
    } finally {
      await pool.end().catch(() => undefined);
    }
  }
}

const FILE_MAGIC = 'KMARCHIVE1';
const BATCH_HEADER = 28;
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface ArchiveFileHeader {
  topic: string;
  topicId: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  batches: number;
  createdAt: string;
}

function pad(offset: bigint): string {
  return offset.toString().padStart(20, '0');
}

/** Writes one chunk's batches to a gzip file and makes it durable (file and directory fsync). Returns its path. */
export async function writeArchiveFile(
  dir: string,
  topic: string,
  topicId: string,
  partition: number,
  rows: LogRow[],
): Promise<string> {
  if (rows.length === 0) throw new Error('nothing to archive');
  const first = BigInt(rows[0]!.base_offset as string);
  const last = BigInt(rows[rows.length - 1]!.last_offset as string);
  const header: ArchiveFileHeader = {
    topic,
    topicId,
    partition,
    firstOffset: first.toString(),
    lastOffset: last.toString(),
    batches: rows.length,
    createdAt: new Date().toISOString(),
  };
  const parts: Buffer[] = [Buffer.from(`${FILE_MAGIC} ${JSON.stringify(header)}\n`)];
  for (const r of rows) {
    const payload = r.payload as Buffer;
    const h = Buffer.allocUnsafe(BATCH_HEADER);
    h.writeBigInt64BE(BigInt(r.base_offset as string), 0);
    h.writeBigInt64BE(BigInt(r.last_offset as string), 8);
    h.writeBigInt64BE(BigInt(r.max_timestamp as string), 16);
    h.writeInt32BE(payload.length, 24);
    parts.push(h, payload);
  }
  const compressed = await gzipAsync(Buffer.concat(parts), { level: 1 });
  const partitionDir = join(dir, topic, String(partition));
  await mkdir(partitionDir, { recursive: true });
  const name = `${pad(first)}-${pad(last)}.kma.gz`;
  const path = join(partitionDir, name);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(compressed);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dh = await open(partitionDir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return path;
}

/** Parses one archive file. */
export async function readArchiveFile(path: string): Promise<{ header: ArchiveFileHeader; batches: ArchivedBatch[] }> {
  const raw = await gunzipAsync(await readFile(path));
  const nl = raw.indexOf(0x0a);
  const line = nl > 0 ? raw.subarray(0, nl).toString('utf8') : '';
  if (!line.startsWith(`${FILE_MAGIC} `)) throw new Error(`${path} is not a kafka-mysql archive file`);
  const header = JSON.parse(line.slice(FILE_MAGIC.length + 1)) as ArchiveFileHeader;
  const batches: ArchivedBatch[] = [];
  let pos = nl + 1;
  while (pos < raw.length) {
    if (pos + BATCH_HEADER > raw.length) throw new Error(`${path}: truncated batch header at byte ${pos}`);
    const size = raw.readInt32BE(pos + 24);
    const end = pos + BATCH_HEADER + size;
    if (size < 0 || end > raw.length) throw new Error(`${path}: truncated batch at byte ${pos}`);
    batches.push({
      topicId: header.topicId,
      partition: header.partition,
      baseOffset: raw.readBigInt64BE(pos),
      lastOffset: raw.readBigInt64BE(pos + 8),
      maxTimestamp: raw.readBigInt64BE(pos + 16),
      payload: raw.subarray(pos + BATCH_HEADER, end),
    });
    pos = end;
  }
  return { header, batches };
}

/**
 * Every archived batch of a topic under `dir`, partition by partition in offset order, each
 * base offset once (files written twice by an interrupted run overlap).
 */
export async function* readArchiveDir(dir: string, topic: string): AsyncGenerator<ArchivedBatch> {
  const topicDir = join(dir, topic);
  let partitions: string[];
  try {
    partitions = await readdir(topicDir);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return;
    throw err;
  }
  const sorted = partitions.filter((p) => /^\d+$/.test(p)).sort((a, b) => Number(a) - Number(b));
  for (const p of sorted) {
    const files = (await readdir(join(topicDir, p))).filter((f) => f.endsWith('.kma.gz')).sort();
    let next = -1n;
    for (const f of files) {
      const { batches } = await readArchiveFile(join(topicDir, p, f));
      for (const b of batches) {
        if (b.baseOffset < next) continue;
        next = b.lastOffset + 1n;
        yield b;
      }
    }
  }
}

/** Removes temporary files left by a write interrupted before its rename. */
export async function removeArchiveTempFiles(dir: string, topic: string, partition: number): Promise<void> {
  const partitionDir = join(dir, topic, String(partition));
  let files: string[];
  try {
    files = await readdir(partitionDir);
  } catch {
    return;
  }
  await Promise.all(files.filter((f) => f.endsWith('.tmp')).map((f) => rm(join(partitionDir, f), { force: true })));
}
