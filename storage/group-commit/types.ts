import type { Connection } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { BatchInfo } from '../../codec/records/batch-header.js';
import type { PartitionProducerState, ProducerOverlay } from '../producer-state.js';
import type { SemiSyncMonitor } from '../replication/semi-sync.js';
import type { CachedBatch } from '../tail-cache.js';
import type { AppendOptions, AppendResult } from '../types.js';

/** What the committer needs from a partition log. */
export interface CommitTarget {
  readonly topicId: string;
  readonly partition: number;
  readonly table: string;
  /** Next offset to assign = high watermark (only committed appends advance it). */
  nextOffset(): bigint;
  logStartOffset(): bigint;
  isDeleted(): boolean;
  needsReload(): boolean;
  /** Re-reads the next offset from MySQL (after a failed or conflicting commit). */
  reload(conn: Pick<Connection, 'query'>): Promise<void>;
  markNeedsReload(): void;
  markDeleted(): void;
  /** Committed producer state (idempotence, transactions), checked at offset assignment. */
  readonly producerState: PartitionProducerState;
  /**
   * Called after COMMIT with the new next offset, the committed batches (in order) and the
   * producer changes. `confirmed` false (shard with replicas, no replica confirmed the commit
   * yet): the log end moves, the high watermark waits for confirmUpTo.
   */
  committed(nextOffset: bigint, batches: CachedBatch[], producers: ProducerOverlay | undefined, confirmed?: boolean): void;
  /** The tail cache no longer describes the log below `at` (a gap of unknown content): reads below it go to MySQL. */
  restartCache?(at: bigint): void;
  /** A replica confirmed the commits up to `offset`: the high watermark may move there. */
  confirmUpTo?(offset: bigint): void;
  /** What readers see: below it every commit was confirmed (shards with replicas). */
  highWatermark?(): bigint;
}

export interface PendingAppend {
  target: CommitTarget;
  /**
   * Batches back to back, owned by the committer from here on: offsets are written into them
   * and the tail cache keeps them (a copy of the request's bytes, or bytes handed over).
   */
  records: Buffer;
  batches: BatchInfo[];
  options: AppendOptions;
  bytes: number;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
  /** performance.now() when the lane queued it; set only when GroupCommitOptions.observe is. */
  enqueuedAt?: number;
}

/**
 * One group-commit transaction's phases, in seconds, for GroupCommitOptions.observe. They
 * follow each other: queued (its oldest append waiting in the lane: the batching delay, a free
 * connection, the transaction before it taking its offsets), insert (from its start, BEGIN, to
 * the INSERTs answered; includes opening a connection or re-reading a partition's end when
 * needed), wait (the in-transaction checks and, when ordered, waiting for the transaction
 * before it in the lane), commit (COMMIT sent to its answer: the binlog and redo fsync). A
 * transaction that did not commit stops at the phase it failed in, which runs to its end; an
 * append run again after a rollback counts its queued time from its first enqueue.
 */
export interface TransactionTiming {
  queued: number;
  insert: number;
  wait: number;
  commit: number;
  committed: boolean;
}

export type LogInsertDriver = 'auto' | 'mysql2' | 'mariadb';

export interface GroupCommitOptions {
  maxDelayMs: number;
  maxTransactionBytes: number;
  maxStatementBytes: number;
  /** Independent commit lanes per shard; default 1. */
  lanes?: number;
  /**
   * Transactions in flight per lane (one connection each); default 1. With 2, a lane BEGINs and
   * INSERTs transaction N+1 while N's COMMIT (its fsync) is in flight. N+1 sends its COMMIT
   * without waiting for N's when nothing in it depends on N committing (no producer ids or
   * markers, no producer changes of N on its partitions, no replicas: transaction.ts step 5),
   * so MySQL can group both in one binlog fsync; otherwise it COMMITs only after N did.
   * Either way appends are settled in order.
   */
  pipelineDepth?: number;
  /** Several brokers (ZooKeeper): each transaction checks its partitions' leader epochs in MySQL (group-commit/leader-epochs.ts). */
  fenceLeaderEpochs?: boolean;
  /**
   * The shard has replicas: appends with minInsyncReplicas >= 2 are acknowledged only when a
   * replica confirmed their commit (storage/replication/semi-sync.ts).
   */
  semiSync?: SemiSyncMonitor;
  /**
   * A statement of a transaction not answered after this long fails (fatal) and its connection
   * is destroyed, so a lane never waits forever on a paused server (0 or unset: no bound).
   * COMMIT may legitimately wait rpl_semi_sync_master_timeout for a replica: keep it above that.
   */
  queryTimeoutMs?: number;
  /** Which driver writes the log rows: 'auto' (mariadb on MariaDB, else mysql2), 'mysql2' or 'mariadb'. */
  logInsertDriver?: LogInsertDriver;
  /**
   * Called once per transaction that assigned offsets (wrote rows), when it ended (committed or
   * not), with its phases (server/metrics.ts turns them into a histogram). Must not throw.
   */
  observe?: (timing: TransactionTiming) => void;
  logger?: Logger;
}

export interface CommitStats {
  /** Transactions committed. */
  transactions: number;
  /** Transactions that failed (rolled back). */
  failedTransactions: number;
  /** Transactions rolled back because the one before them in the pipeline did not commit (their appends run again). */
  abortedTransactions: number;
  /** Transactions started while another of their lane was in flight. */
  pipelinedTransactions: number;
  /** COMMITs sent before the previous transaction of their lane had committed (step 5 of transaction.ts). */
  overlappedCommits: number;
  /** Committed transactions after one of their lane that failed: their partitions re-read their end (a gap in offsets). */
  commitsAfterGap: number;
  appends: number;
  batches: number;
  bytes: number;
  /** Largest number of appends in one transaction. */
  maxAppendsPerTransaction: number;
}

export function emptyCommitStats(): CommitStats {
  return {
    transactions: 0,
    failedTransactions: 0,
    abortedTransactions: 0,
    pipelinedTransactions: 0,
    overlappedCommits: 0,
    commitsAfterGap: 0,
    appends: 0,
    batches: 0,
    bytes: 0,
    maxAppendsPerTransaction: 0,
  };
}

/** Adds `from` into `into` (the largest transaction is a maximum, not a sum). */
export function addCommitStats(into: CommitStats, from: CommitStats): void {
  into.transactions += from.transactions;
  into.failedTransactions += from.failedTransactions;
  into.abortedTransactions += from.abortedTransactions;
  into.pipelinedTransactions += from.pipelinedTransactions;
  into.overlappedCommits += from.overlappedCommits;
  into.commitsAfterGap += from.commitsAfterGap;
  into.appends += from.appends;
  into.batches += from.batches;
  into.bytes += from.bytes;
  into.maxAppendsPerTransaction = Math.max(into.maxAppendsPerTransaction, from.maxAppendsPerTransaction);
}
