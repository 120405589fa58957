import type { Logger } from 'pino';
import type { CompactionCleaner, CompactionRunResult, CompactOptions, Storage } from '../../storage/index.js';
import type { BrokerConfig } from '../config/index.js';
import type { Counter, MetricsRegistry } from '../metrics.js';
import { everyInterval, RepeatingJob } from '../background/repeating-job.js';
import { compactionTargets, isCompacted } from './policy.js';

/**
 * Compaction inside the broker: every log.cleaner.backoff.ms (the first run one interval after
 * start-up) the cleaner goes over the partitions of every compacted topic (when
 * log.cleaner.enable), and every log.start.offset.refresh.ms the loaded logs of compacted
 * topics learn about chunks compacted by other processes (the CLI, another broker), so their
 * tail caches stop serving the batches as they were. Counters per topic (bytes scanned and
 * removed, records removed, batches rewritten and deleted, failed partitions) go to the
 * broker's metrics. shutdown() stops the timers and waits for a run in progress to finish its
 * current chunk.
 */
interface CompactionMetrics {
  scannedBytes: Counter;
  removedBytes: Counter;
  removedRecords: Counter;
  rewrittenBatches: Counter;
  deletedBatches: Counter;
  errors: Counter;
}

export class CompactionService {
  readonly cleaner: CompactionCleaner;
  private readonly metrics: CompactionMetrics | null;
  private readonly job: RepeatingJob<CompactionRunResult>;
  private stopRefresh: () => void = () => undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly storage: Storage,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    registry: MetricsRegistry | null = null,
  ) {
    this.cleaner = createCompactionCleaner(storage, config, logger);
    this.job = new RepeatingJob(
      () => this.pass({}),
      () => config.int('log.cleaner.backoff.ms'),
      () => config.bool('log.cleaner.enable'),
    );
    this.metrics = registry
      ? {
          scannedBytes: registry.counter('kafka_mysql_compaction_scanned_bytes_total', 'Log bytes read by the compaction job (both passes), by topic.', ['topic']),
          removedBytes: registry.counter('kafka_mysql_compaction_removed_bytes_total', 'Log bytes the compaction job removed, by topic.', ['topic']),
          removedRecords: registry.counter('kafka_mysql_compaction_removed_records_total', 'Records the compaction job removed (superseded, expired tombstones and markers, aborted, keyless), by topic.', ['topic']),
          rewrittenBatches: registry.counter('kafka_mysql_compaction_rewritten_batches_total', 'Stored batches the compaction job rewrote with fewer records, by topic.', ['topic']),
          deletedBatches: registry.counter('kafka_mysql_compaction_deleted_batches_total', 'Stored batches the compaction job deleted, by topic.', ['topic']),
          errors: registry.counter('kafka_mysql_compaction_errors_total', 'Partitions the compaction job failed on, by topic.', ['topic']),
        }
      : null;
  }

  start(): void {
    this.job.start();
    this.stopRefresh = everyInterval(
      this.config.int('log.start.offset.refresh.ms'),
      async () => {
        if (this.storage.catalog.listTopics().some((t) => isCompacted(t, this.config))) await this.storage.refreshCompactedLogs();
      },
      (err) => this.logger.warn({ err }, 'compaction refresh failed'),
    );
  }

  /** One pass over every compacted topic (joins a pass already running). */
  runOnce(options: CompactOptions = {}): Promise<CompactionRunResult> {
    return this.job.runOnce(() => this.pass(options));
  }

  private async pass(options: CompactOptions): Promise<CompactionRunResult> {
    try {
      await this.storage.catalog.refresh();
      const targets = compactionTargets(this.storage.catalog.listTopics(), this.config);
      const result = await this.cleaner.run(targets, { ...options, signal: this.abort.signal });
      this.count(result);
      if (result.removedBytes > 0 || result.errors.length > 0) {
        this.logger.info({ scannedBytes: result.scannedBytes, removedBytes: result.removedBytes, ms: result.ms, errors: result.errors.length }, 'compaction run finished');
      }
      return result;
    } catch (err) {
      this.logger.error({ err }, 'compaction run failed');
      throw err;
    }
  }

  private count(result: CompactionRunResult): void {
    const m = this.metrics;
    if (!m) return;
    for (const p of result.partitions) {
      if (p.scannedBytes === 0) continue;
      const topic = { topic: p.topic };
      m.scannedBytes.inc(topic, p.scannedBytes);
      m.removedBytes.inc(topic, p.bytesBefore - p.bytesAfter);
      m.removedRecords.inc(topic, p.recordsRemoved);
      m.rewrittenBatches.inc(topic, p.rewrittenBatches);
      m.deletedBatches.inc(topic, p.deletedBatches);
    }
    for (const e of result.errors) m.errors.inc({ topic: e.topic });
  }

  async shutdown(): Promise<void> {
    this.stopRefresh();
    this.abort.abort();
    await this.job.stop();
  }
}

/** The cleaner with this configuration's chunk sizes and key-map bound (broker and CLI). */
export function createCompactionCleaner(storage: Storage, config: BrokerConfig, logger: Logger | undefined): CompactionCleaner {
  return storage.compactionCleaner({
    chunkBatches: config.int('compaction.chunk.batches'),
    chunkBytes: config.int('compaction.chunk.bytes'),
    maxKeys: Math.max(1, Math.floor(config.int('log.cleaner.dedupe.buffer.size') / 128)),
    logger,
  });
}
