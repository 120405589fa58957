/**
 * Compaction throughput on one large partition (docs/compaction.md, docs/benchmarks.md).
 *
 *   npm run bench:compaction [-- --mib 1024 --keys 100000 --records 16 --value-bytes 1000 --codec none|gzip|lz4|zstd --chunk-mib 64]
 *
 * Starts a private MariaDB (managed, as `start` does: binlog on, sync_binlog=1) in a temp
 * directory, or uses KAFKA_MYSQL_BENCH_URL (a database it may create tables in). Writes the
 * partition with direct multi-row INSERTs of stored-format batches (`--records` records of
 * `--value-bytes` each (half random: about 2:1 compressible), keys drawn at random from `--keys`, so most batches end up partly
 * superseded and are rewritten: the expensive case), then runs the compaction cleaner once
 * over the whole partition and prints MB/s of log scanned (both passes) and of log compacted.
 * Removes its directory (or its topic) at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CompressionType } from '../codec/compression/index.js';
import { loadZstdCompressor } from '../codec/compression/zstd.js';
import { readBatchInfo } from '../codec/records/batch-header.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { openStorage } from '../storage/index.js';
import { startManagedMariadb, type ManagedMariadb } from '../storage/managed-mariadb.js';
import { logTableName } from '../storage/schema.js';
import { testPools } from '../storage/testing.js';
import { numberArg, stringArg } from './bench/cli-args.js';

const totalMiB = numberArg('mib', '1024');
const keys = numberArg('keys', '100000');
const perBatch = numberArg('records', '16');
const valueBytes = numberArg('value-bytes', '1000');
const chunkMiB = numberArg('chunk-mib', '64');
const codecName = stringArg('codec', 'none');
const CODECS: Record<string, CompressionType> = { none: CompressionType.None, gzip: CompressionType.Gzip, lz4: CompressionType.Lz4, zstd: CompressionType.Zstd, snappy: CompressionType.Snappy };

async function main(): Promise<void> {
  const codec = CODECS[codecName];
  if (codec === undefined) throw new Error(`unknown codec ${codecName}`);
  await loadZstdCompressor();
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  let managed: ManagedMariadb | null = null;
  let dir: string | null = null;
  let url = process.env.KAFKA_MYSQL_BENCH_URL;
  if (!url) {
    dir = await mkdtemp(join(tmpdir(), 'kafka-mysql-bench-compaction-'));
    managed = await startManagedMariadb({ dataDir: dir, port: 0, bufferPoolSize: '512M', logFileSize: '256M' });
    url = managed.url;
  }
  const storage = await openStorage({ metadataUrl: url, poolSize: 4, logger });
  try {
    const topicName = `bench-compaction-${Date.now()}`;
    const topic = await storage.catalog.createTopic({ name: topicName, partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    const table = logTableName(topic.topicId);
    const pool = testPools(storage).shardPools[0]!;
    // Setup writes rows straight into the log table (test access to the pool), bypassing the produce path.
    const old = BigInt(Date.now() - 86_400_000);
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed;
    };
    // Each value: random first half, zeros after (compresses about 2:1, like text payloads).
    const valueOf = () => Buffer.concat([randomBytes(valueBytes >> 1), Buffer.alloc(valueBytes - (valueBytes >> 1))]);
    const target = totalMiB * 1024 * 1024;
    const insertStarted = performance.now();
    let offset = 0n;
    let written = 0;
    let batches = 0;
    // Keys of every batch but the newest (which compaction never touches): what must stay is one record per key there, plus the newest batch.
    const seen = new Set<number>();
    let newestKeys: number[] = [];
    while (written < target) {
      const rows: unknown[][] = [];
      let statementBytes = 0;
      while (statementBytes < 8 * 1024 * 1024 && written < target) {
        for (const k of newestKeys) seen.add(k);
        newestKeys = Array.from({ length: perBatch }, () => random() % keys);
        const records = newestKeys.map((k) => ({ key: `key-${k}`, value: valueOf(), timestamp: old }));
        const b = buildRecordBatch({ baseOffset: offset, records, compression: codec, partitionLeaderEpoch: 0 });
        const info = readBatchInfo(b, 0);
        rows.push([0, offset.toString(), (offset + BigInt(perBatch - 1)).toString(), perBatch, String(info.baseTimestamp), String(info.maxTimestamp), -1, -1, -1, 0, 0, b.length, b]);
        offset += BigInt(perBatch);
        written += b.length;
        statementBytes += b.length;
        batches++;
      }
      await pool.query(
        `INSERT INTO \`${table}\` (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload) VALUES ?`,
        [rows],
      );
    }
    const insertSec = (performance.now() - insertStarted) / 1000;
    console.log(
      `partition: ${batches} batches of ${perBatch} records (${valueBytes}-byte values, ${keys} keys, codec ${codecName}) = ${(written / 2 ** 30).toFixed(2)} GiB, written in ${insertSec.toFixed(1)} s`,
    );

    const cleaner = storage.compactionCleaner({ chunkBatches: 500, chunkBytes: chunkMiB * 1024 * 1024, logger });
    const policy = { deleteRetentionMs: 86_400_000n, minCompactionLagMs: 0n, maxCompactionLagMs: 9223372036854775807n, minCleanableDirtyRatio: 0.5, segmentMs: 1n, segmentBytes: 1n << 40n };
    const started = performance.now();
    const r = await cleaner.compactPartition(topic, 0, policy);
    const sec = (performance.now() - started) / 1000;
    console.log(
      `compacted in ${sec.toFixed(1)} s: scanned ${(r.scannedBytes / 1e6).toFixed(0)} MB (both passes) = ${(r.scannedBytes / 1e6 / sec).toFixed(1)} MB/s scanned, ` +
        `${(r.bytesBefore / 1e6 / sec).toFixed(1)} MB/s of log compacted; ${r.rewrittenBatches} batches rewritten, ${r.deletedBatches} deleted, ` +
        `${r.recordsRemoved} records removed; ${(r.bytesBefore / 2 ** 20).toFixed(0)} MiB -> ${(r.bytesAfter / 2 ** 20).toFixed(0)} MiB in ${r.chunks} chunks` +
        `${managed ? ' (managed MariaDB, sync_binlog=1)' : ''}`,
    );
    const kept = batches * perBatch - r.recordsRemoved;
    const expected = seen.size + perBatch;
    console.log(`records kept: ${kept}, expected ${expected} (distinct keys before the newest batch + the newest batch)${kept === expected ? '' : ' — MISMATCH'}`);
    if (kept !== expected) process.exitCode = 1;
    await storage.catalog.deleteTopic(topicName);
  } finally {
    await storage.close();
    await managed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
