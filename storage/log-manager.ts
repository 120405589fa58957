import type { Logger } from 'pino';
import { KafkaError } from '../codec/error-codes.js';
import { GroupCommitter, type CommitStats } from './group-commit.js';
import { addCommitStats, emptyCommitStats } from './group-commit/types.js';
import { probeConfirmation, SemiSyncMonitor } from './replication/semi-sync.js';
import { TailCacheBudget } from './tail-cache.js';
import type { ResolvedStorageOptions } from './options.js';
import { MysqlPartitionLog } from './partition-log.js';
import { readNextOffset } from './log-table-queries.js';
import { loadProducerState } from './producer-state-load.js';
import { logTableName } from './schema.js';
import type { ShardMap } from './shards.js';
import type { MysqlTopicCatalog } from './topic-catalog.js';
import type { LogManager } from './types.js';

/** Headroom under max_allowed_packet for the rest of an INSERT row. */
const PACKET_HEADROOM = 64 * 1024;
/** How long a load waits for the replicas' ends (confirmFromReplicas) before it is served. */
const REPLICA_END_WAIT_MS = 500;
/** At most one catalog refresh per this many ms when an unknown topic id is asked for. */
const REFRESH_INTERVAL_MS = 500;

/**
 * Partition logs by (topic id, partition), loaded on first use; one GroupCommitter per shard.
 * Concurrent getLog calls for one partition share a single load.
 */
