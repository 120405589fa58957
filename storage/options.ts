import type { Logger } from 'pino';
import type { LogInsertDriver, TransactionTiming } from './group-commit.js';
import type { PublishedPrimary } from './replication/published.js';
import { parseShardServers } from './replication/topology.js';

export interface StorageOptions {
  /**
   * Database holding topics, configs, placement, cluster id, producer ids. Every URL may name
   * replicas of its server with `replica=host:port` parameters (storage/replication/topology.ts).
   */
  metadataUrl: string;
  /** Log shards; default [metadataUrl] (the metadata DB is shard 0). */
  shardUrls?: string[];
  /** Bytes of recent batches kept in memory per partition for tail reads (default 1 MiB; 0 disables). */
  tailCacheBytesPerPartition?: number;
  /** Extra wait before a shard's idle committer starts a transaction, to gather more appends (default 2 ms). */
  groupCommitMaxDelayMs?: number;
  /** Payload bytes per group-commit transaction (default 4 MiB: smaller transactions keep produce latency near the commit latency; a single larger append still goes alone). */
  groupCommitMaxBytes?: number;
  /** Payload bytes per INSERT statement (default 8 MiB; capped below the server's max_allowed_packet). */
  insertStatementMaxBytes?: number;
  /** Connections per pool (default 8). */
  poolSize?: number;
  /** Group-commit lanes per shard: connections each with one transaction in flight; a partition always uses the same lane (default 2). */
  groupCommitLanes?: number;
  /** Group-commit transactions in flight per lane (default 2): transaction N+1 inserts while N commits, and commits after it; 1 = one at a time. */
  groupCommitPipelineDepth?: number;
  /** Bytes of the tail caches of all partitions together (default 256 MiB; 0 = no global cap). */
  tailCacheTotalBytes?: number;
  /** Driver of the log INSERTs: 'auto' (default: the mariadb connector's bulk execute on MariaDB, mysql2 elsewhere), 'mysql2', 'mariadb'. */
  logInsertDriver?: LogInsertDriver;
  /** Producers idle this long are not restored when a partition loads (producer.id.expiration.ms, default 1 day). */
  producerIdExpirationMs?: number;
  /** Several brokers (ZooKeeper): appends check their partition's leader epoch in MySQL (default false: one broker, no other writer). */
  fenceLeaderEpochs?: boolean;
  /**
   * A MySQL query whose reply has not begun after this long fails (KAFKA_STORAGE_ERROR to the
   * client) and its connection is destroyed: a paused or hung server never answers (default
   * 30000; 0 = no bound).
   */
  queryTimeoutMs?: number;
  /**
   * Several brokers: each server group's primary as published in ZooKeeper (null: none). A
   * group whose published primary (shard epoch > 0) differs from the configured one starts on
   * the published primary, the configured one fenced (storage/replication/published.ts).
   */
  publishedPrimary?: (group: string) => PublishedPrimary | null;
  /** Called with each group-commit transaction's phases (GroupCommitOptions.observe): the broker's histogram of them. */
  observeGroupCommit?: (timing: TransactionTiming) => void;
  logger?: Logger;
}

export interface ResolvedStorageOptions {
  /** The primaries' URLs (replica parameters removed). */
  metadataUrl: string;
  shardUrls: string[];
  /** Replica URLs of the metadata database's server, and of each shard's (empty: no replicas). */
  metadataReplicas: string[];
  shardReplicas: string[][];
  tailCacheBytesPerPartition: number;
  groupCommitMaxDelayMs: number;
  groupCommitMaxBytes: number;
  insertStatementMaxBytes: number;
  poolSize: number;
  groupCommitLanes: number;
  groupCommitPipelineDepth: number;
  tailCacheTotalBytes: number;
  logInsertDriver: LogInsertDriver;
  producerIdExpirationMs: number;
  fenceLeaderEpochs: boolean;
  queryTimeoutMs: number;
  observeGroupCommit: ((timing: TransactionTiming) => void) | undefined;
  logger: Logger | undefined;
}

export function resolveStorageOptions(o: StorageOptions): ResolvedStorageOptions {
  const metadata = parseShardServers(o.metadataUrl);
  const shards = (o.shardUrls && o.shardUrls.length > 0 ? o.shardUrls : [o.metadataUrl]).map(parseShardServers);
  return {
    metadataUrl: metadata.primary,
    shardUrls: shards.map((s) => s.primary),
    metadataReplicas: metadata.replicas,
    shardReplicas: shards.map((s) => s.replicas),
    tailCacheBytesPerPartition: o.tailCacheBytesPerPartition ?? 1024 * 1024,
    groupCommitMaxDelayMs: o.groupCommitMaxDelayMs ?? 2,
    groupCommitMaxBytes: o.groupCommitMaxBytes ?? 4 * 1024 * 1024,
    insertStatementMaxBytes: o.insertStatementMaxBytes ?? 8 * 1024 * 1024,
    poolSize: o.poolSize ?? 8,
    groupCommitLanes: o.groupCommitLanes ?? 2,
    groupCommitPipelineDepth: o.groupCommitPipelineDepth ?? 2,
    tailCacheTotalBytes: o.tailCacheTotalBytes ?? 256 * 1024 * 1024,
    logInsertDriver: o.logInsertDriver ?? 'auto',
    producerIdExpirationMs: o.producerIdExpirationMs ?? 86_400_000,
    fenceLeaderEpochs: o.fenceLeaderEpochs ?? false,
    queryTimeoutMs: o.queryTimeoutMs ?? 30_000,
    observeGroupCommit: o.observeGroupCommit,
    logger: o.logger,
  };
}
