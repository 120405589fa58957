/**
 * A partition loaded on a shard with a replica (issue 12: consumers never read what can be
 * lost): its end, read from the primary, may hold commits no replica confirmed, so the high
 * watermark must not pass what a replica confirmed until a confirmation sent after the load
 * covers it. Private MariaDB primary + replica (GTID, semi-sync AFTER_SYNC, 300 ms timeout).
 * - Replica's receiver stopped (STOP SLAVE IO_THREAD): acks=1 records into a
 *   min.insync.replicas=1 topic are acknowledged unconfirmed. A restarted broker reports the
 *   high watermark the replica has, a new group reads only the confirmed records, a group
 *   whose committed offset lies among the unconfirmed ones gets nothing and is not reset, and a
 *   second storage reading as a cluster follower sees the same bounds. Receiver started: the
 *   broker's probe confirms the load, every record is read, the waiting group resumes exactly
 *   at its offset.
 * - Healthy replica: a restarted broker serves every record at once.
 * - Two brokers (ZooKeeper): a Fetch to the broker that does not lead the partition (follower
 *   fetching, offsets read from MySQL) reports and serves only confirmed records while the
 *   replica's receiver is stopped, answers empty between that and the end, and all of them
 *   once the replica receives again.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { MysqlPartitionLog } from '../storage/partition-log.js';
import { connect, withDatabase } from '../storage/mysql.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../testing/replicated-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { fetchOnce, RawClient, splitBatches } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { createTopic, kafka as clusterKafka, metadataFrom } from './support/cluster-clients.js';
import { highWatermark } from './support/mysql-failover.js';

let servers: ReplicatedMariadb;
let broker: TestBroker | undefined;
let replicaStopped = false;

beforeAll(async () => {
  servers = await startReplicatedMariadb({ replicas: 1, semiSyncTimeoutMs: 300 });
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  await servers?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kafkaFor(b: TestBroker, id: string): Kafka {
  return new Kafka({ clientId: id, brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

/** The broker restarted on the same servers (a fresh process state: partitions load on first use). */
async function restartBroker(name: string): Promise<TestBroker> {
  await broker?.stop();
  broker = await startTestBroker(name, {}, servers.shardUrl());
  return broker;
}

async function onReplica(sql: string): Promise<void> {
  const c = await connect(withDatabase(servers.servers[1]!.url, ''));
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A group member collecting values (and the offset of each) until stopped. */
async function member(kafka: Kafka, groupId: string, topic: string): Promise<{ consumer: Consumer; seen: Array<[number, string]> }> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const seen: Array<[number, string]> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push([Number(message.offset), message.value!.toString()]) });
  return { consumer, seen };
}

afterEach(async () => {
  if (replicaStopped) await onReplica('START SLAVE IO_THREAD');
  replicaStopped = false;
});

