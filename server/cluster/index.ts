import type { Logger } from 'pino';
import type { Storage } from '../../storage/index.js';
import type { TopicCatalog } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import type { BrokerEndpoint, ClusterView } from '../handler-types.js';
import { parseReplicaSelector } from './replica-selector.js';
import type { PublishedPrimary } from '../../storage/index.js';
import { ShardFailover, readPublishedPrimaries, recordName } from './shard-failover.js';
import { SingleBrokerCluster } from './single-broker.js';
import { ZooKeeperCluster } from './zk-cluster.js';
import { parseZookeeperConnect } from './zk.js';

/**
 * The broker's cluster membership: alone (no zookeeper.connect: SingleBrokerCluster, nothing
 * changes from a broker without a cluster) or one of several through ZooKeeper
 * (ZooKeeperCluster). server/broker.ts calls these in order: create before the context, start
 * once the listener is bound, shutdown on SIGTERM before the listener closes, close at the end.
 */
export interface BrokerCluster {
  view: ClusterView;
  /** The ZooKeeper cluster, or null when running alone. */
  zk: ZooKeeperCluster | null;
  /** The catalog handlers use: in a cluster, every change is announced to the other brokers. */
  catalog: TopicCatalog;
  start(): Promise<void>;
  /** Controlled shutdown (controlled.shutdown.enable): leadership moves before the listener closes. */
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

export function isClusterMode(config: BrokerConfig): boolean {
  const v = config.string('zookeeper.connect');
  return v !== null && v.trim() !== '';
}

export function createBrokerCluster(config: BrokerConfig, storage: Storage, self: BrokerEndpoint, logger: Logger, refreshConfigs: () => Promise<void>): BrokerCluster {
  if (!isClusterMode(config)) {
    const view = new SingleBrokerCluster(storage.clusterId, self);
    return { view, zk: null, catalog: storage.catalog, start: async () => {}, shutdown: async () => {}, close: async () => {} };
  }
  const connect = config.string('zookeeper.connect')!;
  // A malformed value fails start-up here with the reason (ConfigError-like message).
  parseZookeeperConnect(connect);
  parseReplicaSelector(config.string('replica.selector.class'));
  const sessionTimeoutMs = config.int('zookeeper.session.timeout.ms');
  const zk = new ZooKeeperCluster({
    connect,
    sessionTimeoutMs,
    connectionTimeoutMs: config.string('zookeeper.connection.timeout.ms') !== null ? config.int('zookeeper.connection.timeout.ms') : sessionTimeoutMs,
    clusterId: storage.clusterId,
    self,
    catalog: storage.catalog,
    leaders: storage.leaders,
    forgetPartition: (topicId, partition) => storage.logs.forgetPartition(topicId, partition),
    async onMetadataChanged() {
      await storage.catalog.refresh();
      await storage.refreshLogStartOffsets();
      await refreshConfigs();
    },
    offsetsPartitions: config.int('offsets.topic.num.partitions'),
    transactionPartitions: config.int('transaction.state.log.num.partitions'),
    logger: logger.child({ component: 'cluster' }),
  });
  // MySQL primaries with replicas: the controller promotes, every broker follows (shard-failover.ts).
  const failoverTimeoutMs = config.int('mysql.failover.timeout.ms');
  const shardFailover =
    failoverTimeoutMs > 0
      ? new ShardFailover({
          connect,
          sessionTimeoutMs,
          connectionTimeoutMs: config.string('zookeeper.connection.timeout.ms') !== null ? config.int('zookeeper.connection.timeout.ms') : sessionTimeoutMs,
          selfId: self.nodeId,
          isController: () => zk.controllerId() === self.nodeId,
          replication: storage.replication,
          timeoutMs: failoverTimeoutMs,
          quorum: config.int('mysql.failover.quorum'),
          fencingCommand: config.string('mysql.failover.fencing.command'),
          logger: logger.child({ component: 'shard-failover' }),
        })
      : null;
  return {
    view: zk,
    zk,
    catalog: notifyingCatalog(storage.catalog, () => zk.notifyMetadataChanged()),
    async start() {
      await zk.start();
      await shardFailover?.start();
    },
    async shutdown() {
      if (!config.bool('controlled.shutdown.enable')) return;
      const started = Date.now();
      const r = await zk.controlledShutdown(config.int('controlled.shutdown.timeout.ms'));
      logger.info({ ...r, ms: Date.now() - started }, 'controlled shutdown: leadership moved');
    },
    async close() {
      shardFailover?.close();
      await zk.close();
    },
  };
}

/**
 * Several brokers: each server group's primary as published in ZooKeeper, read before the
 * storage opens, so a broker whose mysql.url / mysql.shards still name a primary a failover
 * replaced starts on the new one (storage/replication/published.ts). Alone, or ZooKeeper not
 * answering: undefined (the configuration as written; the start-up check refuses a read-only
 * primary).
 */
export async function publishedShardPrimaries(config: BrokerConfig, logger: Logger): Promise<((group: string) => PublishedPrimary | null) | undefined> {
  if (!isClusterMode(config)) return undefined;
  const sessionTimeoutMs = config.int('zookeeper.session.timeout.ms');
  const connectionTimeoutMs = config.string('zookeeper.connection.timeout.ms') !== null ? config.int('zookeeper.connection.timeout.ms') : sessionTimeoutMs;
  try {
    const records = await readPublishedPrimaries(config.string('zookeeper.connect')!, sessionTimeoutMs, connectionTimeoutMs);
    return (group) => records.get(recordName(group)) ?? null;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'cannot read the shard records from ZooKeeper before opening MySQL: using mysql.url / mysql.shards as configured');
    return undefined;
  }
}

/** The catalog with every change followed by a notification to the other brokers. */
export function notifyingCatalog(catalog: TopicCatalog, notify: () => Promise<void>): TopicCatalog {
  // The notification is not awaited: while ZooKeeper is unreachable it waits for the connection,
  // and the change itself is already committed in MySQL (the others also re-read on reconnect).
  const after = async <T>(p: Promise<T>): Promise<T> => {
    const r = await p;
    void notify();
    return r;
  };
  return {
    createTopic: (req) => after(catalog.createTopic(req)),
    deleteTopic: (name) => after(catalog.deleteTopic(name)),
    getTopic: (name) => catalog.getTopic(name),
    getTopicById: (id) => catalog.getTopicById(id),
    listTopics: () => catalog.listTopics(),
    refresh: () => catalog.refresh(),
    setTopicConfigs: (name, configs) => after(catalog.setTopicConfigs(name, configs)),
    addPartitions: (name, total) => after(catalog.addPartitions(name, total)),
  };
}
