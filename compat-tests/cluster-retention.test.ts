/**
 * The retention CLI run from outside the brokers of a cluster (docs/cluster.md, "Metadata
 * changes"): with zookeeper.connect set it tells every broker through ZooKeeper, and ListOffsets
 * earliest from each partition's leader (one partition led by each of the three brokers) shows
 * the new log start within one second. The brokers' own polling (log.start.offset.refresh.ms)
 * and retention job are off, so only the notification can tell them; a run without
 * zookeeper.connect is the control: the leaders keep the old log start.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListOffsetsRequest } from '../codec/generated/list-offsets.js';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { RawClient } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { kafka, metadataFrom } from './support/cluster-clients.js';
import { CLI } from './retention-support.js';
import { waitFor } from './support/wait.js';

const HOUR = 3_600_000;

async function earliest(cluster: TestCluster, brokerId: number, topic: string, partition: number): Promise<bigint> {
  const c = await RawClient.connect(cluster.ports.get(brokerId)!);
  try {
    const r = await c.request(
      2,
      7,
      createListOffsetsRequest({ replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n, maxNumOffsets: 1 }] }] }),
    );
    const p = r.topics[0]!.partitions[0]!;
    if (p.errorCode !== 0) throw new Error(`ListOffsets error ${p.errorCode}`);
    return p.offset;
  } finally {
    c.close();
  }
}

/** A topic of 3 partitions with retention.ms one hour: 5 records two hours old, then 5 new ones, per partition. */
async function oldThenNew(cluster: TestCluster, topic: string): Promise<Map<number, number>> {
  const admin = kafka(cluster, 'admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: String(HOUR) }] }], waitForLeaders: true });
  await admin.disconnect();
  let leaders = new Map<number, number>();
  await waitFor(async () => {
    const m = await metadataFrom(cluster, 1, topic);
    leaders = new Map([...m.leaders].map(([p, l]) => [p, l.leader]));
    return [...leaders.values()].every((l) => l > 0);
  }, 'leaders', 15_000);
  const producer = kafka(cluster, 'producer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const old = String(Date.now() - 2 * HOUR);
  for (const partition of [0, 1, 2]) {
    await producer.send({ topic, acks: -1, messages: [0, 1, 2, 3, 4].map((i) => ({ partition, value: `old-${i}`, timestamp: old })) });
    await producer.send({ topic, acks: -1, messages: [0, 1, 2, 3, 4].map((i) => ({ partition, value: `new-${i}` })) });
  }
  await producer.disconnect();
  return leaders;
}

function retentionRun(cluster: TestCluster, topic: string, withZookeeper: boolean): { brokersNotified: unknown; deleted: number } {
  const sets = ['--set', `mysql.url=${cluster.mysqlUrl}`];
  if (withZookeeper) sets.push('--set', `zookeeper.connect=${cluster.zk.connect}`);
  const r = spawnSync(process.execPath, [CLI, 'retention', 'run', '--topic', topic, '--json', ...sets], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KAFKA_MYSQL_URL: '' } });
  if (r.status !== 0) throw new Error(`retention run exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { brokersNotified: unknown; batches: number };
  return { brokersNotified: out.brokersNotified, deleted: out.batches };
}

describe.skipIf(!zookeeperInstalled())('retention CLI against a cluster', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster('cluster-retention', 3, { 'log.start.offset.refresh.ms': 0, 'log.retention.check.interval.ms': 3_600_000 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('ListOffsets earliest on every leader shows the new log start within one second of the CLI run', async () => {
    const topic = 'retained';
    const leaders = await oldThenNew(cluster, topic);
    expect(new Set(leaders.values())).toEqual(new Set([1, 2, 3]));
    for (const [p, l] of leaders) expect(await earliest(cluster, l, topic, p)).toBe(0n);

    const run = retentionRun(cluster, topic, true);
    const ranAt = Date.now();
    expect(run).toEqual({ brokersNotified: true, deleted: 3 });
    const seenMs = new Map<number, number>();
    await waitFor(async () => {
      for (const [p, l] of leaders) {
        if (!seenMs.has(p) && (await earliest(cluster, l, topic, p)) === 5n) seenMs.set(p, Date.now() - ranAt);
      }
      return seenMs.size === 3;
    }, 'the new log start on every leader', 10_000);
    console.log(`retention CLI -> ListOffsets earliest on each leader: ${[...seenMs.values()].join(', ')} ms after the run`);
    for (const ms of seenMs.values()) expect(ms).toBeLessThan(1000);
  }, 120_000);

  it('without zookeeper.connect the CLI notifies nobody: the leaders keep the old log start', async () => {
    const topic = 'retained-quietly';
    const leaders = await oldThenNew(cluster, topic);
    const run = retentionRun(cluster, topic, false);
    expect(run).toEqual({ brokersNotified: false, deleted: 3 });
    await new Promise((r) => setTimeout(r, 2000));
    for (const [p, l] of leaders) expect(await earliest(cluster, l, topic, p)).toBe(0n);
  }, 120_000);
});
