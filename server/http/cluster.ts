/** v3 clusters and brokers: the one cluster this broker belongs to, its brokers from the cluster view. */
import type { IncomingMessage } from 'node:http';
import type { RestContext } from './context.js';
import { notFound } from './errors.js';
import { checkCluster, list, related, resource } from './links.js';
import type { Route } from './router.js';

function clusterBody(req: IncomingMessage, rest: RestContext): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const base = `/v3/clusters/${id}`;
  return resource(req, 'KafkaCluster', base, `crn:///kafka=${id}`, {
    cluster_id: id,
    controller: related(req, `${base}/brokers/${rest.broker.cluster.controllerId()}`),
    acls: related(req, `${base}/acls`),
    brokers: related(req, `${base}/brokers`),
    broker_configs: related(req, `${base}/broker-configs`),
    consumer_groups: related(req, `${base}/consumer-groups`),
    topics: related(req, `${base}/topics`),
    partition_reassignments: related(req, `${base}/topics/-/partitions/-/reassignment`),
  });
}

function brokerBody(req: IncomingMessage, rest: RestContext, b: { nodeId: number; host: string; port: number; rack: string | null }): Record<string, unknown> {
  const id = rest.broker.cluster.clusterId;
  const path = `/v3/clusters/${id}/brokers/${b.nodeId}`;
  return resource(req, 'KafkaBroker', path, `crn:///kafka=${id}/broker=${b.nodeId}`, {
    cluster_id: id,
    broker_id: b.nodeId,
    host: b.host,
    port: b.port,
    rack: b.rack,
    configs: related(req, `${path}/configs`),
    partition_replicas: related(req, `${path}/partition-replicas`),
  });
}

export const clusterRoutes: Route[] = [
  {
    method: 'GET',
    path: '/v3/clusters',
    async handle({ req, rest }) {
      return { status: 200, body: list(req, 'KafkaClusterList', '/v3/clusters', [clusterBody(req, rest)]) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}',
    async handle({ req, rest, params }) {
      checkCluster(rest, params.cluster);
      return { status: 200, body: clusterBody(req, rest) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/brokers',
    async handle({ req, rest, params }) {
      const id = checkCluster(rest, params.cluster);
      const brokers = rest.broker.cluster.brokers().sort((a, b) => a.nodeId - b.nodeId);
      return { status: 200, body: list(req, 'KafkaBrokerList', `/v3/clusters/${id}/brokers`, brokers.map((b) => brokerBody(req, rest, b))) };
    },
  },
  {
    method: 'GET',
    path: '/v3/clusters/{cluster}/brokers/{broker}',
    async handle({ req, rest, params }) {
      checkCluster(rest, params.cluster);
      const b = rest.broker.cluster.brokers().find((x) => String(x.nodeId) === params.broker);
      if (!b) throw notFound(`Broker ${params.broker} cannot be found.`);
      return { status: 200, body: brokerBody(req, rest, b) };
    },
  },
];
