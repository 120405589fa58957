/**
 * A shard with a replica (issue 12): a private MariaDB primary and replica with GTID
 * semi-synchronous replication (testing/replicated-mariadb.ts), a broker whose mysql.url names
 * both, kafkajs producers with acks=-1.
 * - Start-up: a replica that would never acknowledge (rpl_semi_sync_slave_enabled=OFF) stops
 *   the start with a message naming the setting.
 * - Replica SIGKILLed: acks=-1 into a min.insync.replicas=2 topic gets NOT_ENOUGH_REPLICAS
 *   (or _AFTER_APPEND for the commit that hit the semi-sync timeout) within the request
 *   timeout, and nothing is acknowledged; a min.insync.replicas=1 topic keeps producing.
 *   Replica restarted: the min.insync.replicas=2 topic is acknowledged again.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../storage/index.js';
import { connect, withDatabase } from '../storage/mysql.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../testing/replicated-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

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

/** The Kafka error name of a kafkajs send failure (through its retry wrappers). */
function errorType(err: unknown): string {
  let e = err as { type?: string; originalError?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.type === 'string' && e.type !== 'UNKNOWN') return e.type;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return String((err as Error).message);
}

async function sendOne(producer: Producer, topic: string, value: string): Promise<{ ok: boolean; error?: string; ms: number }> {
  const t = Date.now();
  try {
    await producer.send({ topic, acks: -1, timeout: REQUEST_TIMEOUT_MS, messages: [{ value }] });
    return { ok: true, ms: Date.now() - t };
  } catch (err) {
    return { ok: false, error: errorType(err), ms: Date.now() - t };
  }
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

  it('answers NOT_ENOUGH_REPLICAS with the replica down at min.insync.replicas=2, keeps producing at 1', { timeout: 120_000 }, async () => {
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

      await servers.restart(servers.servers[1]!);
      let back = false;
      for (let i = 0; i < 60 && !back; i++) {
        back = (await sendOne(producer, 'isr2', `after-${i}`)).ok;
        if (!back) await new Promise((r) => setTimeout(r, 250));
      }
      expect(back).toBe(true);
    } finally {
      await producer.disconnect();
    }
  });
});
