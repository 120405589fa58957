/** Confluent v3 resource envelopes: `kind`, `metadata.self`, `related` links, lists. */
import type { IncomingMessage } from 'node:http';
import type { TopicRecord } from '../../storage/types.js';
import type { RestContext } from './context.js';
import { notFound, topicNotFound } from './errors.js';

export function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}`;
}

export function resource(req: IncomingMessage, kind: string, path: string, crn: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { kind, metadata: { self: `${baseUrl(req)}${path}`, resource_name: crn }, ...fields };
}

export function list(req: IncomingMessage, kind: string, path: string, data: unknown[]): Record<string, unknown> {
  return { kind, metadata: { self: `${baseUrl(req)}${path}`, next: null }, data };
}

export function related(req: IncomingMessage, path: string): { related: string } {
  return { related: `${baseUrl(req)}${path}` };
}

/** Refuses another cluster's id: 404, as Confluent does. */
export function checkCluster(rest: RestContext, clusterId: string | undefined): string {
  const own = rest.broker.cluster.clusterId;
  if (clusterId !== own) throw notFound(`Cluster ${clusterId} cannot be found.`, 404);
  return own;
}

export function requireTopic(rest: RestContext, name: string): TopicRecord {
  const topic = rest.broker.catalog.getTopic(name);
  if (!topic) throw topicNotFound(name);
  return topic;
}

export function requirePartition(topic: TopicRecord, raw: string): number {
  const p = /^\d+$/.test(raw) ? Number(raw) : -1;
  if (p < 0 || p >= topic.partitionCount) throw notFound(`This server does not host this topic-partition: ${topic.name}-${raw}.`, 40402, 3);
  return p;
}
