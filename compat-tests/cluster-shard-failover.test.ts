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
 * - every acknowledged number is consumed afterwards, none twice;
 * - every broker's /metrics shows shard epoch 1 and one primary switch, the promoting broker one
 *   failover;
 * - a broker restarted with its original configuration (mysql.url naming the dead primary)
 *   starts on the primary published in ZooKeeper (the configured one fenced), leads a partition
 *   of a new topic, and what is produced through it is consumed.
 * The primary and the controller SIGKILLed together: the next controller promotes, once, and
 * the load (one partition per send there: see startLoad) loses nothing and doubles nothing.
 * The same with the primary SIGSTOPped instead: after SIGCONT it is read-only and no broker
 * writes to it again (its log tables do not grow while 300 more numbers are acknowledged).
 * Prints the time from the kill or stop to the first acknowledgement of a send started after it.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { SHARDS_PATH, parseShardRecord, recordName, type ShardRecord } from '../server/cluster/shard-failover.js';
import { ZkSession } from '../server/cluster/zk.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../testing/replicated-mariadb.js';
import { connect } from '../storage/mysql.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { expectFencedWhileProducing } from './support/mysql-failover.js';

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

/**
 * Numbered records, 9 per send over the three partitions, one send in flight. `onePartitionPerSend`:
 * the same numbers, but each send carries one partition's three (number % 3 = partition), in turn.
 * That is for a partition leader killed under load: kafkajs 2.2.4's send (producer/sendMessages.js)
 * records completion per broker, not per partition, so when a partition's leadership moves
 * between two attempts of one multi-partition send, its records are either never sent again (the
 * new leader had already answered for its own partitions: send() resolves, nothing written) or
 * sent again under the next sequence numbers after an attempt already wrote them (a second copy
 * no broker can recognize). Both were seen here before this option (issue 12).
 */
