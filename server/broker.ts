import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { startManagedMariadb, type ManagedMariadb } from '../storage/managed-mariadb.js';
import { openStorage, type Storage } from '../storage/index.js';
import { MessageIdDedupe } from './dedupe/produce-dedupe.js';
import { OutboxService, outboxRoute } from './outbox/service.js';
import { inProcessPublisher } from './outbox/in-process.js';
import { MessageIndexer } from './message-index/indexer.js';
import { DelayedProduce } from './delayed/produce-hold.js';
import { DelayedScheduler } from './delayed/scheduler.js';
import { SubscriptionService, subscriptionSettings } from './subscriptions/service.js';
import { createRestContext } from './http/context.js';
import { ANONYMOUS } from './security/principal.js';
import { createBrokerCluster, isClusterMode, publishedShardPrimaries } from './cluster/index.js';
import { ConfigError, DynamicBrokerConfigs, type BrokerConfig } from './config/index.js';
import type { LogInsertDriver } from '../storage/group-commit.js';
import { Dispatcher, servedApisOf } from './dispatcher.js';
import type { BrokerContext, BrokerEndpoint } from './handler-types.js';
import { startAuthorizer } from './security/authorizer/index.js';
import { startQuotaManager } from './quotas/index.js';
import { createHandlerRegistry } from './handlers/index.js';
import { createGroupCoordinator } from './groups/index.js';
import { HttpEndpoint } from './http.js';
import { ConsoleService } from './console/index.js';
import { consolePeers } from './console/cluster-groups.js';
import { createRestService, httpTlsSetup, type RestService } from './http/index.js';
import { KafkaListener } from './listener.js';
import { createBrokerSecurity, openListeners } from './security/index.js';
import { listenerLimitsFrom } from './net/limits/index.js';
import { createBrokerMetrics, groupCommitObserver, registerStorageMetrics } from './metrics.js';
import { FetchManager } from './fetch-sessions/manager.js';
import { registerFetchSessionMetrics } from './fetch-sessions/metrics.js';
import { RetentionService } from './retention/service.js';
import { CompactionService } from './compaction/service.js';
import { TransactionCoordinator } from './transactions/coordinator.js';
import { applyHeapGrowingPercent } from './runtime/heap.js';
import { transactionMarkers } from './transactions/cluster-wiring.js';
import { ProducerExpiry, TransactionTimers } from './transactions/service.js';

export interface RunningBroker {
  /** Port the Kafka listener is bound to (useful when configured as 0). */
  port: number;
  host: string;
  metricsPort: number | null;
  context: BrokerContext;
  storage: Storage;
  /** Stops accepting, lets in-flight commits finish, closes MySQL, stops a managed MariaDB. */
  stop(): Promise<void>;
}

/** How long a shutdown waits for connections to answer the requests they had read. */
const SHUTDOWN_GRACE_MS = 30_000;

export interface StartBrokerOptions {
  logger?: Logger;
  /** Keep a managed MariaDB running after stop (tests that restart the broker). */
  keepManagedMysql?: boolean;
}

function logInsertDriver(value: string | null): LogInsertDriver {
  if (value === null || value === 'auto' || value === 'mysql2' || value === 'mariadb') return value ?? 'auto';
  throw new ConfigError(`mysql.log.insert.driver must be auto, mysql2 or mariadb, not '${value}'`);
}

