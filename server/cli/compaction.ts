import { destination, pino } from 'pino';
import type { PartitionCompactionResult } from '../../storage/compaction/cleaner.js';
import { compactionTargets } from '../compaction/policy.js';
import { createCompactionCleaner } from '../compaction/service.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table } from './common.js';
import { Interruption, openDirectStorage } from './direct-storage.js';

/**
 * `kafka-mysql compaction run [--topic T ...]`: the broker's compaction job, run once directly
 * against MySQL (for cron), over every topic whose cleanup.policy includes compact (or those
 * named). Configuration is loaded as `start` loads it; without mysql.url it uses the managed
 * MariaDB a broker runs under mysql.data.dir. Takes the same per-partition locks as the
 * brokers' retention and compaction jobs, so it never works on a partition at the same time as
 * they do. Brokers drop cached batches it rewrote within log.start.offset.refresh.ms. Prints
 * per partition what was scanned and removed; logs (pino: chunks) go to stderr. Exits 1 when
 * any partition failed, 130/143 when interrupted (the chunk in progress finishes first).
 */
export const COMPACTION_USAGE = `compaction run [--topic T ...] [--all] [--config FILE] [--set KEY=VALUE ...]
        compact topics whose cleanup.policy includes compact (latest record per key, tombstones after delete.retention.ms), directly in MySQL`;

export async function compactionCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new UsageError(`unknown compaction command '${sub ?? ''}'\nusage: kafka-mysql ${COMPACTION_USAGE}`);
  const args = parseArgs(rest, { booleans: ['--all'], repeatable: ['--topic'] });
  const config = configFrom(args);
  const logger = pino({ level: config.logLevel, base: { tool: 'compaction' } }, destination(2));
  const storage = await openDirectStorage('compaction run', config, logger, 2);
  const cleaner = createCompactionCleaner(storage, config, logger);
  const interruption = new Interruption();
  try {
    const only = args.all('--topic');
    let targets;
    try {
      targets = compactionTargets(storage.catalog.listTopics(), config, only.length > 0 ? only : null);
    } catch (err) {
      throw new CommandError((err as Error).message);
    }
    const result = await cleaner.run(targets, { signal: interruption.signal });
    const shown = args.has('--all') ? result.partitions : result.partitions.filter((p) => p.chunks > 0 || p.skipped === 'locked');
    output(
      args,
      {
        interrupted: interruption.interrupted,
        scannedBytes: result.scannedBytes,
        removedBytes: result.removedBytes,
        ms: result.ms,
        partitions: result.partitions.map(jsonOf),
        errors: result.errors,
      },
      () => {
        const rows = shown.map((p) => [
          p.topic,
          p.partition,
          p.skipped ? `skipped (${p.skipped})` : p.trigger ?? '-',
          p.scannedBytes,
          p.recordsRemoved,
          p.rewrittenBatches,
          p.deletedBatches,
          p.bytesBefore,
          p.bytesAfter,
          p.cleanedUpto < 0n ? '-' : p.cleanedUpto,
        ]);
        const summary = `scanned ${result.scannedBytes} bytes, removed ${result.removedBytes} bytes in ${result.partitions.length} partitions (${result.ms} ms)${interruption.interrupted ? ' — interrupted' : ''}`;
        const errors = result.errors.map((e) => `error: ${e.topic}/${e.partition}: ${e.error}`).join('\n');
        return [
          rows.length > 0 ? table(['TOPIC', 'PARTITION', 'TRIGGER', 'SCANNED', 'RECORDS-REMOVED', 'REWRITTEN', 'DELETED', 'BYTES-BEFORE', 'BYTES-AFTER', 'CLEANED-UPTO'], rows) : '',
          summary,
          errors,
        ]
          .filter(Boolean)
          .join('\n');
      },
    );
    if (interruption.setExitCode()) return;
    if (result.errors.length > 0) throw new CommandError(`compaction failed for ${result.errors.length} partition(s)`);
  } finally {
    interruption.release();
    await storage.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

function jsonOf(p: PartitionCompactionResult) {
  return {
    topic: p.topic,
    partition: p.partition,
    shard: p.shard,
    skipped: p.skipped,
    trigger: p.trigger,
    dirtyRatio: p.dirtyRatio,
    logStart: p.logStart.toString(),
    firstDirty: p.firstDirty.toString(),
    cleanedUpto: p.cleanedUpto.toString(),
    scannedBatches: p.scannedBatches,
    scannedBytes: p.scannedBytes,
    rewrittenBatches: p.rewrittenBatches,
    deletedBatches: p.deletedBatches,
    recordsRemoved: p.recordsRemoved,
    tombstonesRemoved: p.tombstonesRemoved,
    abortedRemoved: p.abortedRemoved,
    bytesBefore: p.bytesBefore,
    bytesAfter: p.bytesAfter,
    chunks: p.chunks,
    ms: p.ms,
  };
}
