/** Console routes for the overview: who is logged in, brokers, controller, MySQL shards, metrics history. */
import { ErrorCode } from '../../codec/error-codes.js';
import { canDescribeCluster, canDescribeGroup, canDescribeTopic, type ConsoleRequest } from './context.js';
import { METRICS_INTERVAL_MS } from './history.js';
import type { ConsoleRoute } from './router.js';
import { KafkaError } from '../../codec/error-codes.js';

export const clusterRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/console/api/whoami',
    async handle(r: ConsoleRequest) {
      const { broker } = r.state.deps;
      return {
        principal: `${r.principal.type}:${r.principal.name}`,
        authorizer: Boolean(broker.authorizer),
        cluster_id: broker.cluster.clusterId,
        broker_id: broker.cluster.self.nodeId,
        can_describe_cluster: canDescribeCluster(r),
      };
    },
  },
  {
    method: 'GET',
    path: '/console/api/overview',
    async handle(r: ConsoleRequest) {
      const { broker, shardStatus, shardCount } = r.state.deps;
      const clusterVisible = canDescribeCluster(r);
      const topics = broker.catalog.listTopics().filter((t) => canDescribeTopic(r, t.name));
      let groups = 0;
      try {
        groups = (await broker.groupCoordinator?.listGroups())?.filter((g) => canDescribeGroup(r, g.groupId)).length ?? 0;
      } catch {
        groups = 0;
      }
      let shards: unknown = null;
      if (clusterVisible && shardStatus) {
        try {
          shards = await shardStatus();
        } catch (err) {
          shards = { error: (err as Error).message };
        }
      }
      return {
        cluster_id: broker.cluster.clusterId,
        controller_id: clusterVisible ? broker.cluster.controllerId() : null,
        this_broker: broker.cluster.self.nodeId,
        brokers: clusterVisible ? broker.cluster.brokers().sort((a, b) => a.nodeId - b.nodeId).map((b) => ({ id: b.nodeId, host: b.host, port: b.port, rack: b.rack })) : [],
        topics: topics.length,
        partitions: topics.reduce((s, t) => s + t.partitionCount, 0),
        groups,
        shard_count: clusterVisible ? shardCount : null,
        shards_with_replicas: shards,
      };
    },
  },
  {
    method: 'GET',
    path: '/console/api/metrics',
    async handle(r: ConsoleRequest) {
      // Broker-wide throughput is cluster information.
      if (!canDescribeCluster(r)) throw new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Describing the cluster is not allowed');
      return { interval_ms: METRICS_INTERVAL_MS, samples: await r.state.metricsHistory.read() };
    },
  },
];
