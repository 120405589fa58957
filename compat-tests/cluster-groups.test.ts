/**
 * Group coordinators spread over three brokers (docs/cluster.md, "Coordinators"): a broker
 * answers NOT_COORDINATOR for a group placed on another one, and a kafkajs consumer group
 * whose coordinator is SIGKILLed (and later restarted, so the group moves back) rejoins on the
 * new coordinator, resumes from its committed offsets and consumes every acknowledged record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createHeartbeatRequest } from '../codec/generated/heartbeat.js';
import { createOffsetFetchRequest } from '../codec/generated/offset-fetch.js';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { RawClient } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { coordinatorOf, createTopic, kafka, runProducer } from './support/cluster-clients.js';
import { waitFor } from './support/wait.js';

async function raw<T>(cluster: TestCluster, id: number, apiKey: 9 | 12, version: number, body: unknown): Promise<T> {
  const c = await RawClient.connect(cluster.ports.get(id)!);
  try {
    return (await c.request(apiKey, version, body as never)) as unknown as T;
  } finally {
    c.close();
  }
}


describe.skipIf(!zookeeperInstalled())('consumer groups on several brokers', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster('cluster-groups', 3);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('the brokers that do not coordinate a group answer NOT_COORDINATOR; its coordinator serves it', async () => {
    const groupId = 'placed';
    const coordinator = await coordinatorOf(cluster, 1, groupId);
    expect([1, 2, 3]).toContain(coordinator);
    for (const id of [1, 2, 3]) {
      expect(await coordinatorOf(cluster, id, groupId)).toBe(coordinator);
      const fetched = await raw<{ errorCode: number }>(cluster, id, 9, 7, createOffsetFetchRequest({ groupId, topics: null }));
      const beat = await raw<{ errorCode: number }>(cluster, id, 12, 4, createHeartbeatRequest({ groupId, generationId: 1, memberId: 'm', groupInstanceId: null }));
      if (id === coordinator) {
        expect([fetched.errorCode, beat.errorCode]).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
      } else {
        expect([fetched.errorCode, beat.errorCode]).toEqual([ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR]);
      }
    }
  });

  it('SIGKILL of the group coordinator: the group rejoins elsewhere, resumes from committed offsets, every acknowledged record is consumed', async () => {
    const topic = 'orders';
    const groupId = 'orders-group';
    await createTopic(cluster, topic, 3);
    const victim = await coordinatorOf(cluster, 1, groupId);

    const producer = kafka(cluster, 'orders-producer').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const load = runProducer(producer, topic, 3);

    /** Per partition: offset -> value, and every delivery in order. */
    const byOffset = new Map<number, Map<number, number>>([0, 1, 2].map((p) => [p, new Map()]));
    const maxDelivered = new Map<number, number>();
    const committed = new Map<number, number>();
    /** Re-deliveries (an offset at or below one already delivered) with the commit known then. */
    const rewinds: { partition: number; offset: number; committedThen: number }[] = [];
    let joinsAfterKill = 0;
    let killed = false;
    let commitsAfterKill = 0;
    const consumers = [0, 1].map((i) =>
      kafka(cluster, `orders-consumer-${i}`).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200, rebalanceTimeout: 20_000 }),
    );
    for (const c of consumers) {
      c.on(c.events.COMMIT_OFFSETS, (e) => {
        for (const t of e.payload.topics) {
          for (const p of t.partitions) committed.set(Number(p.partition), Math.max(committed.get(Number(p.partition)) ?? 0, Number(p.offset)));
        }
        if (killed) commitsAfterKill++;
      });
      c.on(c.events.GROUP_JOIN, () => {
        if (killed) joinsAfterKill++;
      });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          const offset = Number(message.offset);
          if (offset <= (maxDelivered.get(partition) ?? -1)) rewinds.push({ partition, offset, committedThen: committed.get(partition) ?? 0 });
          maxDelivered.set(partition, Math.max(offset, maxDelivered.get(partition) ?? -1));
          byOffset.get(partition)!.set(offset, Number(message.value!.toString()));
        },
      });
    }
    let coordinatorAfterKill = -1;
    try {
      await waitFor(() => [0, 1, 2].every((p) => (committed.get(p) ?? 0) > 20), 'offsets committed on every partition', 60_000);
      const committedAtKill = new Map(committed);
      killed = true;
      await cluster.brokers.get(victim)!.kill();
      const survivor = [1, 2, 3].find((id) => id !== victim)!;
      await waitFor(async () => {
        coordinatorAfterKill = await coordinatorOf(cluster, survivor, groupId);
        return coordinatorAfterKill > 0 && coordinatorAfterKill !== victim;
      }, 'the group placed on a live broker', 30_000);
      // Consumption goes on past what was acknowledged after the kill.
      const target = [0, 1, 2].map((p) => load.acked.get(p)!.length + 20);
      await waitFor(() => [0, 1, 2].every((p) => byOffset.get(p)!.size >= target[p]!), 'consumption after the kill', 60_000);
      expect(joinsAfterKill).toBeGreaterThan(0);
      expect(commitsAfterKill).toBeGreaterThan(0);
      for (const p of [0, 1, 2]) expect(committed.get(p)!).toBeGreaterThan(committedAtKill.get(p)!);
      // The coordinator comes back: the group moves back to it (the interim coordinator unloads it).
      await cluster.start(victim);
      const target2 = [0, 1, 2].map((p) => load.acked.get(p)!.length + 20);
      await waitFor(() => [0, 1, 2].every((p) => byOffset.get(p)!.size >= target2[p]!), 'consumption after the restart', 60_000);
    } finally {
      if (process.env.CLUSTER_DEBUG) console.log({ delivered: [0, 1, 2].map((p) => byOffset.get(p)!.size), committed, acked: [0, 1, 2].map((p) => load.acked.get(p)!.length), joinsAfterKill });
      await load.stop();
      await producer.disconnect();
    }
    const ackedValues = [0, 1, 2].map((p) => load.acked.get(p)!);
    await waitFor(
      () => [0, 1, 2].every((p) => ackedValues[p]!.every((v) => new Set(byOffset.get(p)!.values()).has(v))),
      'every acknowledged record consumed',
      60_000,
    );
    await Promise.all(consumers.map((c) => c.disconnect()));

    for (const p of [0, 1, 2]) {
      const offsets = [...byOffset.get(p)!.keys()].sort((a, b) => a - b);
      // Consumed from offset 0 with no gap, and the acknowledged records in acknowledgement order.
      expect(offsets).toEqual(offsets.map((_, i) => i));
      const values = offsets.map((o) => byOffset.get(p)!.get(o)!);
      const positions = ackedValues[p]!.map((v) => values.indexOf(v));
      expect(positions.filter((i) => i < 0)).toEqual([]);
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
    }
    // Every re-delivery started at or after the offset committed at that time, never from the beginning.
    expect(rewinds.filter((r) => r.offset < r.committedThen)).toEqual([]);
    console.log(
      `consumer group over the coordinator's SIGKILL: coordinator ${victim} -> ${coordinatorAfterKill}, ${[0, 1, 2].map((p) => byOffset.get(p)!.size).reduce((a, b) => a + b)} records, ${rewinds.length} re-delivered`,
    );
  }, 240_000);
});
