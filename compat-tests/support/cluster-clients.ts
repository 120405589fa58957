/**
 * Clients for the cluster tests (compat-tests/cluster*.test.ts): kafkajs set up for a cluster
 * whose brokers die, a raw Metadata read from one chosen broker, a numbering acks=-1 producer
 * that records what was acknowledged, and topic creation that waits for leaders everywhere.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ErrorCode } from '../../codec/error-codes.js';
import { createFindCoordinatorRequest } from '../../codec/generated/find-coordinator.js';
import { createMetadataRequest } from '../../codec/generated/metadata.js';
import { RawClient } from './clients.js';
import type { TestCluster } from './cluster.js';
import { waitFor } from './wait.js';

export interface Meta {
  brokers: number[];
  controller: number;
  leaders: Map<number, { leader: number; epoch: number }>;
}

export function kafka(cluster: TestCluster, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: cluster.bootstrap(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 2000,
    requestTimeout: 10_000,
  });
}

/** Metadata for `topic` as broker `id` answers it (raw, so no client cache is in the way). */
export async function metadataFrom(cluster: TestCluster, id: number, topic: string): Promise<Meta> {
  const c = await RawClient.connect(cluster.ports.get(id)!);
  try {
    const res = (await c.request(3, 9, createMetadataRequest({ topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false }))) as {
      brokers: { nodeId: number }[];
      controllerId: number;
      topics: { partitions: { partitionIndex: number; leaderId: number; leaderEpoch: number }[] }[];
    };
    const leaders = new Map<number, { leader: number; epoch: number }>();
    for (const p of res.topics[0]?.partitions ?? []) leaders.set(p.partitionIndex, { leader: p.leaderId, epoch: p.leaderEpoch });
    return { brokers: res.brokers.map((b) => b.nodeId).sort(), controller: res.controllerId, leaders };
  } finally {
    c.close();
  }
}

/** The coordinator of a group (keyType 1: of a transactional id) as broker `askId` names it (-1 while it names none). */
export async function coordinatorOf(cluster: TestCluster, askId: number, groupId: string, keyType: 0 | 1 = 0): Promise<number> {
  const c = await RawClient.connect(cluster.ports.get(askId)!);
  try {
    const r = await c.request(10, 3, createFindCoordinatorRequest({ key: groupId, keyType }));
    return r.errorCode === ErrorCode.NONE ? r.nodeId : -1;
  } finally {
    c.close();
  }
}

/** A producer that numbers records per partition and records what was acknowledged. */
export function runProducer(producer: Producer, topic: string, partitions: number) {
  const acked = new Map<number, number[]>();
  const failures: string[] = [];
  let stopped = false;
  let n = 0;
  const lastAck = new Map<number, number>();
  const loops = Array.from({ length: partitions }, async (_, partition) => {
    acked.set(partition, []);
    while (!stopped) {
      const value = n++;
      try {
        await producer.send({ topic, acks: -1, messages: [{ partition, value: String(value) }] });
        acked.get(partition)!.push(value);
        lastAck.set(partition, Date.now());
      } catch (err) {
        failures.push(`${partition}: ${(err as Error).message}`);
      }
    }
  });
  return {
    acked,
    failures,
    lastAck,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/**
 * Creates the topic and waits up to `leadersWithinMs` until every broker that answers names a
 * leader for each of its partitions. kafkajs's own wait for leaders is not used: it gives up
 * after its request timeout (5 s), whatever `leadersWithinMs` says.
 */
export async function createTopic(cluster: TestCluster, topic: string, numPartitions: number, leadersWithinMs = 15_000): Promise<void> {
  const admin = kafka(cluster, 'admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false });
  await admin.disconnect();
  await waitForTopicLeaders(cluster, topic, numPartitions, leadersWithinMs);
}

/** Waits until every broker that answers names a leader for each of the topic's partitions. */
export async function waitForTopicLeaders(cluster: TestCluster, topic: string, numPartitions: number, withinMs: number): Promise<void> {
  await waitFor(
    async () =>
      (await Promise.all([...cluster.brokers.keys()].map((id) => metadataFrom(cluster, id, topic).catch(() => null)))).every(
        (m) => m === null || (m.leaders.size === numPartitions && [...m.leaders.values()].every((l) => l.leader > 0)),
      ),
    `leaders of ${topic} on every broker`,
    withinMs,
  );
}
