/**
 * MySQL primary failover coordinated through ZooKeeper (issue 12, several brokers): a private
 * MariaDB primary and two semi-sync replicas (testing/replicated-mariadb.ts) hold the metadata
 * database and the only shard; three brokers with ZooKeeper (compat-tests/support/cluster.ts)
 * and mysql.failover.timeout.ms=2000, mysql.failover.quorum=2 (the controller promotes once
 * another broker also reports the primary unreachable); a kafkajs idempotent producer (acks=-1) into a
 * min.insync.replicas=2 topic whose three partitions are led by the three brokers, so every
 * broker writes to the shard. The primary is SIGKILLed under that load:
 * - exactly one promotion: one broker (the controller) publishes it, the ZooKeeper record ends
 *   at shard epoch 1 naming one of the replicas, and no broker logs a second claim;
 * - every broker switches to that primary (its /health-like topology through the log line);
 * - every acknowledged number is consumed afterwards, none twice.
 * Prints the time from the kill to the first acknowledgement of a send started after it.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { SHARDS_PATH, parseShardRecord, recordName } from '../server/cluster/shard-failover.js';
import { ZkSession } from '../server/cluster/zk.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../testing/replicated-mariadb.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';

const TOPIC = 'ha-cluster';
const PARTITIONS = 3;

let servers: ReplicatedMariadb | undefined;
let cluster: TestCluster | undefined;

afterEach(async () => {
  // Brokers first: the cluster's stop drops its (unused) database on the suite's MariaDB.
  await cluster?.stop().catch(() => undefined);
  cluster = undefined;
  await servers?.stop();
  servers = undefined;
});

interface Load {
  acked: Set<number>;
  ackTimes: number[];
  sendTimes: number[];
  errors: number;
  stop(): Promise<void>;
}

/** Numbered records, 9 per send over the three partitions, one send in flight. */
function startLoad(producer: Producer): Load {
  const load: Load = { acked: new Set(), ackTimes: [], sendTimes: [], errors: 0, stop: async () => undefined };
  let running = true;
  let next = 0;
  const loop = (async () => {
    while (running) {
      const values = Array.from({ length: 9 }, () => next++);
      const sentAt = Date.now();
      try {
        await producer.send({ topic: TOPIC, acks: -1, messages: values.map((v) => ({ value: String(v), partition: v % PARTITIONS })) });
        for (const v of values) load.acked.add(v);
        load.ackTimes.push(Date.now());
        load.sendTimes.push(sentAt);
      } catch {
        load.errors++;
      }
    }
  })();
  load.stop = async () => {
    running = false;
    await loop;
  };
  return load;
}

function firstAckAfter(load: Load, t: number): number | undefined {
  const i = load.sendTimes.findIndex((s) => s >= t);
  return i < 0 ? undefined : load.ackTimes[i];
}

async function consumeAll(kafka: Kafka, expected: Set<number>): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const consumer = kafka.consumer({ groupId: `verify-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = Number(message.value!.toString());
      seen.set(v, (seen.get(v) ?? 0) + 1);
    },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && ![...expected].every((v) => seen.has(v))) await new Promise((r) => setTimeout(r, 200));
  // A little longer: duplicates would arrive after the last expected number.
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return seen;
}

function count(text: string, msg: string): number {
  return text.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;
}

describe('MySQL failover in a cluster (ZooKeeper)', () => {
  it('SIGKILL of the primary under acks=-1 load: one promotion, every broker follows, nothing lost or doubled', { timeout: 180_000 }, async () => {
    servers = await startReplicatedMariadb({ replicas: 2, semiSyncTimeoutMs: 1000 });
    cluster = await startTestCluster('shardfo', 3, { 'mysql.url': servers.shardUrl(), 'mysql.failover.timeout.ms': 2000, 'mysql.failover.quorum': 2 });
    const kafka = new Kafka({
      clientId: 'cluster-failover',
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 10_000,
      retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    const leaders = new Set((await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.map((p) => p.leader));
    await admin.disconnect();
    // Every broker leads a partition: every broker writes to the shard when it dies.
    expect(leaders.size).toBe(3);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const load = startLoad(producer);
    while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));

    const killedAt = Date.now();
    await servers.kill(servers.servers[0]!);
    while (firstAckAfter(load, killedAt) === undefined && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 50));
    const firstAck = firstAckAfter(load, killedAt);
    expect(firstAck, 'a produce acknowledged after the failover').toBeDefined();
    const ackedBefore = load.acked.size;
    while (load.acked.size < ackedBefore + 300) await new Promise((r) => setTimeout(r, 50));
    await load.stop();
    await producer.disconnect();

    // Exactly one promotion: the ZooKeeper record is at epoch 1, promoted, naming a replica.
    const zk = await ZkSession.connect(cluster.zk.connect, 4000, 4000);
    let record;
    try {
      const got = await zk.getData(`${SHARDS_PATH}/${recordName('metadata database')}`);
      record = got && parseShardRecord(got.data);
    } finally {
      zk.close();
    }
    const replicas = servers.servers.slice(1).map((s) => `127.0.0.1:${s.port}`);
    expect(record?.state).toBe('promoted');
    expect(record?.epoch).toBe(1);
    expect(replicas).toContain(record?.primary);
    const logs = [...cluster.brokers.values()].map((b) => b.output());
    expect(logs.map((l) => count(l, 'shard failover: promotion claimed')).reduce((a, b) => a + b)).toBe(1);
    expect(logs.map((l) => count(l, 'shard failover: promotion published in ZooKeeper')).reduce((a, b) => a + b)).toBe(1);
    const controller = logs.findIndex((l) => count(l, 'shard failover: promotion published in ZooKeeper') === 1);
    // Every other broker switched to the published primary.
    for (const [i, l] of logs.entries()) {
      if (i === controller) continue;
      const switched = l.split('\n').filter((x) => x.includes('"msg":"shard primary switched'));
      expect(switched.length, `broker ${i + 1} switched once`).toBe(1);
      expect(switched[0]).toContain(`"primary":"${record!.primary}"`);
    }

    const seen = await consumeAll(kafka, load.acked);
    const lost = [...load.acked].filter((v) => !seen.has(v));
    const twice = [...seen].filter(([, n]) => n > 1).map(([v]) => v);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    console.log(
      `cluster failover (3 brokers): first acknowledgement ${firstAck! - killedAt} ms after the SIGKILL; promoted ${record!.primary} at epoch ${record!.epoch} by broker ${record!.by}; ${load.acked.size} acknowledged, ${lost.length} lost, ${twice.length} twice, ${load.errors} failed sends retried`,
    );
  });
});