export class MysqlLogManager implements LogManager {
  private readonly logs = new Map<string, Promise<MysqlPartitionLog>>();
  private readonly committers: GroupCommitter[];
  /** Per shard with replicas: whether its commits are confirmed (storage/replication/semi-sync.ts). */
  readonly semiSync: (SemiSyncMonitor | undefined)[];
  private readonly tailCacheBudget: TailCacheBudget | undefined;
  private lastRefresh = 0;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly shards: ShardMap,
    private readonly catalog: MysqlTopicCatalog,
    private readonly options: ResolvedStorageOptions,
    private readonly logger?: Logger,
  ) {
    this.tailCacheBudget = options.tailCacheTotalBytes > 0 ? new TailCacheBudget(options.tailCacheTotalBytes) : undefined;
    // Every shard whose server has replicas, or an old primary that may rejoin as one (a broker
    // started on the published primary after a failover used the last replica). Whether the
    // topology has a replica now is asked at each use: failovers and rejoins change it.
    this.semiSync = shards.shardUrls.map((_url, i) => {
      const group = shards.groupOf(i);
      if (group.replicas.length === 0 && group.fenced.length === 0) return undefined;
      return new SemiSyncMonitor(i, logger, () => probeConfirmation(shards.pool(i)), undefined, () => shards.groupOf(i).replicas.length > 0);
    });
    this.committers = shards.shardUrls.map(
      (url, i) =>
        new GroupCommitter(i, url, {
          maxDelayMs: options.groupCommitMaxDelayMs,
          maxTransactionBytes: options.groupCommitMaxBytes,
          maxStatementBytes: Math.min(
            options.insertStatementMaxBytes,
            Math.max(1024 * 1024, (shards.maxAllowedPacket[i] ?? 4 * 1024 * 1024) - PACKET_HEADROOM),
          ),
          logInsertDriver: options.logInsertDriver,
          lanes: options.groupCommitLanes,
          pipelineDepth: options.groupCommitPipelineDepth,
          fenceLeaderEpochs: options.fenceLeaderEpochs,
          queryTimeoutMs: options.queryTimeoutMs,
          observe: options.observeGroupCommit,
          ...(this.semiSync[i] ? { semiSync: this.semiSync[i] } : {}),
          logger,
        }),
    );
  }

  getLog(topicId: string, partition: number): Promise<MysqlPartitionLog> {
    if (this.closed) return Promise.reject(KafkaError.of('KAFKA_STORAGE_ERROR', 'storage is closed'));
    const key = `${topicId}:${partition}`;
    let p = this.logs.get(key);
    if (!p) {
      p = this.load(topicId, partition).catch((err: unknown) => {
        if (err instanceof KafkaError) throw err;
        throw KafkaError.of('KAFKA_STORAGE_ERROR', `cannot load ${topicId}/${partition}: ${(err as Error).message}`);
      });
      this.logs.set(key, p);
      p.catch(() => {
        if (this.logs.get(key) === p) this.logs.delete(key);
      });
    }
    return p;
  }

  /** The log of a partition if this broker has loaded it (retention updates its log start). */
  loadedLog(topicId: string, partition: number): Promise<MysqlPartitionLog> | undefined {
    return this.logs.get(`${topicId}:${partition}`);
  }

  /** Every loaded log (for refreshing log start offsets changed by other processes). */
  loadedLogs(): Promise<MysqlPartitionLog>[] {
    return [...this.logs.values()];
  }

  /** Forgets a deleted topic's logs; appends still queued for them fail with UNKNOWN_TOPIC_OR_PARTITION. */
  forgetTopic(topicId: string): void {
    for (const [key, p] of this.logs) {
      if (!key.startsWith(`${topicId}:`)) continue;
      this.logs.delete(key);
      p.then((log) => log.markDeleted(), () => undefined);
    }
  }

  /**
   * Forgets a partition's loaded log (its leadership moved): the next use reloads its end,
   * producer state and log start from MySQL, since another broker may have written meanwhile.
   */
  forgetPartition(topicId: string, partition: number): void {
    const key = `${topicId}:${partition}`;
    const p = this.logs.get(key);
    if (!p) return;
    this.logs.delete(key);
    p.then((log) => log.markNeedsReload(), () => undefined);
  }

  /**
   * A shard's primary moved (failover): its committer reconnects to `url`, and its loaded logs
   * are forgotten, so each partition re-reads its last offset and producer state from the new
   * primary and nothing cached beyond that is served.
   */
  repointShard(shard: number, url: string): void {
    this.committers[shard]?.repoint(url);
    const monitor = this.semiSync[shard];
    // The new primary may have no replica yet: check before acknowledging acks=-1 again.
    // Ends awaiting confirmation are forgotten: the partitions reload them from the new primary.
    if (monitor) {
      monitor.degraded = true;
      monitor.forgetPending();
    }
    // Every log is forgotten at once, not only the shard's: a load still pending may be waiting
    // on the old primary's pool forever, and would otherwise be handed to every later request.
    for (const [key, p] of [...this.logs]) {
      this.logs.delete(key);
      p.then(
        (log) => {
          if (log.shard === shard) log.markNeedsReload();
        },
        () => undefined,
      );
    }
  }

  /** Bytes held by the tail caches of all partitions (0 without a global budget). */
  tailCacheBytes(): number {
    return this.tailCacheBudget?.bytes ?? 0;
  }

  /** Group-commit figures per shard (transactions, appends, ...). */
  commitStats(): CommitStats[] {
    return this.committers.map((c) => ({ ...c.stats }));
  }

  /** Sum of commitStats() over shards. */
  totalCommitStats(): CommitStats {
    const total = emptyCommitStats();
    for (const c of this.committers) addCommitStats(total, c.stats);
    return total;
  }

  /** Forgets idle producers of every loaded partition (producer.id.expiration.ms); returns how many. */
  async expireProducers(nowMs: number, expirationMs: number): Promise<number> {
    let n = 0;
    for (const p of this.logs.values()) {
      const log = await p.catch(() => null);
      if (log) n += log.expireProducers(nowMs, expirationMs);
    }
    return n;
  }

  /** Finishes queued and in-flight appends, then closes the committers' connections. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.committers.map((c) => c.close()));
    for (const m of this.semiSync) m?.stop();
  }

  private async load(topicId: string, partition: number): Promise<MysqlPartitionLog> {
    let topic = this.catalog.getTopicById(topicId);
    if (!topic || partition >= topic.partitionCount) {
      await this.refreshCatalog();
      topic = this.catalog.getTopicById(topicId);
    }
    if (!topic || !Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) {
      throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topicId}/${partition}`);
    }
    const placement = await this.catalog.loadPartition(topicId, partition);
    if (!placement) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topic.name}/${partition}`);
    const shard = placement.shard;
    const pool = this.shards.pool(shard);
    const committer = this.committers[shard]!;
    const table = logTableName(topicId);
    let nextOffset: bigint;
    let producerState;
    try {
      nextOffset = await readNextOffset(pool, table, partition, placement.logStartOffset);
      producerState = await loadProducerState({
        pool,
        table,
        topicId,
        partition,
        logStartOffset: placement.logStartOffset,
        nowMs: Date.now(),
        expirationMs: this.options.producerIdExpirationMs,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
        throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic.name} has no log table on shard ${shard}`);
      }
      throw KafkaError.of('KAFKA_STORAGE_ERROR', `cannot load ${topic.name}/${partition}: ${(err as Error).message}`);
    }
    this.logger?.debug({ topic: topic.name, partition, shard, nextOffset: String(nextOffset) }, 'partition log loaded');
    // A shard with replicas: the end just read may hold commits no replica confirmed (semi-sync
    // fell back to asynchronous), which a failover would lose. The high watermark starts at the
    // log start and moves to the end once a commit or probe sent after this read is confirmed
    // (within a probe on an idle shard), or, sooner, to what a replica already applied. A shard
    // left without any replica (standalone) starts at the end: no failover can lose it.
    const monitor = this.semiSync[shard];
    const hwAtLoad = monitor && !monitor.standalone ? placement.logStartOffset : nextOffset;
    const log = new MysqlPartitionLog({
      topicId,
      partition,
      shard,
      table,
      pool,
      replicaPools: () => this.shards.replicaPools(shard),
      committer,
      maxBatchBytes: Math.max(1024, (this.shards.maxAllowedPacket[shard] ?? 4 * 1024 * 1024) - PACKET_HEADROOM),
      tailCacheBytes: this.options.tailCacheBytesPerPartition,
      tailCacheBudget: this.tailCacheBudget,
      logStartOffset: placement.logStartOffset,
      nextOffset,
      ...(monitor ? { highWatermark: hwAtLoad, awaitConfirmation: (target, end) => monitor.awaitConfirmation(target, end) } : {}),
      producerState,
      producerIdExpirationMs: this.options.producerIdExpirationMs,
      saveLogStartOffset: (offset) => this.catalog.saveLogStartOffset(topicId, partition, offset),
      loadLogStartOffset: async () => (await this.catalog.loadPartition(topicId, partition))?.logStartOffset ?? 0n,
    });
    if (monitor && nextOffset > log.highWatermark()) {
      monitor.awaitConfirmation(log, nextOffset);
      // Bounded: a paused replica must not hold the load (its answer still applies later).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.confirmFromReplicas(log, shard, table, partition, placement.logStartOffset),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, REPLICA_END_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    return log;
  }

  /**
   * Rows a replica has applied are on two servers: the high watermark of a freshly loaded log
   * may move up to the largest end a replica answers (capped at the log end), so that while
   * no replica confirms (its receiver stopped, semi-sync off) the high watermark, which
   * ListOffsets reports as the end, is what the replicas hold rather than the log start.
   * Failures are ignored (the log start stays).
   */
  private async confirmFromReplicas(log: MysqlPartitionLog, shard: number, table: string, partition: number, logStart: bigint): Promise<void> {
    const ends = await Promise.all(
      this.shards.replicaPools(shard).map((pool) => readNextOffset(pool, table, partition, logStart).catch(() => logStart)),
    );
    let best = logStart;
    for (const e of ends) if (e > best) best = e;
    log.confirmUpTo(best);
  }

  private async refreshCatalog(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (Date.now() - this.lastRefresh < REFRESH_INTERVAL_MS) return;
    this.refreshing = this.catalog.refresh().finally(() => {
      this.lastRefresh = Date.now();
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}
