import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { findOffsetForTimestamp, maxTimestampRecord } from '../codec/records/records.js';
import { quoteIdent } from './mysql.js';
import type { OffsetAndTimestamp } from './types.js';

/**
 * Point queries on one partition of a log table, apart from the Fetch read (partition-log.ts):
 * its end (readNextOffset, at load and reload) and ListOffsets by time.
 */

/** MAX(last_offset) + 1 of a partition, or its log start when it has no rows. */
export async function readNextOffset(
  conn: Pick<Connection, 'query'>,
  table: string,
  partition: number,
  logStart: bigint,
): Promise<bigint> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT MAX(last_offset) AS m FROM ${quoteIdent(table)} WHERE partition_id = ?`,
    [partition],
  );
  const m = rows[0]?.m;
  const next = m === null || m === undefined ? logStart : BigInt(m) + 1n;
  return next > logStart ? next : logStart;
}

/**
 * ListOffsets by time on one partition of a log table (MysqlPartitionLog's offsetForTimestamp
 * and maxTimestamp): the index finds the batch by its max_timestamp column, then that one
 * batch's payload is read and searched record by record. Only batches in
 * [logStart, highWatermark) count.
 */
export interface LogTableRange {
  pool: Pool;
  /** The log table's name, quoted. */
  quotedTable: string;
  partition: number;
  logStart: bigint;
  highWatermark: bigint;
}

/** The first record at or after `timestamp` (its offset not below the log start), or null. */
export async function queryOffsetForTimestamp(r: LogTableRange, timestamp: bigint): Promise<OffsetAndTimestamp | null> {
  const [rows] = await r.pool.query<RowDataPacket[]>(
    `SELECT base_offset FROM ${r.quotedTable} FORCE INDEX (idx_last_offset)
     WHERE partition_id = ? AND last_offset >= ? AND base_offset < ? AND max_timestamp >= ?
     ORDER BY last_offset LIMIT 1`,
    [r.partition, r.logStart.toString(), r.highWatermark.toString(), timestamp.toString()],
  );
  if (rows.length === 0) return null;
  const batch = await payloadAt(r, String(rows[0]!.base_offset));
  if (!batch) return null;
  const found = findOffsetForTimestamp(batch, timestamp);
  if (found && found.offset < r.logStart) return { offset: r.logStart, timestamp: found.timestamp };
  return found;
}

/** The record with the largest timestamp (the first of them), or null. */
export async function queryMaxTimestamp(r: LogTableRange): Promise<OffsetAndTimestamp | null> {
  const [rows] = await r.pool.query<RowDataPacket[]>(
    `SELECT base_offset FROM ${r.quotedTable} FORCE INDEX (idx_last_offset)
     WHERE partition_id = ? AND last_offset >= ? AND base_offset < ?
     ORDER BY max_timestamp DESC, base_offset ASC LIMIT 1`,
    [r.partition, r.logStart.toString(), r.highWatermark.toString()],
  );
  if (rows.length === 0) return null;
  const batch = await payloadAt(r, String(rows[0]!.base_offset));
  return batch ? maxTimestampRecord(batch) : null;
}

async function payloadAt(r: LogTableRange, baseOffset: string): Promise<Buffer | undefined> {
  const [rows] = await r.pool.query<RowDataPacket[]>(
    `SELECT payload FROM ${r.quotedTable} WHERE partition_id = ? AND base_offset = ?`,
    [r.partition, baseOffset],
  );
  return rows[0]?.payload as Buffer | undefined;
}
