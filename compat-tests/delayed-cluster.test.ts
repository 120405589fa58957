/**
 * Delayed delivery in a cluster (docs/delayed.md, "Restarts and failover"): two brokers on one
 * database and a ZooKeeper; kafkajs holds 400 records with ids on a topic of 4 partitions (each
 * broker leads some), due 8 to 10 s later. Before they are due, the broker leading partition 0
 * is killed with SIGKILL; the survivor becomes the leader of its partitions and delivers their
 * held records. Every id is then read exactly once, none before its due time: only the
 * leader delivers a partition, and a failover resumes delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { readPartition } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { kafka, metadataFrom, waitForTopicLeaders } from './support/cluster-clients.js';

const TOPIC = 'dl-cluster';
const PARTITIONS = 4;
const RECORDS = 400;
let cluster: TestCluster | undefined;

beforeAll(async () => {
  if (!zookeeperInstalled()) return;
  cluster = await startTestCluster('delayed_cluster', 2, { 'delayed.delivery.rescan.ms': 500 });
});

afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(!zookeeperInstalled())('delayed delivery across a broker failover', () => {
  it('delivers every held record once after the leader of some partitions is SIGKILLed', { timeout: 120_000 }, async () => {
    const c = cluster!;
    const client = kafka(c, 'delayed-cluster');
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] }], waitForLeaders: false });
    await admin.disconnect();
    await waitForTopicLeaders(c, TOPIC, PARTITIONS, 15_000);
    const producer = client.producer();
    await producer.connect();
    const start = Date.now() + 8000;
    for (let s = 0; s < RECORDS; s += 100) {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({
          partition: (s + i) % PARTITIONS,
          value: `v-${s + i}`,
          headers: { 'deliver-at': String(start + Math.floor(((s + i) * 2000) / RECORDS)), 'message-id': `c-${s + i}` },
        })),
      });
    }
    await producer.disconnect();
    const before = await metadataFrom(c, 1, TOPIC);
    const victim = before.leaders.get(0)!.leader;
    const survivor = victim === 1 ? 2 : 1;
    await c.brokers.get(victim)!.kill();

    const readAll = async () => {
      const out: { id: string; at: bigint; ts: bigint }[] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        for (const r of (await readPartition(c.ports.get(survivor)!, TOPIC, p)).records) {
          const h = (k: string) => r.headers.find((x) => x.key === k)?.value?.toString() ?? '';
          out.push({ id: h('message-id'), at: BigInt(h('deliver-at')), ts: r.timestamp });
        }
      }
      return out;
    };
    // The survivor leads every partition once the victim's ZooKeeper session expires.
    await waitForTopicLeaders(c, TOPIC, PARTITIONS, 30_000);
    let records: { id: string; at: bigint; ts: bigint }[] = [];
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; ) {
      records = await readAll().catch(() => []);
      if (records.length >= RECORDS && Date.now() > start + 4000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = await metadataFrom(c, survivor, TOPIC);
    expect([...after.leaders.values()].every((l) => l.leader === survivor)).toBe(true);
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    expect(Array.from({ length: RECORDS }, (_, n) => `c-${n}`).filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect(records.length).toBe(RECORDS);
    for (const r of records) expect(r.ts).toBeGreaterThanOrEqual(r.at);
  });
});
