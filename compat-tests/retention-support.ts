/**
 * Helpers of the retention, admin and CLI tests: batches written straight into a partition's
 * log table (fast setup of old or large partitions), the CLI as a child process, and MySQL
 * look-ups of a partition's rows and log start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { assignBatchOffsets } from '../codec/records/batch-header.js';
import { connect } from '../storage/mysql.js';
import { logTableName } from '../storage/schema.js';
import { buildTestBatch } from '../storage/testing.js';

export const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

/** Appends `count` one-record batches (value of `valueBytes`) at timestamp `timestampMs` after the partition's last row. */
export async function insertBatches(
  mysqlUrl: string,
  topicId: string,
  partition: number,
  count: number,
  timestampMs: number,
  valueBytes = 100,
): Promise<{ first: bigint; next: bigint }> {
  const conn = await connect(mysqlUrl);
  try {
    const table = logTableName(topicId);
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT MAX(last_offset) AS m FROM \`${table}\` WHERE partition_id = ?`, [partition]);
    const [ls] = await conn.query<RowDataPacket[]>('SELECT log_start_offset FROM partitions WHERE topic_id = ? AND partition_id = ?', [topicId, partition]);
    let offset = rows[0]?.m === null || rows[0]?.m === undefined ? BigInt(ls[0]?.log_start_offset ?? 0) : BigInt(rows[0].m) + 1n;
    const first = offset;
    let values: unknown[][] = [];
    let bytes = 0;
    const flush = async () => {
      if (values.length === 0) return;
      await conn.query(
        `INSERT INTO \`${table}\` (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload) VALUES ?`,
        [values],
      );
      values = [];
      bytes = 0;
    };
    for (let i = 0; i < count; i++) {
      const batch = buildTestBatch({ values: [Buffer.alloc(valueBytes, i % 251)], baseTimestamp: BigInt(timestampMs) });
      assignBatchOffsets(batch, offset, 0);
      values.push([partition, offset.toString(), offset.toString(), 1, timestampMs, timestampMs, -1, -1, -1, 0, 0, batch.length, batch]);
      bytes += batch.length;
      offset += 1n;
      if (bytes > 4 * 1024 * 1024) await flush();
    }
    await flush();
    return { first, next: offset };
  } finally {
    await conn.end();
  }
}

export interface PartitionState {
  logStart: bigint;
  rows: number;
  bytes: number;
  firstBase: bigint | null;
  lastBase: bigint | null;
  /** Rows lying wholly below the log start (must never be visible; normally none). */
  belowStart: number;
}

export async function partitionState(mysqlUrl: string, topicId: string, partition: number): Promise<PartitionState> {
  const conn = await connect(mysqlUrl);
  try {
    const table = logTableName(topicId);
    const [ls] = await conn.query<RowDataPacket[]>('SELECT log_start_offset FROM partitions WHERE topic_id = ? AND partition_id = ?', [topicId, partition]);
    const logStart = BigInt(ls[0]?.log_start_offset ?? -1);
    const [r] = await conn.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, COALESCE(SUM(byte_size), 0) AS b, MIN(base_offset) AS f, MAX(base_offset) AS l, SUM(last_offset < ?) AS below FROM \`${table}\` WHERE partition_id = ?`,
      [logStart.toString(), partition],
    );
    const row = r[0]!;
    return {
      logStart,
      rows: Number(row.n),
      bytes: Number(row.b),
      firstBase: row.f === null ? null : BigInt(row.f),
      lastBase: row.l === null ? null : BigInt(row.l),
      belowStart: Number(row.below ?? 0),
    };
  } finally {
    await conn.end();
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; killed (SIGKILL) if it outlives `timeoutMs`. */
export function runCli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKA_MYSQL_URL: undefined, KAFKA_MYSQL_CONFIG: undefined },
  });
}
