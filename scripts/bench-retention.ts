/**
 * Retention deletion throughput on a partition of at least 1 GiB (docs/operations.md).
 *
 *   npm run bench:retention [-- --mib 1100 --batch-kib 1024 --chunk-mib 64 --row-image FULL|MINIMAL]
 *
 * Starts a private MariaDB (managed, as `start` does: binlog on, sync_binlog=1) in a temp
 * directory, or uses KAFKA_MYSQL_BENCH_URL (a database it may create tables in). Writes the
 * partition with direct multi-row INSERTs of stored-format batches (old timestamps), then
 * runs the retention cleaner once (time retention: everything but the newest batch) and
 * prints batches/s and MB/s. Removes its directory (or tables) at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { assignBatchOffsets } from '../codec/records/batch-header.js';
import { openStorage } from '../storage/index.js';
import { startManagedMariadb, type ManagedMariadb } from '../storage/managed-mariadb.js';
import { logTableName } from '../storage/schema.js';
import { buildTestBatch, testPools } from '../storage/testing.js';
import { numberArg, stringArg } from './bench/cli-args.js';

const totalMiB = numberArg('mib', '1100');
const batchKiB = numberArg('batch-kib', '1024');
const chunkMiB = numberArg('chunk-mib', '64');
const rowImage = stringArg('row-image', 'FULL').toUpperCase();

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  let managed: ManagedMariadb | null = null;
  let dir: string | null = null;
  let url = process.env.KAFKA_MYSQL_BENCH_URL;
  if (!url) {
    dir = await mkdtemp(join(tmpdir(), 'kafka-mysql-bench-retention-'));
    managed = await startManagedMariadb({ dataDir: dir, port: 0, bufferPoolSize: '512M', logFileSize: '256M', extraArgs: [`--binlog-row-image=${rowImage}`] });
    url = managed.url;
  }
  const storage = await openStorage({ metadataUrl: url, poolSize: 4, logger });
  try {
    const topicName = `bench-retention-${Date.now()}`;
    const topic = await storage.catalog.createTopic({ name: topicName, partitions: 1, configs: {} });
    const table = logTableName(topic.topicId);
    const batchBytes = batchKiB * 1024;
    const count = Math.ceil((totalMiB * 1024 * 1024) / batchBytes);
    const old = Date.now() - 40 * 86_400_000;
    const template = buildTestBatch({ values: [Buffer.alloc(batchBytes - 80, 7)], baseTimestamp: BigInt(old) });
    // Setup writes rows straight into the log table (test access to the pool), bypassing the produce path.
    const pool = testPools(storage).shardPools[0]!;
    const insertStarted = performance.now();
    let offset = 0n;
    const perStatement = Math.max(1, Math.floor((8 * 1024 * 1024) / template.length));
    while (offset < BigInt(count)) {
      const rows: unknown[][] = [];
      for (let i = 0; i < perStatement && offset < BigInt(count); i++) {
        const b = Buffer.from(template);
        assignBatchOffsets(b, offset, 0);
        rows.push([0, offset.toString(), offset.toString(), 1, old, old, -1, -1, -1, 0, 0, b.length, b]);
        offset++;
      }
      await pool.query(
        `INSERT INTO \`${table}\` (partition_id, base_offset, last_offset, record_count, first_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, is_transactional, is_control, byte_size, payload) VALUES ?`,
        [rows],
      );
    }
    const insertSec = (performance.now() - insertStarted) / 1000;
    const totalBytes = count * template.length;
    console.log(`partition: ${count} batches of ${template.length} bytes = ${(totalBytes / 2 ** 30).toFixed(2)} GiB, written in ${insertSec.toFixed(1)} s`);

    const cleaner = storage.retentionCleaner({ chunkBatches: 500, chunkBytes: chunkMiB * 1024 * 1024, logger });
    const started = performance.now();
    const r = await cleaner.cleanPartition(topic, 0, { retentionMs: 86_400_000n, retentionBytes: -1n, archive: 'none' });
    const sec = (performance.now() - started) / 1000;
    await cleaner.close();
    console.log(
      `deleted ${r.batches} batches, ${(r.bytes / 2 ** 20).toFixed(0)} MiB in ${r.chunks} chunks (${chunkMiB} MiB each) in ${sec.toFixed(2)} s: ` +
        `${(r.batches / sec).toFixed(0)} batches/s, ${(r.bytes / 1e6 / sec).toFixed(1)} MB/s (binlog_row_image=${rowImage}${managed ? ', managed MariaDB, sync_binlog=1' : ''}); log start ${r.logStartAfter}`,
    );
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
