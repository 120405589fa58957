import { randomBytes } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { MysqlBrokerConfigStore, type BrokerConfigStore } from './broker-configs.js';
import { MysqlCompactionCleaner } from './compaction/cleaner.js';
import { CompactionRefresher } from './compaction/refresh.js';
import { registerStorageInternals } from './internals.js';
import { MysqlLogDirs } from './log-dirs.js';
import { MysqlLogManager } from './log-manager.js';
import { refreshLoadedLogStarts } from './log-starts.js';
import { migrations, runMigrations } from './migrations/index.js';
import { MysqlOffsetStore, type OffsetStore } from './offset-store.js';
import { MysqlLeaderStore, type LeaderStore } from './leaders.js';
import { MysqlTransactionStore, type TransactionStore } from './transaction-store.js';
import { resolveStorageOptions, type StorageOptions } from './options.js';
import { sweepOrphanLogTables, type OrphanTableSweepResult } from './orphan-tables.js';
import { MysqlRetentionCleaner } from './retention.js';
import type {
  CompactionCleaner,
  CompactionCleanerSettings,
  LogDirs,
  OrphanTableSweepSettings,
  RetentionCleaner,
  RetentionCleanerSettings,
  StorageLogs,
  StorageReplication,
} from './services.js';
import { checkReplicatedShard } from './replication/check.js';
import { FailoverWatcher } from './replication/failover.js';
import { followPublishedPrimaries } from './replication/published.js';
import { readGroupStatus } from './replication/status.js';
import { serverAddress } from './replication/topology.js';
import { formatMysqlUrl, parseMysqlUrl } from './mysql.js';
import { ShardMap } from './shards.js';
import { MessageIdStore } from './dedupe/message-ids.js';
import { MessageIndexStore } from './message-index/index-store.js';
import { DelayedStore } from './delayed/delayed-store.js';
import { SubscriptionStore } from './subscriptions/store.js';
import { MysqlTopicCatalog } from './topic-catalog.js';
import { MysqlUserStore, type UserStore } from './users.js';
import { MysqlAclStore, type AclStore } from './acls.js';
import { MysqlQuotaStore, type QuotaStore } from './quotas.js';
import type { TopicCatalog } from './types.js';

export type { StorageOptions } from './options.js';
export type { PublishedPrimary } from './replication/published.js';
export type { CommitStats, TransactionTiming } from './group-commit.js';
export type { OffsetStore } from './offset-store.js';
export type { LeaderStore, LeaderRecord, LeaderChange } from './leaders.js';
export type { TransactionStore, TxnRecord, TxnOffset, TxnPartition, TxnStateName } from './transaction-store.js';
export { MAX_TRANSACTIONAL_ID_BYTES } from './transaction-store.js';
export type { BrokerConfigStore } from './broker-configs.js';
export type { UserStore, StoredCredential } from './users.js';
export { MAX_USER_NAME_BYTES } from './users.js';
export { MessageIdStore, MAX_MESSAGE_ID_BYTES } from './dedupe/message-ids.js';
export { MessageIndexStore } from './message-index/index-store.js';
export { SubscriptionStore } from './subscriptions/store.js';
export type { AclStore, StoredAcl } from './acls.js';
export type { QuotaStore, StoredQuota, QuotaEntity, QuotaChange } from './quotas.js';
export type * from './services.js';
export { validateTopicName } from './topic-catalog.js';
export { startManagedMariadb, type ManagedMariadb, type ManagedMariadbOptions } from './managed-mariadb.js';
export { parseMysqlUrl, formatMysqlUrl, redactUrl } from './mysql.js';

/**
 * Storage as the server and the CLI see it: services in storage's own terms. The MySQL pools
 * stay inside storage/ (a shard's pool may be replaced at run time).
 */
