import { destination, pino } from 'pino';
import type { OrphanTableSweepResult } from '../../storage/orphan-tables.js';
import type { PartitionRetentionResult } from '../../storage/retention.js';
import { notifyClusterMetadataChanged } from '../cluster/notify.js';
import { retentionTargets } from '../retention/policy.js';
import { createRetentionCleaner, sweepOrphanTables } from '../retention/service.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table } from './common.js';
import { Interruption, openDirectStorage } from './direct-storage.js';

/**
 * `kafka-mysql retention run [--topic T ...] [--dry-run]`: the broker's retention job, run
 * once directly against MySQL (for cron), followed by the orphan log-table sweep (skipped with
 * --topic, which limits the run to those topics; --dry-run only reports what it would drop). Configuration is loaded as `start` loads it; without
 * mysql.url it uses the managed MariaDB a broker runs under mysql.data.dir. Takes the same per-partition locks as the brokers, so it never deletes
 * concurrently with them. With zookeeper.connect set, tells the brokers of the cluster through
 * ZooKeeper when log starts moved, so they apply it at once (docs/cluster.md). Prints partitions, batches, bytes and new log start offsets; logs
 * (pino, chunk sizes and times) go to stderr. Exits 1 when any partition failed, 130/143
 * when interrupted (the chunk in progress finishes first).
 */
export const RETENTION_USAGE = `retention run [--topic T ...] [--dry-run] [--config FILE] [--set KEY=VALUE ...]
        delete what retention.ms / retention.bytes / DeleteRecords allow, directly in MySQL (mysql.url, or the managed MariaDB running under mysql.data.dir),
        then drop log tables no topic refers to (older than log.orphan.table.grace.ms; not with --topic)`;

export async function retentionCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new UsageError(`unknown retention command '${sub ?? ''}'\nusage: kafka-mysql ${RETENTION_USAGE}`);
  const args = parseArgs(rest, { booleans: ['--dry-run', '--all'], repeatable: ['--topic'] });
  const config = configFrom(args);
  const logger = pino({ level: config.logLevel, base: { tool: 'retention' } }, destination(2));
  const storage = await openDirectStorage('retention run', config, logger, 2);
  const cleaner = createRetentionCleaner(storage, config, logger);
  const interruption = new Interruption();
  try {
    const only = args.all('--topic');
    let targets;
    try {
      targets = retentionTargets(storage.catalog.listTopics(), config, only.length > 0 ? only : null);
    } catch (err) {
      throw new CommandError((err as Error).message);
    }
    const dryRun = args.has('--dry-run');
    const result = await cleaner.run(targets, { dryRun, signal: interruption.signal });
    // Orphan tables belong to no topic, so a run limited to some topics leaves them alone.
    const orphans = only.length > 0 || interruption.signal.aborted ? null : await sweepOrphanTables(storage, config, logger, { dryRun, signal: interruption.signal });
    // Several brokers: they learn of moved log starts now, not at their next refresh.
    const moved = result.partitions.some((p) => p.logStartAfter !== p.logStartBefore) || (orphans !== null && orphans.tables.length > 0);
    let notified: boolean | string = false;
    if (!dryRun && moved) {
      notified = await notifyClusterMetadataChanged(config, 'retention').catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'cannot tell the brokers through ZooKeeper; they see the change at their next log.start.offset.refresh.ms');
        return `failed: ${(err as Error).message}`;
      });
    }
    const shown = args.has('--all') ? result.partitions : result.partitions.filter((p) => p.batches > 0 || p.skipped || p.logStartAfter !== p.logStartBefore);
    output(
      args,
      {
        dryRun,
        interrupted: interruption.interrupted,
        batches: result.batches,
        bytes: result.bytes,
        ms: result.ms,
        partitions: result.partitions.map(jsonOf),
        errors: result.errors,
        orphanTables: orphans,
        brokersNotified: notified,
      },
      () => {
        const rows = shown.map((p) => [
          p.topic,
          p.partition,
          p.skipped ? `skipped (${p.skipped})` : p.reasons.join('+') || '-',
          p.batches,
          p.bytes,
          p.logStartBefore < 0n ? '-' : p.logStartBefore,
          p.logStartAfter < 0n ? '-' : p.logStartAfter,
          p.archive,
        ]);
        const verb = dryRun ? 'would delete' : 'deleted';
        const summary = `${verb} ${result.batches} batches, ${result.bytes} bytes in ${result.partitions.length} partitions (${result.ms} ms)${interruption.interrupted ? ' — interrupted' : ''}`;
        const errors = result.errors.map((e) => `error: ${e.topic}/${e.partition}: ${e.error}`).join('\n');
        return [
          rows.length > 0 ? table(['TOPIC', 'PARTITION', 'REASON', 'BATCHES', 'BYTES', 'LOG-START-BEFORE', 'LOG-START-AFTER', 'ARCHIVE'], rows) : '',
          summary,
          errors,
          orphans ? orphanText(orphans) : '',
        ]
          .filter(Boolean)
          .join('\n');
      },
    );
    if (interruption.setExitCode()) return;
    if (result.errors.length > 0) throw new CommandError(`retention failed for ${result.errors.length} partition(s)`);
    else if (orphans && orphans.errors.length > 0) throw new CommandError(`orphan log table sweep failed (${orphans.errors.length} error(s))`);
  } finally {
    interruption.release();
    await cleaner.close();
    await storage.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

function jsonOf(p: PartitionRetentionResult) {
  return {
    topic: p.topic,
    partition: p.partition,
    shard: p.shard,
    reasons: p.reasons,
    skipped: p.skipped,
    batches: p.batches,
    bytes: p.bytes,
    chunks: p.chunks,
    ms: p.ms,
    logStartBefore: p.logStartBefore.toString(),
    logStartAfter: p.logStartAfter.toString(),
    archive: p.archive,
    archiveFiles: p.archiveFiles,
  };
}

function orphanText(o: OrphanTableSweepResult): string {
  const rows = o.tables.map((t) => [t.shard, t.table, t.createTime, t.bytes]);
  const verb = o.dryRun ? 'would drop' : 'dropped';
  const young = o.young > 0 ? `, ${o.young} younger kept` : '';
  const summary = `${verb} ${o.found} orphan log table(s), ~${o.bytes} bytes (grace ${o.graceMs} ms${young})`;
  const errors = o.errors.map((e) => `error: orphan log tables on shard ${e.shard}${e.table ? ` (${e.table})` : ''}: ${e.error}`).join('\n');
  return [rows.length > 0 ? table(['SHARD', 'ORPHAN-TABLE', 'CREATED', 'BYTES'], rows) : '', summary, errors].filter(Boolean).join('\n');
}