describe('a partition loaded on a shard with a replica', () => {
  it('keeps records no replica confirmed from consumers after a restart, until a replica has them', { timeout: 120_000 }, async () => {
    let b = await restartBroker('load-held');
    let kafka = kafkaFor(b, 'load-held');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'held', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const before = Array.from({ length: 5 }, (_, i) => `before-${i}`);
    const held = Array.from({ length: 10 }, (_, i) => `held-${i}`);
    for (const v of before) await producer.send({ topic: 'held', acks: -1, messages: [{ value: v }] });
    // The replica stops receiving: the next commit waits the semi-sync timeout, then the
    // primary commits alone. acks=1 (and min.insync.replicas=1) acknowledges all the same.
    await onReplica('STOP SLAVE IO_THREAD');
    // A failed check must not leave the replica deaf for the next test.
    replicaStopped = true;
    for (const v of held) await producer.send({ topic: 'held', acks: 1, messages: [{ value: v }] });
    await producer.disconnect();
    expect(await highWatermark(kafka, 'held')).toBe(5);
    // A group whose committed offset is among the unconfirmed records (offset 10 = held-5).
    const setter = kafka.admin();
    await setter.connect();
    await setter.setOffsets({ groupId: 'ahead', topic: 'held', partitions: [{ partition: 0, offset: '10' }] });
    await setter.disconnect();

    b = await restartBroker('load-held-2');
    kafka = kafkaFor(b, 'load-held-2');
    const fresh = await member(kafka, 'fresh', 'held');
    const ahead = await member(kafka, 'ahead', 'held');
    // A second storage reading as a cluster follower would (no leadership, offsets from MySQL).
    const follower: Storage = await openStorage({ metadataUrl: servers.shardUrl(), poolSize: 2, logger: pino({ level: 'silent' }) });
    try {
      // Several probe intervals: no replica receives, nothing may be confirmed.
      await sleep(2000);
      // ListOffsets latest is what the replica applied; the end stays hidden.
      expect(await highWatermark(kafka, 'held')).toBe(5);
      expect(fresh.seen.map(([, v]) => v)).toEqual(before);
      // The group at offset 10 got empty answers (10 is within the log end): not reset.
      expect(ahead.seen).toEqual([]);
      const topicId = follower.catalog.getTopic('held')!.topicId;
      const log = (await follower.logs.getLog(topicId, 0)) as MysqlPartitionLog;
      const read = await log.readAsFollower(0n, 1 << 20, false);
      expect(read.highWatermark).toBe(5n);
      expect(read.lastStableOffset).toBe(5n);
      expect(read.batches.length).toBe(5);
      const between = await log.readAsFollower(12n, 1 << 20, false);
      expect(between.batches).toEqual([]);
      expect(between.highWatermark).toBe(5n);
      await expect(log.readAsFollower(16n, 1 << 20, false)).rejects.toMatchObject({ code: 1 }); // OFFSET_OUT_OF_RANGE

      // The replica receives again: it catches up, semi-sync is ON again, a probe confirms.
      const started = Date.now();
      await onReplica('START SLAVE IO_THREAD');
      replicaStopped = false;
      let hw = 5;
      while (hw < 15 && Date.now() - started < 30_000) {
        await sleep(50);
        hw = await highWatermark(kafka, 'held');
      }
      const confirmedMs = Date.now() - started;
      expect(hw).toBe(15);
      let followerHw = 5n;
      while (followerHw < 15n && Date.now() - started < 30_000) {
        followerHw = (await log.readAsFollower(5n, 1 << 20, false)).highWatermark;
        if (followerHw < 15n) await sleep(50);
      }
      const followerMs = Date.now() - started;
      expect(followerHw).toBe(15n);
      for (let i = 0; i < 100 && (fresh.seen.length < 15 || ahead.seen.length < 5); i++) await sleep(100);
      expect(fresh.seen.map(([, v]) => v)).toEqual([...before, ...held]);
      expect(ahead.seen).toEqual(held.slice(5).map((v, i) => [10 + i, v]));
      console.log(`replica receiving again: high watermark 5 -> 15 after ${confirmedMs} ms at the leader, ${followerMs} ms at the follower`);
    } finally {
      await fresh.consumer.disconnect();
      await ahead.consumer.disconnect();
      await follower.close();
    }
  });

  it('serves every record at once after a restart when the replica is healthy', { timeout: 60_000 }, async () => {
    let b = await restartBroker('load-healthy');
    let kafka = kafkaFor(b, 'load-healthy');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'healthy', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const values = Array.from({ length: 20 }, (_, i) => `v-${i}`);
    for (const v of values) await producer.send({ topic: 'healthy', acks: -1, messages: [{ value: v }] });
    await producer.disconnect();

    b = await restartBroker('load-healthy-2');
    kafka = kafkaFor(b, 'load-healthy-2');
    const started = Date.now();
    // The first ListOffsets loads the partition.
    let hw = await highWatermark(kafka, 'healthy');
    const firstMs = Date.now() - started;
    const first = hw;
    while (hw < 20 && Date.now() - started < 10_000) {
      await sleep(20);
      hw = await highWatermark(kafka, 'healthy');
    }
    const allMs = Date.now() - started;
    expect(hw).toBe(20);
    expect(allMs).toBeLessThan(1500);
    const reader = await member(kafka, 'healthy-reader', 'healthy');
    try {
      for (let i = 0; i < 100 && reader.seen.length < 20; i++) await sleep(50);
      expect(reader.seen.map(([, v]) => v)).toEqual(values);
    } finally {
      await reader.consumer.disconnect();
    }
    console.log(`healthy replica: first ListOffsets after the restart ${first} (${firstMs} ms), all 20 after ${allMs} ms`);
  });
});