export interface Storage {
  catalog: TopicCatalog;
  logs: StorageLogs;
  /** Committed consumer-group offsets (metadata database). */
  offsets: OffsetStore;
  /** Per-shard stored sizes (DescribeLogDirs). */
  logDirs: LogDirs;
  /** Transaction coordinator state (metadata database). */
  transactions: TransactionStore;
  /** Partition leaders and leader epochs (several brokers; each shard's partition_leaders). */
  leaders: LeaderStore;
  /** Dynamic broker configuration (metadata database). */
  brokerConfigs: BrokerConfigStore;
  /** SASL users and their credentials (metadata database). */
  users: UserStore;
  /** Accepted message ids of topics with message.id.header (each partition's shard). */
  messageIds: MessageIdStore;
  /** The message index of topics with message.index.enable (each partition's shard). */
  messageIndex: MessageIndexStore;
  /** Held records of topics with delayed.delivery.enable (each partition's shard). */
  delayed: DelayedStore;
  /** Push subscriptions: definitions, leases, progress, attempts (metadata database). */
  subscriptions: SubscriptionStore;
  /** ACL bindings (metadata database). */
  acls: AclStore;
  /** Client quotas (metadata database). */
  quotas: QuotaStore;
  /** Generated once per metadata database, kept forever (22-char base64url of 16 bytes). */
  clusterId: string;
  /** A new producer id (InitProducerId), unique across brokers sharing the metadata DB. */
  allocateProducerId(): Promise<bigint>;
  /** Applies log start offsets persisted by other processes (retention CLI, other brokers) to the loaded logs. */
  refreshLogStartOffsets(): Promise<void>;
  /** A retention cleaner over this storage; the caller closes it (its archive database connections). */
  retentionCleaner(settings: RetentionCleanerSettings): RetentionCleaner;
  /** A compaction cleaner over this storage (storage/compaction/). */
  compactionCleaner(settings: CompactionCleanerSettings): CompactionCleaner;
  /** Makes loaded logs forget cached batches compacted by other processes (the compaction CLI, other brokers). */
  refreshCompactedLogs(): Promise<void>;
  /** Drops log tables no topic refers to, on every shard (storage/orphan-tables.ts). */
  sweepOrphanLogTables(settings: OrphanTableSweepSettings): Promise<OrphanTableSweepResult>;
  /** Servers with replicas: status, automatic failover (storage/replication/). */
  replication: StorageReplication;
  /** SELECT 1 on every pool: true when all answer (health endpoint); never throws. */
  ping(): Promise<boolean>;
  /** Finishes queued and in-flight appends, then closes every pool. */
  close(): Promise<void>;
}

/**
 * Opens the storage: runs migrations (metadata DB, then every distinct shard DB), opens the
 * pools, reads the cluster id and the topic catalog.
 */
