import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { OrphanTableSweepResult, RetentionCleaner, Storage } from '../../storage/index.js';
import type { CleanOptions, RetentionRunResult } from '../../storage/retention.js';
import type { BrokerConfig } from '../config/index.js';
import { everyInterval, RepeatingJob } from '../background/repeating-job.js';
import { retentionTargets } from './policy.js';

/** A retention pass: the cleaner's result and the orphan log-table sweep's (null when interrupted first). */
export interface RetentionPassResult extends RetentionRunResult {
  orphanTables: OrphanTableSweepResult | null;
}

/**
 * Retention inside the broker: runs the cleaner over every topic and then the orphan log-table
 * sweep (storage/orphan-tables.ts) each log.retention.check.interval.ms (the first run one
 * interval after start-up), and re-reads log start offsets every log.start.offset.refresh.ms so that
 * deletions made by another process (the `retention run` CLI, another broker) reach this
 * broker's in-memory logs. The broker context's `retention` (DeleteRecords uses its cleaner);
 * shutdown() stops the timers, waits for a run in progress to finish its current chunk and
 * closes the cleaner.
 */
export class RetentionService {
  readonly cleaner: RetentionCleaner;
  private readonly job: RepeatingJob<RetentionPassResult>;
  private stopRefresh: () => void = () => undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly storage: Storage,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.cleaner = createRetentionCleaner(storage, config, logger);
    this.job = new RepeatingJob(() => this.pass({}), () => config.retentionCheckIntervalMs);
  }

  start(): void {
    this.job.start();
    this.stopRefresh = everyInterval(
      this.config.int('log.start.offset.refresh.ms'),
      () => this.refreshLogStarts(),
      (err) => this.logger.warn({ err }, 'log start refresh failed'),
    );
  }

  /** One pass over every topic, then the orphan log-table sweep (skipped if a pass is already running). */
  runOnce(options: CleanOptions = {}): Promise<RetentionPassResult> {
    return this.job.runOnce(() => this.pass(options));
  }

  private async pass(options: CleanOptions): Promise<RetentionPassResult> {
    try {
      await this.storage.catalog.refresh();
      const targets = retentionTargets(this.storage.catalog.listTopics(), this.config);
      const result = await this.cleaner.run(targets, { ...options, signal: this.abort.signal });
      if (result.batches > 0 || result.errors.length > 0) {
        this.logger.info({ batches: result.batches, bytes: result.bytes, ms: result.ms, errors: result.errors.length }, 'retention run finished');
      }
      const orphanTables = this.abort.signal.aborted
        ? null
        : await sweepOrphanTables(this.storage, this.config, this.logger, { dryRun: options.dryRun, signal: this.abort.signal });
      return { ...result, orphanTables };
    } catch (err) {
      this.logger.error({ err }, 'retention run failed');
      throw err;
    }
  }

  /** Applies log start offsets persisted by other processes to this broker's loaded logs. */
  refreshLogStarts(): Promise<void> {
    return this.storage.refreshLogStartOffsets();
  }

  async shutdown(): Promise<void> {
    this.stopRefresh();
    this.abort.abort();
    await this.job.stop();
    await this.cleaner.close();
  }
}

/** The cleaner with this configuration's chunk sizes and archive locations (broker and CLI); the caller closes it. */
export function createRetentionCleaner(storage: Storage, config: BrokerConfig, logger: Logger | undefined): RetentionCleaner {
  return storage.retentionCleaner({
    chunkBatches: config.int('retention.chunk.batches'),
    chunkBytes: config.int('retention.chunk.bytes'),
    archiveUrl: config.string('retention.archive.mysql.url'),
    archiveDir: resolve(config.string('retention.archive.dir') ?? './archive'),
    logger,
  });
}

/** Drops log tables no topic refers to, older than log.orphan.table.grace.ms, on every shard (broker and CLI). */
export function sweepOrphanTables(
  storage: Storage,
  config: BrokerConfig,
  logger: Logger | undefined,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<OrphanTableSweepResult> {
  return storage.sweepOrphanLogTables({ graceMs: config.orphanTableGraceMs, dryRun: options.dryRun, logger, signal: options.signal });
}