function startLoad(producer: Producer, onePartitionPerSend = false): Load {
  const load: Load = { acked: new Set(), ackTimes: [], sendTimes: [], errors: 0, stop: async () => undefined };
  let running = true;
  let next = 0;
  const loop = (async () => {
    while (running) {
      const values = Array.from({ length: 9 }, () => next++);
      const sentAt = Date.now();
      try {
        const messages = values.map((v) => ({ value: String(v), partition: v % PARTITIONS }));
        if (!onePartitionPerSend) await producer.send({ topic: TOPIC, acks: -1, messages });
        else for (let p = 0; p < PARTITIONS; p++) await producer.send({ topic: TOPIC, acks: -1, messages: messages.filter((m) => m.partition === p) });
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

/** Where each number was read: `partition:offset` per delivery (tells a second copy in the log from one offset read twice). */
const readAt = new Map<number, string[]>();

async function consumeAll(kafka: Kafka, expected: Set<number>): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  readAt.clear();
  const consumer = kafka.consumer({ groupId: `verify-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const v = Number(message.value!.toString());
      readAt.set(v, [...(readAt.get(v) ?? []), `${partition}:${message.offset}`]);
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

async function setup(): Promise<{ kafka: Kafka; producer: Producer }> {
  servers = await startReplicatedMariadb({ replicas: 2, semiSyncTimeoutMs: 1000 });
  cluster = await startTestCluster('shardfo', 3, {
    'mysql.url': servers.shardUrl(),
    'mysql.failover.timeout.ms': 2000,
    'mysql.failover.quorum': 2,
    'metrics.listener': '127.0.0.1:0',
  });
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
  // Every broker leads a partition: every broker writes to the shard when it fails.
  expect(leaders.size).toBe(3);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return { kafka, producer };
}

/** The shard's ZooKeeper record, and the number of claims / publishes / switches in the brokers' logs. */
async function promotions(dead?: number): Promise<{ record: ShardRecord | null; claims: number; published: number; switched: string[][] }> {
  const zk = await ZkSession.connect(cluster!.zk.connect, 4000, 4000);
  let record: ShardRecord | null = null;
  try {
    const got = await zk.getData(`${SHARDS_PATH}/${recordName('metadata database')}`);
    record = got && parseShardRecord(got.data);
  } finally {
    zk.close();
  }
  const logs = [...cluster!.brokers.entries()].filter(([id]) => id !== dead).map(([, b]) => b.output());
  return {
    record,
    claims: logs.map((l) => count(l, 'shard failover: promotion claimed')).reduce((a, b) => a + b),
    published: logs.map((l) => count(l, 'shard failover: promotion published in ZooKeeper')).reduce((a, b) => a + b),
    // Per live broker that did not publish: its switch log lines.
    switched: logs.filter((l) => count(l, 'shard failover: promotion published in ZooKeeper') === 0).map((l) => l.split('\n').filter((x) => x.includes('"msg":"shard primary switched'))),
  };
}

/** One promotion to a replica, published by one broker and followed once by every other live broker (`dead`: a killed broker, left out). */
async function expectOnePromotion(dead?: number): Promise<ShardRecord> {
  const p = await promotions(dead);
  const replicas = servers!.servers.slice(1).map((s) => `127.0.0.1:${s.port}`);
  expect(p.record?.state).toBe('promoted');
  expect(p.record?.epoch).toBe(1);
  expect(replicas).toContain(p.record?.primary);
  expect(p.claims).toBe(1);
  expect(p.published).toBe(1);
  expect(p.switched.length).toBe(dead === undefined ? 2 : 1);
  for (const lines of p.switched) {
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(`"primary":"${p.record!.primary}"`);
  }
  return p.record!;
}

/**
 * Diagnosis of numbers read twice or never: where each copy was read (a missing one: where it
 * would be, partition n % 3 near offset n / 3), and the log rows (producer id, epoch, sequence)
 * around them on every live server, and the brokers' failover log lines.
 */
async function describeDuplicates(twice: number[]): Promise<void> {
  console.log('numbers and where they were read:', JSON.stringify(twice.map((v) => [v, readAt.get(v) ?? []])));
  const offsets = twice.flatMap((v) => (readAt.get(v) ?? [`${v % PARTITIONS}:${Math.floor(v / PARTITIONS)}`]).map((x) => x.split(':').map(Number) as [number, number]));
  const parts = [...new Set(offsets.map(([p]) => p))];
  const lo = Math.min(...offsets.map(([, o]) => o)) - 12;
  const hi = Math.max(...offsets.map(([, o]) => o)) + 12;
  for (const s of servers!.servers) {
    const c = await connect(s.url).catch(() => undefined);
    if (!c) continue;
    try {
      const [tables] = await c.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'log\\_%'");
      for (const { t } of tables as Array<{ t: string }>) {
        const [rows] = await c.query(
          `SELECT partition_id, base_offset, last_offset, producer_id, producer_epoch, base_sequence FROM \`${t}\` WHERE partition_id IN (?) AND last_offset >= ? AND base_offset <= ? ORDER BY partition_id, base_offset`,
          [parts, lo, hi],
        );
        console.log(`server ${s.port} ${t}:`, JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      }
    } finally {
      await c.end();
    }
  }
  for (const [id, b] of cluster!.brokers) {
    const lines = b.output().split('\n').filter((l) => /shard|failover|promot|primary|reload|NOT_ENOUGH|leader|partition log loaded|storage|ambiguous/i.test(l));
    console.log(`broker ${id} log (${lines.length} lines):\n` + lines.slice(-60).join('\n'));
  }
}

/** One value of broker `id`'s /metrics (`name{labels}` as rendered). */
async function metric(id: number, line: string): Promise<number> {
  const port = /"metricsPort":(\d+)/.exec(cluster!.brokers.get(id)!.output())![1];
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.slice(line.length + 1));
}

/**
 * Broker `id` SIGKILLed and started again with the settings it had (mysql.url naming the
 * configured, now dead, primary): it must start on the published primary, and a partition of a
 * new topic it leads takes produce (acks=-1, min.insync.replicas=2) and serves it back.
 */
async function restartWithOriginalConfiguration(id: number, record: ShardRecord): Promise<void> {
  await cluster!.brokers.get(id)!.kill();
  const restarted = await cluster!.start(id);
  expect(restarted.output()).toContain('mysql.url / mysql.shards are stale');
  const port = /"metricsPort":(\d+)/.exec(restarted.output())![1];
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { mysqlServers: Array<{ primary: string; epoch: number; fenced: string[] }> };
  expect(health.mysqlServers[0]).toMatchObject({ primary: record.primary, epoch: 1, fenced: [`127.0.0.1:${servers!.servers[0]!.port}`] });
  // It started on the new primary: no switch of its own.
  expect(await metric(id, 'kafka_mysql_mysql_shard_epoch{group="metadata database"}')).toBe(1);
  expect(await metric(id, 'kafka_mysql_mysql_primary_switches_total{group="metadata database"}')).toBe(0);
  const kafka = new Kafka({ clientId: 'restarted', brokers: [restarted.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'after-restart';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
  const leaders = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => p.leader);
  await admin.disconnect();
  expect(leaders).toContain(id);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const values = Array.from({ length: 30 }, (_, i) => i);
  await producer.send({ topic, acks: -1, messages: values.map((v) => ({ value: String(v), partition: v % PARTITIONS })) });
  await producer.disconnect();
  const seen: number[] = [];
  const consumer = kafka.consumer({ groupId: 'after-restart', maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(Number(message.value!.toString())) });
  const deadline = Date.now() + 30_000;
  while (seen.length < values.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  expect(seen.sort((a, b) => a - b)).toEqual(values);
}

async function waitAcks(load: Load, since: number): Promise<number> {
  while (firstAckAfter(load, since) === undefined && Date.now() - since < 60_000) await new Promise((r) => setTimeout(r, 50));
  const firstAck = firstAckAfter(load, since);
  expect(firstAck, 'a produce acknowledged after the failover').toBeDefined();
  return firstAck! - since;
}

async function expectAllOnce(kafka: Kafka, load: Load): Promise<void> {
  const seen = await consumeAll(kafka, load.acked);
  const missing = [...load.acked].filter((v) => !seen.has(v));
  if (missing.length > 0) await describeDuplicates(missing);
  expect(missing).toEqual([]);
  const twice = [...seen].filter(([, n]) => n > 1).map(([v]) => v);
  if (twice.length > 0) await describeDuplicates(twice);
  expect(twice).toEqual([]);
}

describe('MySQL failover in a cluster (ZooKeeper)', () => {
  it('SIGKILL of the primary under acks=-1 load: one promotion, every broker follows, nothing lost or doubled', { timeout: 180_000 }, async () => {
    const { kafka, producer } = await setup();
    const load = startLoad(producer);
    while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));
    const killedAt = Date.now();
    await servers!.kill(servers!.servers[0]!);
    const ms = await waitAcks(load, killedAt);
    const ackedBefore = load.acked.size;
    while (load.acked.size < ackedBefore + 300) await new Promise((r) => setTimeout(r, 50));
    await load.stop();
    await producer.disconnect();
    const record = await expectOnePromotion();
    await expectAllOnce(kafka, load);
    for (const id of [1, 2, 3]) {
      expect(await metric(id, 'kafka_mysql_mysql_shard_epoch{group="metadata database"}')).toBe(1);
      expect(await metric(id, 'kafka_mysql_mysql_primary_switches_total{group="metadata database"}')).toBe(1);
      expect(await metric(id, 'kafka_mysql_mysql_failovers_total')).toBe(id === record.by ? 1 : 0);
    }
    await restartWithOriginalConfiguration([1, 2, 3].find((id) => id !== record.by)!, record);
    console.log(
      `cluster failover (3 brokers, SIGKILL): first acknowledgement ${ms} ms after the kill; promoted ${record.primary} at epoch ${record.epoch} by broker ${record.by}; ${load.acked.size} acknowledged, 0 lost, 0 twice, ${load.errors} failed sends retried`,
    );
  });

  it('SIGSTOP of the primary: one promotion; after SIGCONT it is read-only and no broker writes to it', { timeout: 180_000 }, async () => {
    const { kafka, producer } = await setup();
    const load = startLoad(producer);
    while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));
    const old = servers!.servers[0]!;
    const stoppedAt = Date.now();
    servers!.pause(old);
    const ms = await waitAcks(load, stoppedAt);
    servers!.resume(old);
    // Producing goes on through all three brokers; the old primary is read-only and its log does not grow.
    await expectFencedWhileProducing(old, () => load.acked.size);
    await load.stop();
    await producer.disconnect();
    const record = await expectOnePromotion();
    await expectAllOnce(kafka, load);
    console.log(`cluster failover (3 brokers, SIGSTOP): first acknowledgement ${ms} ms after the stop; promoted ${record.primary}; ${load.acked.size} acknowledged, 0 lost, 0 twice`);
  });

  // The killed controller also leads a partition: its leadership moves under load, which is why
  // the load sends one partition per request here (kafkajs' per-broker retry, see startLoad).
  it('the controller SIGKILLed with the primary: the next controller promotes, once', { timeout: 180_000 }, async () => {
    const { kafka, producer } = await setup();
    const admin = kafka.admin();
    await admin.connect();
    const controller = (await admin.describeCluster()).controller!;
    await admin.disconnect();
    const load = startLoad(producer, true);
    while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));
    const killedAt = Date.now();
    await Promise.all([servers!.kill(servers!.servers[0]!), cluster!.brokers.get(controller)!.kill()]);
    const ms = await waitAcks(load, killedAt);
    const ackedBefore = load.acked.size;
    while (load.acked.size < ackedBefore + 300) await new Promise((r) => setTimeout(r, 50));
    await load.stop();
    await producer.disconnect();
    const record = await expectOnePromotion(controller);
    expect(record.by).not.toBe(controller);
    await expectAllOnce(kafka, load);
    console.log(`cluster failover (3 brokers, primary and controller ${controller} SIGKILLed): first acknowledgement ${ms} ms after the kill; promoted by broker ${record.by}; ${load.acked.size} acknowledged, 0 lost, 0 twice`);
  });
});