export async function openStorage(input: StorageOptions): Promise<Storage> {
  const logger = input.logger;
  // A failover published in ZooKeeper since the configuration was written: its primary first.
  const { options, start } = followPublishedPrimaries(resolveStorageOptions(input), input.publishedPrimary, logger);
  // The replication check first: a start against a fenced old primary (read-only, but not for a
  // SUPER account) must be refused before a migration statement adds a GTID of its own to it.
  await checkReplication(options);
  await runMigrations(options.metadataUrl, 'metadata', migrations, logger);
  for (const url of new Set(options.shardUrls)) await runMigrations(url, 'shard', migrations, logger);

  const shards = new ShardMap(options.metadataUrl, options.shardUrls, options.poolSize, options.metadataReplicas, options.shardReplicas, options.queryTimeoutMs);
  for (const g of shards.groups) {
    const s = start.get(serverAddress(g.primary));
    if (s) (g.epoch = s.epoch), g.fenced.push(...s.fenced);
  }
  try {
    await shards.readServerLimits();
    const clusterId = await readClusterId(shards.metadataPool);
    const catalog = new MysqlTopicCatalog(shards, logger);
    await catalog.refresh();
    const logs = new MysqlLogManager(shards, catalog, options, logger);
    catalog.onTopicDeleted((t) => logs.forgetTopic(t.topicId));
    let closing: Promise<void> | undefined;
    let failover: FailoverWatcher | undefined;
    const compactionRefresher = new CompactionRefresher(shards, logs);
    const messageIds = new MessageIdStore((shard) => shards.pool(shard));
    const storage: Storage = {
      catalog,
      logs,
      offsets: new MysqlOffsetStore(shards.metadataPool),
      transactions: new MysqlTransactionStore(shards.metadataPool),
      logDirs: new MysqlLogDirs(shards),
      brokerConfigs: new MysqlBrokerConfigStore(() => shards.metadataPool),
      users: new MysqlUserStore(() => shards.metadataPool),
      messageIds,
      delayed: new DelayedStore((shard) => shards.pool(shard), messageIds),
      messageIndex: new MessageIndexStore((shard) => shards.pool(shard)),
      subscriptions: new SubscriptionStore(() => shards.metadataPool),
      acls: new MysqlAclStore(() => shards.metadataPool),
      quotas: new MysqlQuotaStore(() => shards.metadataPool),
      leaders: new MysqlLeaderStore(shards, logger),
      clusterId,
      allocateProducerId: () => allocateProducerId(shards.metadataPool),
      refreshLogStartOffsets: () => refreshLoadedLogStarts(shards, logs),
      retentionCleaner: (settings) =>
        new MysqlRetentionCleaner({
          ...settings,
          shards,
          catalog,
          onLogStartAdvanced(topicId, partition, offset) {
            logs.loadedLog(topicId, partition)?.then((l) => l.applyLogStartOffset(offset), () => undefined);
          },
        }),
      compactionCleaner: (settings) =>
        new MysqlCompactionCleaner({
          ...settings,
          shards,
          catalog,
          onCompacted(topicId, partition, upTo) {
            logs.loadedLog(topicId, partition)?.then((l) => l.forgetCachedBefore(upTo), () => undefined);
          },
        }),
      refreshCompactedLogs: () => compactionRefresher.refresh(),
      sweepOrphanLogTables: (settings) => sweepOrphanLogTables({ ...settings, catalog, shardPools: shards.shardPools }),
      replication: {
        status: () => Promise.all(shards.groups.filter((g) => g.replicas.length > 0 || g.fenced.length > 0).map(readGroupStatus)),
        topology: () =>
          shards.groups.map((g) => ({
            name: g.name, shards: [...g.shards], epoch: g.epoch, switches: g.switches, primary: serverAddress(g.primary), replicas: g.replicas.map(serverAddress), fenced: g.fenced.map(serverAddress),
          })),
        startFailover(settings) {
          failover ??= new FailoverWatcher(shards, {
            ...settings,
            logger,
            onPromoted: (_group, moved) => {
              for (const { shard, url } of moved) logs.repointShard(shard, url);
            },
          });
          failover.start();
        },
        applyPromotion(name, primary, epoch) {
          const g = shards.groups.find((x) => x.name === name);
          if (!g || epoch <= g.epoch) return false;
          if (serverAddress(g.primary) !== primary) {
            const known = [...g.replicas, ...g.fenced].find((u) => serverAddress(u) === primary);
            const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(primary);
            if (!known && !m) return false;
            // An address not configured here (a replica added elsewhere): same credentials, over TCP.
            const { socketPath: _socket, ...loc } = parseMysqlUrl(g.primary);
            shards.promote(g, known ?? formatMysqlUrl({ ...loc, host: m![1]!, port: Number(m![2]) }));
            for (const shard of g.shards) logs.repointShard(shard, shards.url(shard));
          }
          g.epoch = epoch;
          return true;
        },
        failoverStats: () => ({ ...(failover?.stats ?? { failovers: 0, lastFailoverMs: 0 }) }),
        semiSyncStats: () => {
          const t = { confirmed: 0, unconfirmed: 0 };
          for (const m of logs.semiSync) if (m) (t.confirmed += m.confirmed), (t.unconfirmed += m.unconfirmed);
          return t;
        },
      },
      ping: () => shards.ping().then(
        () => true,
        () => false,
      ),
      close() {
        closing ??= (async () => {
          failover?.stop();
          await logs.close();
          await shards.close();
        })();
        return closing;
      },
    };
    registerStorageInternals(storage, { shards, catalog, logs });
    return storage;
  } catch (err) {
    await shards.close();
    throw err;
  }
}

/** The start-up check of every server with replicas (storage/replication/check.ts). */
async function checkReplication(options: ReturnType<typeof resolveStorageOptions>): Promise<void> {
  const seen = new Set<string>();
  const servers = [
    { name: 'metadata database', primary: options.metadataUrl, replicas: options.metadataReplicas },
    ...options.shardUrls.map((primary, i) => ({ name: `shard ${i}`, primary, replicas: options.shardReplicas[i] ?? [] })),
  ];
  for (const s of servers) {
    if (s.replicas.length === 0 || seen.has(s.primary)) continue;
    seen.add(s.primary);
    await checkReplicatedShard(s.name, s.primary, s.replicas, options.logger);
  }
}

async function readClusterId(pool: Pool): Promise<string> {
  await pool.query("INSERT IGNORE INTO cluster_meta (meta_key, meta_value) VALUES ('cluster_id', ?)", [
    randomBytes(16).toString('base64url'),
  ]);
  const [rows] = await pool.query<RowDataPacket[]>("SELECT meta_value FROM cluster_meta WHERE meta_key = 'cluster_id'");
  return String(rows[0]!.meta_value);
}

async function allocateProducerId(pool: Pool): Promise<bigint> {
  const conn: PoolConnection = await pool.getConnection();
  try {
    // LAST_INSERT_ID(expr) makes the new value this connection's LAST_INSERT_ID: atomic, no lock held.
    await conn.query('UPDATE producer_id_seq SET next_id = LAST_INSERT_ID(next_id + 1) WHERE id = 1');
    const [rows] = await conn.query<RowDataPacket[]>('SELECT LAST_INSERT_ID() AS id');
    return BigInt(rows[0]!.id) - 1n;
  } finally {
    conn.release();
  }
}