/** A consumer's Fetch v12 of partition 0 from `offset` (replica id -1, no wait). */
async function fetchFrom(port: number, topic: string, offset: bigint): Promise<{ error: number; hw: bigint; bases: bigint[] }> {
  const c = await RawClient.connect(port);
  try {
    const p = await fetchOnce(c, topic, 0, offset);
    const bases = splitBatches(p.records as unknown as Buffer | null).map((b) => b.readBigInt64BE(0));
    return { error: p.errorCode, hw: p.highWatermark, bases };
  } finally {
    c.close();
  }
}

describe.skipIf(!zookeeperInstalled())('a broker reading a partition it does not lead, on a shard with a replica', () => {
  let cluster: TestCluster | undefined;

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves only what a replica confirmed, then everything once the replica receives again', { timeout: 120_000 }, async () => {
    await broker?.stop();
    broker = undefined;
    cluster = await startTestCluster('follower-confirm', 2, { 'mysql.url': servers.shardUrl() });
    await createTopic(cluster, 'followed', 1);
    const leader = (await metadataFrom(cluster, 1, 'followed')).leaders.get(0)!.leader;
    const followerPort = cluster.ports.get(leader === 1 ? 2 : 1)!;
    const producer = clusterKafka(cluster, 'followed').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let i = 0; i < 3; i++) await producer.send({ topic: 'followed', acks: -1, messages: [{ partition: 0, value: `c-${i}` }] });
      // The follower serves the confirmed records (its probe confirms what it read).
      let seen = await fetchFrom(followerPort, 'followed', 0n);
      for (let i = 0; i < 50 && seen.hw < 3n; i++) {
        await sleep(50);
        seen = await fetchFrom(followerPort, 'followed', 0n);
      }
      expect(seen).toEqual({ error: 0, hw: 3n, bases: [0n, 1n, 2n] });

      await onReplica('STOP SLAVE IO_THREAD');
      replicaStopped = true;
      for (let i = 0; i < 4; i++) await producer.send({ topic: 'followed', acks: 1, messages: [{ partition: 0, value: `u-${i}` }] });
      // Several probe intervals: nothing may be confirmed.
      await sleep(1500);
      expect(await fetchFrom(followerPort, 'followed', 0n)).toEqual({ error: 0, hw: 3n, bases: [0n, 1n, 2n] });
      // Within the log end: empty, not OFFSET_OUT_OF_RANGE; past it: OFFSET_OUT_OF_RANGE.
      expect(await fetchFrom(followerPort, 'followed', 5n)).toEqual({ error: 0, hw: 3n, bases: [] });
      expect((await fetchFrom(followerPort, 'followed', 8n)).error).toBe(1);

      const started = Date.now();
      await onReplica('START SLAVE IO_THREAD');
      replicaStopped = false;
      do {
        await sleep(50);
        seen = await fetchFrom(followerPort, 'followed', 0n);
      } while (seen.hw < 7n && Date.now() - started < 30_000);
      const ms = Date.now() - started;
      expect(seen).toEqual({ error: 0, hw: 7n, bases: [0n, 1n, 2n, 3n, 4n, 5n, 6n] });
      console.log(`follower broker: high watermark 3 -> 7 ${ms} ms after the replica receives again`);
    } finally {
      await producer.disconnect();
    }
  });
});
