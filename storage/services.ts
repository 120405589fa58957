import type { Logger } from 'pino';
import type { CompactionCleanerSettings, CompactionTarget, CompactOptions, CompactionRunResult, CompactionPolicy, PartitionCompactionResult } from './compaction/cleaner.js';
import type { CommitStats } from './group-commit.js';
import type { FailoverSettings, FailoverStats } from './replication/failover.js';
import type { ServerGroupStatus } from './replication/status.js';
import type { OrphanTableSweepResult } from './orphan-tables.js';
import type { CleanOptions, PartitionRetentionResult, RetentionPolicy, RetentionRunResult, RetentionTarget } from './retention.js';
import type { LogManager, PartitionLog, TopicRecord, TruncatablePartitionLog } from './types.js';

/**
 * The services storage offers beyond the catalog and the partition logs, in storage's own
 * terms. They are what the server and the CLI use instead of pools or SQL: storage keeps its
 * connections to itself, so a shard's pool can be replaced (failover) without anyone else
 * holding on to the old one.
 */

/** The partition logs this process serves, with what the broker's metrics read. */
export interface StorageLogs extends LogManager {
  getLog(topicId: string, partition: number): Promise<TruncatablePartitionLog>;
  /** The logs loaded so far (each a pending or finished load). */
  loadedLogs(): Promise<PartitionLog>[];
  /** Bytes held by the tail caches of every loaded log. */
  tailCacheBytes(): number;
  /** Group-commit statistics, one entry per shard. */
  commitStats(): CommitStats[];
  /** The same, summed over the shards. */
  totalCommitStats(): CommitStats;
  /** Forgets producers idle for `expirationMs` in every loaded partition (producer.id.expiration.ms); resolves with how many. */
  expireProducers(nowMs: number, expirationMs: number): Promise<number>;
  /** Forgets a partition's loaded log (its leadership moved): the next use reloads it from MySQL. */
  forgetPartition(topicId: string, partition: number): void;
}

/** Some partitions of one topic. */
export interface TopicPartitionSet {
  topic: TopicRecord;
  partitions: number[];
}

/** What one shard (a "log dir") stores of the partitions asked about. */
export interface LogDirSizes {
  shard: number;
  /** `mysql:shard-<N>/<database>` (`mysql:shard-<N>` when the shard did not answer): no host, no credentials. */
  name: string;
  /** Why the shard could not be read; topics is then empty. */
  error: Error | null;
  /** The topics with partitions placed on this shard, in the order asked; a topic deleted meanwhile is left out. */
  topics: Array<{ topic: TopicRecord; partitions: Array<{ partition: number; bytes: bigint }> }>;
}

export interface LogDirs {
  /**
   * For every shard, the bytes stored per partition of those asked about that it holds: the
   * sum of the stored batches' sizes, including any not yet removed below the log start.
   */
  sizes(wanted: readonly TopicPartitionSet[]): Promise<LogDirSizes[]>;
}

export interface RetentionCleanerSettings {
  /** Batches per deleting transaction (default 500). */
  chunkBatches?: number;
  /** Bytes per deleting transaction (default 64 MiB). */
  chunkBytes?: number;
  /** MySQL URL of the archive database for retention.archive=table; null or absent = each partition's own shard. */
  archiveUrl?: string | null;
  /** Directory for retention.archive=file (default ./archive). */
  archiveDir?: string;
  logger?: Logger;
  now?: () => number;
}

/**
 * The retention job over this storage (storage/retention.ts). A chunk that moves a partition's
 * log start also moves it in this process's loaded log.
 */
export interface RetentionCleaner {
  /** Every partition of every target, one after the other; a failing partition does not stop the others. */
  run(targets: RetentionTarget[], options?: CleanOptions): Promise<RetentionRunResult>;
  cleanPartition(topic: TopicRecord, partition: number, policy: RetentionPolicy, options?: CleanOptions): Promise<PartitionRetentionResult>;
  /** Closes the archive database's connections, if any. */
  close(): Promise<void>;
}

export interface OrphanTableSweepSettings {
  /** Tables younger than this are kept (default 1 hour). */
  graceMs?: number;
  /** Report what would be dropped, drop nothing. */
  dryRun?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export type { OrphanTableSweepResult };

/** The compaction job over this storage (storage/compaction/); chunks it commits update this process's loaded logs. */
export interface CompactionCleaner {
  /** Every partition of every target, one after the other; a failing partition does not stop the others. */
  run(targets: CompactionTarget[], options?: CompactOptions): Promise<CompactionRunResult>;
  compactPartition(topic: TopicRecord, partition: number, policy: CompactionPolicy, options?: CompactOptions): Promise<PartitionCompactionResult>;
}

/** Servers with replicas: status and automatic failover (storage/replication/). */
export interface StorageReplication {
  /** Every server with replicas (none configured: empty). */
  status(): Promise<ServerGroupStatus[]>;
  /**
   * The shard map as this process uses it now (after its failovers): each server group's
   * primary, replicas and fenced old primaries as host:port, its epoch, and the primary
   * switches this process applied (its promotions and the ones it followed). No I/O.
   */
  topology(): Array<{ name: string; shards: number[]; epoch: number; switches: number; primary: string; replicas: string[]; fenced: string[] }>;
  /**
   * Starts watching every primary that has replicas and promoting a replica after
   * `timeoutMs` without an answer (the lone broker, or the controller); the broker's pools,
   * committers and partition logs follow. No-op without replicas.
   */
  startFailover(settings: Omit<FailoverSettings, 'onPromoted' | 'logger'>): void;
  /**
   * Several brokers: follows a promotion another broker (the controller) published through
   * ZooKeeper: when `epoch` is newer than the group's, its pools, committers and partitions move
   * to `primary` (host:port; same user, password and databases) and the old primary is never
   * written to again by this process. False when the epoch is not newer or the group is unknown.
   */
  applyPromotion(group: string, primary: string, epoch: number): boolean;
  /** Promotions so far and how long the last one took (metrics). */
  failoverStats(): FailoverStats;
  /** Commits of appends needing a replica that one confirmed / did not, summed over the shards (metrics). */
  semiSyncStats(): { confirmed: number; unconfirmed: number };
}

export type { CompactionCleanerSettings, CompactionTarget, CompactOptions, CompactionRunResult, CompactionPolicy, PartitionCompactionResult };
