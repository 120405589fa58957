/**
 * A shard with a replica (issue 12): a private MariaDB primary and replica with GTID
 * semi-synchronous replication (testing/replicated-mariadb.ts), a broker whose mysql.url names
 * both, kafkajs producers with acks=-1.
 * - Start-up: a replica that would never acknowledge (rpl_semi_sync_slave_enabled=OFF) stops
 *   the start with a message naming the setting.
 * - Replica SIGKILLed: acks=-1 into a min.insync.replicas=2 topic gets NOT_ENOUGH_REPLICAS
 *   (or _AFTER_APPEND for the commit that hit the semi-sync timeout) within the request
 *   timeout, and nothing is acknowledged; a min.insync.replicas=1 topic keeps producing.
 *   Consumers see none of what was committed while no replica confirmed (high watermarks and
 *   a consumer group). Replica restarted: the min.insync.replicas=2 topic is acknowledged
 *   again and the held records become visible.
 * - Primary SIGKILLed with failover off: Fetch is served from the replica (kcat reads every
 *   record), produce gets a retriable error.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../storage/index.js';
import { connect, withDatabase } from '../storage/mysql.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../testing/replicated-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcatConsume } from './support/clients.js';
import { highWatermark, kafkaErrorType } from './support/mysql-failover.js';

const REQUEST_TIMEOUT_MS = 5000;
let servers: ReplicatedMariadb;
let broker: TestBroker | undefined;

beforeAll(async () => {
  servers = await startReplicatedMariadb({ replicas: 1, semiSyncTimeoutMs: 1000 });
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  await servers?.stop();
});

async function sendOne(producer: Producer, topic: string, value: string): Promise<{ ok: boolean; error?: string; ms: number }> {
  const t = Date.now();
  try {
    await producer.send({ topic, acks: -1, timeout: REQUEST_TIMEOUT_MS, messages: [{ value }] });
    return { ok: true, ms: Date.now() - t };
  } catch (err) {
    return { ok: false, error: kafkaErrorType(err), ms: Date.now() - t };
  }
}

/** Every value a new consumer group reads from the beginning of `topic` within `ms`. */
async function consumeFor(kafka: Kafka, topic: string, ms: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `read-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('shard with a semi-synchronous replica', () => {
  it('refuses to start when a replica would never acknowledge', { timeout: 60_000 }, async () => {
    const replica = servers.servers[1]!;
    const c = await connect(withDatabase(replica.url, ''));
    try {
      await c.query('SET GLOBAL rpl_semi_sync_slave_enabled = OFF');
      const opened = openStorage({ metadataUrl: servers.shardUrl(), poolSize: 2, logger: pino({ level: 'silent' }) });
      await expect(opened).rejects.toThrow(/metadata database replica 127\.0\.0\.1:\d+: rpl_semi_sync_slave_enabled is OFF, needs ON/);
    } finally {
      await c.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
      // The IO thread registers as a semi-sync client when it connects.
      await c.query('STOP SLAVE IO_THREAD');
      await c.query('START SLAVE IO_THREAD');
      await c.end();
    }
  });

  it('answers NOT_ENOUGH_REPLICAS with the replica down at min.insync.replicas=2, keeps producing at 1 without showing it to consumers', { timeout: 120_000 }, async () => {
    broker = await startTestBroker('replicated', {}, servers.shardUrl());
    const kafka = new Kafka({ clientId: 'replicated', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, requestTimeout: REQUEST_TIMEOUT_MS + 2000 });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'isr2', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
        { topic: 'isr1', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Healthy: both acknowledged (the replica confirms).
      expect(await sendOne(producer, 'isr2', 'before')).toMatchObject({ ok: true });
      expect(await sendOne(producer, 'isr1', 'before')).toMatchObject({ ok: true });

      await servers.kill(servers.servers[1]!);
      const during: Array<{ ok: boolean; error?: string; ms: number }> = [];
      for (let i = 0; i < 5; i++) during.push(await sendOne(producer, 'isr2', `during-${i}`));
      // Nothing acknowledged; each answered within the request timeout with a replica error.
      for (const r of during) {
        expect(r.ok).toBe(false);
        expect(['NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND']).toContain(r.error);
        expect(r.ms).toBeLessThan(REQUEST_TIMEOUT_MS);
      }
      // Once the shard is known to be without a replica, refused before anything is written.
      expect(during.at(-1)!.error).toBe('NOT_ENOUGH_REPLICAS');
      // min.insync.replicas=1: acks=-1 goes on with the primary alone.
      for (let i = 0; i < 3; i++) expect(await sendOne(producer, 'isr1', `during-${i}`)).toMatchObject({ ok: true });
      // ...but no consumer sees what no replica confirmed (a failover now would lose it): the
      // high watermarks stay at the one record each topic had before; isr2's first refused
      // append (AFTER_APPEND) is in the primary's log and not visible either.
      expect(await highWatermark(kafka, 'isr1')).toBe(1);
      expect(await highWatermark(kafka, 'isr2')).toBe(1);
      expect(await consumeFor(kafka, 'isr1', 2000)).toEqual(['before']);

      await servers.restart(servers.servers[1]!);
      let back = false;
      for (let i = 0; i < 60 && !back; i++) {
        back = (await sendOne(producer, 'isr2', `after-${i}`)).ok;
        if (!back) await new Promise((r) => setTimeout(r, 250));
      }
      expect(back).toBe(true);
      // The replica caught up and confirms: the held records become visible.
      for (let i = 0; i < 100 && (await highWatermark(kafka, 'isr1')) < 4; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await consumeFor(kafka, 'isr1', 2000)).toEqual(['before', 'during-0', 'during-1', 'during-2']);
    } finally {
      await producer.disconnect();
    }
  });

  // Last: kills the primary for good.
  it('serves Fetch from the replica while the primary is dead, and produce gets a retriable error', { timeout: 120_000 }, async () => {
    await broker?.stop();
    // No failover (the shard stays without a writable primary); no tail cache, so every
    // Fetch reads MySQL.
    broker = await startTestBroker('replica-reads', { 'mysql.failover.timeout.ms': 0, 'log.tail.cache.bytes': 0 }, servers.shardUrl());
    const kafka = new Kafka({ clientId: 'replica-reads', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, requestTimeout: REQUEST_TIMEOUT_MS + 2000 });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'reads', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
    await producer.connect();
    const values = Array.from({ length: 20 }, (_, i) => `r-${i}`);
    for (const v of values) expect(await sendOne(producer, 'reads', v)).toMatchObject({ ok: true });
    // Read once through the primary (the partition is loaded), and let the replica apply all.
    expect((await kcatConsume(broker.bootstrap, 'reads', 0)).map((r) => r.value!.toString())).toEqual(values);
    const p = await connect(withDatabase(servers.servers[0]!.url, ''));
    const [[{ pos }]] = (await p.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
    await p.end();
    const r = await connect(withDatabase(servers.servers[1]!.url, ''));
    const [[{ w }]] = (await r.query('SELECT MASTER_GTID_WAIT(?, 30) AS w', [pos])) as unknown as [[{ w: number }]];
    await r.end();
    expect(Number(w)).toBe(0);

    await servers.kill(servers.servers[0]!);
    // Every record is still served (kcat: Metadata, ListOffsets and Fetch only).
    expect((await kcatConsume(broker.bootstrap, 'reads', 0)).map((rec) => rec.value!.toString())).toEqual(values);
    // Produce is refused with a retriable error, within the request timeout.
    const refused = await sendOne(producer, 'reads', 'no-primary');
    expect(refused.ok).toBe(false);
    expect(['KAFKA_STORAGE_ERROR', 'REQUEST_TIMED_OUT', 'NOT_LEADER_OR_FOLLOWER']).toContain(refused.error);
    await producer.disconnect();
  });
});