export async function startBroker(config: BrokerConfig, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { broker: config.brokerId } });
  applyHeapGrowingPercent(config.get('v8.heap.growing.percent'));
  let managed: ManagedMariadb | null = null;
  let mysqlUrl = config.mysqlUrl;
  if (!mysqlUrl) {
    managed = await startManagedMariadb({
      dataDir: resolve(config.mysqlDataDir),
      port: config.mysqlManagedPort,
      logger,
    });
    mysqlUrl = managed.url;
    logger.info({ dataDir: resolve(config.mysqlDataDir), port: managed.port, adopted: managed.adopted }, 'managed MariaDB ready');
  }

  // Before storage: its group commit reports each transaction's phases into a histogram.
  const metrics = createBrokerMetrics();
  const storage = await openStorage({
    metadataUrl: mysqlUrl,
    shardUrls: config.mysqlShards.length > 0 ? config.mysqlShards : [mysqlUrl],
    tailCacheBytesPerPartition: config.tailCacheBytes,
    groupCommitMaxDelayMs: config.groupCommitMaxDelayMs,
    groupCommitMaxBytes: config.groupCommitMaxBytes,
    tailCacheTotalBytes: config.int('log.tail.cache.total.bytes'),
    groupCommitLanes: config.int('group.commit.lanes'),
    groupCommitPipelineDepth: config.int('group.commit.pipeline.depth'),
    logInsertDriver: logInsertDriver(config.string('mysql.log.insert.driver')),
    producerIdExpirationMs: config.int('producer.id.expiration.ms'),
    // Several brokers: appends check their partition's leader epoch (fencing); alone there is no other writer.
    fenceLeaderEpochs: isClusterMode(config),
    queryTimeoutMs: config.int('mysql.query.timeout.ms'),
    observeGroupCommit: groupCommitObserver(metrics),
    poolSize: config.mysqlPoolSize,
    // Several brokers: a primary a failover published since the configuration was written.
    publishedPrimary: await publishedShardPrimaries(config, logger),
    logger,
  });

  // Failover of MySQL primaries with replicas: the lone broker promotes; in a cluster the controller does, through ZooKeeper (server/cluster/shard-failover.ts).
  const failoverTimeoutMs = config.int('mysql.failover.timeout.ms');
  if (!isClusterMode(config) && failoverTimeoutMs > 0) {
    storage.replication.startFailover({ timeoutMs: failoverTimeoutMs, fencingCommand: config.string('mysql.failover.fencing.command') });
  }

  // Dynamic broker configs in force before the first request, then re-read every broker.config.refresh.ms.
  const dynamicConfigs = new DynamicBrokerConfigs(storage.brokerConfigs, config, logger);
  await dynamicConfigs.refresh();
  dynamicConfigs.start();
  // ACLs (authorizer.class.name): loaded before the first request, then polled for changes.
  const authorizer = await startAuthorizer(config, storage.acls, logger, metrics);
  // Client quotas: loaded before the first request, then polled for changes.
  const quotas = await startQuotaManager(config, storage.quotas, logger);

  const self: BrokerEndpoint = { nodeId: config.brokerId, host: config.advertised.host, port: config.advertised.port, rack: config.rack };
  const brokerCluster = createBrokerCluster(config, storage, self, logger, async () => void (await dynamicConfigs.refresh()));
  const cluster = brokerCluster.view;
  const registry = createHandlerRegistry();
  const context: BrokerContext = {
    config,
    logger,
    dynamicConfigs,
    catalog: brokerCluster.catalog,
    logs: storage.logs,
    logDirs: storage.logDirs,
    cluster,
    groupCoordinator: null,
    fetchSessions: new FetchManager({
      maxSlots: config.int('max.incremental.fetch.session.cache.slots'),
      evictionMs: config.int('min.incremental.fetch.session.eviction.ms'),
    }),
    transactions: null,
    retention: null,
    topicDeletedListeners: [],
    servedApis: servedApisOf(registry),
    metrics,
    authorizer,
    quotas,
    users: storage.users,
    messageIds: new MessageIdDedupe(storage.messageIds, logger, metrics.registry),
    delayed: new DelayedProduce(storage.delayed, metrics.registry),
    now: () => Date.now(),
  };

  const coordinator = createGroupCoordinator({
    offsetStore: storage.offsets,
    config: {
      initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
      minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
      offsetsRetentionMinutes: config.int('offsets.retention.minutes'),
      offsetsRetentionCheckIntervalMs: config.int('offsets.retention.check.interval.ms'),
      offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
      maxSize: config.int('group.max.size'),
      memberMetadataMaxBytes: config.int('group.member.metadata.max.bytes'),
      groupMetadataMaxBytes: config.int('group.metadata.max.bytes'),
    },
    logger,
  });
  context.groupCoordinator = coordinator;
  context.topicDeletedListeners.push((topic) => coordinator.onTopicsDeleted([topic.name]));

  // Producer ids and transactional ids; idle producers forgotten on a timer.
  // Several brokers: markers for partitions other brokers lead go to them as WriteTxnMarkers.
  const txnMarkers = transactionMarkers(config, storage, brokerCluster, logger);
  const transactions = new TransactionCoordinator({
    allocateProducerId: () => storage.allocateProducerId(),
    store: storage.transactions,
    markers: txnMarkers.markers,
    leaderMarkers: txnMarkers.local,
    verified: txnMarkers.verified,
    deferRecovery: brokerCluster.zk !== null,
    isCoordinatorFor: (id) => context.cluster.coordinatorFor(id, 1).nodeId === self.nodeId,
    partitionExists: (topic, partition) => {
      const t = storage.catalog.getTopic(topic);
      return t !== undefined && partition >= 0 && partition < t.partitionCount;
    },
    maxTimeoutMs: config.int('transaction.max.timeout.ms'),
    logger,
  });
  // Loads the coordinator's state and completes transactions a crash left prepared.
  await transactions.start();
  context.transactions = transactions;
  txnMarkers.followCoordination(transactions);
  const transactionTimers = new TransactionTimers(
    transactions,
    {
      abortIntervalMs: config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
      expireIntervalMs: config.int('transaction.remove.expired.transaction.cleanup.interval.ms'),
      idExpirationMs: config.int('transactional.id.expiration.ms'),
    },
    logger,
  );
  transactionTimers.start();
  const producerExpiry = new ProducerExpiry(
    storage.logs,
    { expirationMs: config.int('producer.id.expiration.ms'), checkIntervalMs: config.int('producer.id.expiration.check.interval.ms') },
    logger,
  );
  producerExpiry.start();

  // Retention job (every log.retention.check.interval.ms) and log start refresh; DeleteRecords uses its cleaner.
  const retention = new RetentionService(storage, config, logger);
  context.retention = retention;
  retention.start();
  // Compaction of cleanup.policy=compact topics (every log.cleaner.backoff.ms) and cache refresh after other processes' compaction.
  const compaction = new CompactionService(storage, config, logger, metrics.registry);
  compaction.start();

  registerStorageMetrics(metrics, storage, coordinator);
  registerFetchSessionMetrics(metrics.registry, context.fetchSessions);
  const dispatcher = new Dispatcher(registry, context);
  // Listeners, TLS and SASL (server/security/): every frame passes the SASL gate first.
  const security = createBrokerSecurity(config, storage.users, logger, metrics);
  const listener = new KafkaListener(security.gate(dispatcher.handle), logger, metrics, config.socketRequestMaxBytes, config.int('connections.max.idle.ms'), listenerLimitsFrom(config));
  const port = await openListeners(listener, security, self, config);
  // A listener configured on port 0 advertises the port it actually got.
  if (config.advertised.port === 0) self.port = port;
  // Several brokers: register in ZooKeeper (a duplicate broker.id fails start-up here), run for controller.
  try {
    await brokerCluster.start();
  } catch (err) {
    await listener.close(0);
    await storage.close();
    if (managed && !options.keepManagedMysql) await managed.stop();
    throw err;
  }

  let http: HttpEndpoint | null = null;
  let rest: RestService | null = null;
  let metricsPort: number | null = null;
  let consoleService: ConsoleService | null = null;
  if (config.metricsListener) {
    // The REST interface (docs/http.md) shares the /metrics listener: one HTTP port per broker.
    // Authenticated with the Kafka listeners' users, authorized with their ACLs (server/http/auth.ts).
    const httpTls = httpTlsSetup(config);
    rest = createRestService(context, registry, httpTls, storage.messageIndex);
    http = new HttpEndpoint(metrics.registry, async () => {
      const reachable = await storage.ping();
      // While a dead managed MariaDB is being restarted, say so (state, restarts, last exit and error).
      const details: Record<string, unknown> = { mysql: { reachable } };
      const mariadb = managed?.status();
      if (mariadb) details.managedMariadb = mariadb;
      // The shard map this broker writes to (kafka-mysql shards status compares it with the servers).
      details.mysqlServers = storage.replication.topology();
      return { ok: reachable && (!mariadb || mariadb.state === 'running'), details };
    }, rest.router, httpTls);
    // The web console (docs/console.md) on the same listener, loopback clients only unless console.allow.remote.
    if (config.bool('console.enable')) {
      const webConsole = new ConsoleService(
        { broker: context, registry, messageIndex: storage.messageIndex, shardStatus: () => storage.replication.status(), shardCount: Math.max(1, config.mysqlShards.length), peers: consolePeers(config, brokerCluster.zk, logger) },
        { allowRemote: config.bool('console.allow.remote'), authenticate: rest.authenticate },
      );
      webConsole.start();
      http.use((req, res) => webConsole.handle(req, res));
      consoleService = webConsole;
    }
    metricsPort = await http.listen(config.metricsListener.host, config.metricsListener.port);
  }
  logger.info({ host: config.listener.host, port, listeners: self.listeners, metricsPort, clusterId: storage.clusterId }, 'kafka-mysql broker listening');
  // The in-broker outbox relay (outbox.mysql.url, docs/outbox.md): in-process on a single broker, else through a PLAINTEXT listener.
  const outbox = new OutboxService(config, logger);
  outbox.start(outboxRoute(config, isClusterMode(config), (principal) => inProcessPublisher(context, registry, principal), self.listeners));
  // The message index of topics with message.index.enable, filled from committed batches.
  const messageIndexer = new MessageIndexer(
    { catalog: context.catalog, logs: storage.logs, store: storage.messageIndex, leads: (t, p) => cluster.leaderOf(t, p) === self.nodeId, logger },
    config.int('message.index.interval.ms'),
  );
  messageIndexer.start();
  // Push subscriptions (docs/subscriptions.md): management through REST, delivery by the service.
  const subSettings = subscriptionSettings(config);
  const subscriptions = subSettings.enabled
    ? new SubscriptionService(
        {
          store: storage.subscriptions,
          catalog: context.catalog,
          logs: storage.logs,
          leads: (t, p) => cluster.leaderOf(t, p) === self.nodeId,
          // The broker's own writes (dead letters): no ACL or quota; create checked WRITE on the dead-letter topic.
          callApi: (apiKey, request) => createRestContext({ ...context, authorizer: null, quotas: null }, registry).callApi(apiKey, request, { principal: ANONYMOUS, host: 'subscriptions' }),
          registry: metrics.registry,
          logger: logger.child({ task: 'subscriptions' }),
          brokerId: config.brokerId,
        },
        subSettings,
      )
    : null;
  context.subscriptions = {
    deps: { catalog: context.catalog, logs: storage.logs, store: storage.subscriptions },
    changed: () => void subscriptions?.sync().catch(() => undefined),
  };
  subscriptions?.start();
  // Delayed delivery: held records of the partitions this broker leads are appended when due (docs/delayed.md).
  const delayedScheduler = new DelayedScheduler(
    {
      catalog: context.catalog,
      logs: storage.logs,
      store: storage.delayed,
      config,
      leads: (t, p) => cluster.leaderOf(t, p) === self.nodeId,
      leaderEpochOf: (t, p) => cluster.leaderEpochOf(t, p),
      logger,
      registry: metrics.registry,
    },
    { pageSize: config.int('delayed.delivery.page.size'), rescanMs: config.int('delayed.delivery.rescan.ms'), concurrency: config.int('delayed.delivery.concurrency'), pipeline: config.bool('delayed.delivery.pipeline') },
  );
  context.delayed!.listener = delayedScheduler;
  delayedScheduler.start();
  // A deleted topic's message ids and index entries go with it.
  context.topicDeletedListeners.push(async (topic) => {
    try {
      await storage.messageIds.dropTopic(topic.shardOfPartition, topic.topicId);
      await storage.messageIndex.dropTopic(topic.shardOfPartition, topic.topicId);
      await storage.delayed.dropTopic(topic.shardOfPartition, topic.topicId);
    } catch (err) {
      logger.warn({ topic: topic.name, err: (err as Error).message }, 'dropping the message ids and index of a deleted topic failed');
    }
  });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      // Several brokers: leadership moves to the others first, so clients see only retriable errors.
      await brokerCluster.shutdown();
      await outbox.shutdown();
      await messageIndexer.shutdown();
      await subscriptions?.shutdown();
      await delayedScheduler.shutdown();
      // Stop accepting and reading; requests already read (commits in flight) are answered before
      // their connections close, so producers do not resend what was committed.
      const draining = listener.close(SHUTDOWN_GRACE_MS);
      // The coordinator answers its waiting joins now (NOT_COORDINATOR), or they would hold the drain.
      await coordinator.shutdown();
      const inFlightAnswered = await draining;
      logger.info({ inFlightAnswered }, 'connections drained');
      await rest?.close();
      await http?.close();
      consoleService?.stop();
      producerExpiry.shutdown();
      await transactionTimers.shutdown();
      txnMarkers.close();
      await dynamicConfigs.stop();
      authorizer?.stop();
      quotas.stop();
      // Retention stops after its chunk.
      await retention.shutdown();
      await compaction.shutdown();
      await brokerCluster.close();
      await storage.close();
      if (managed && !options.keepManagedMysql) await managed.stop();
      logger.info('stopped');
    })();
    return stopping;
  };

  return { port, host: config.listener.host, metricsPort, context, storage, stop };
}
