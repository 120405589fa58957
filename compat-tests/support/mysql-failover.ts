/**
 * Shared setup of the MySQL failover tests (issue 12): a private MariaDB primary with replicas
 * (GTID, semi-synchronous; storage/managed-mariadb/replicated.ts) holding the metadata database
 * and the only shard, one broker on it (no ZooKeeper), a kafkajs client that retries through the
 * switch, the numbered acks=-1 load whose acknowledgements are counted, and the check that
 * reads a topic back from the beginning.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { expect } from 'vitest';
import { startReplicatedMariadb, type ReplicatedMariadb, type ReplicatedServer } from '../../testing/replicated-mariadb.js';
import { connect, withDatabase } from '../../storage/mysql.js';
import { startTestBroker, type TestBroker } from './broker.js';

export interface FailoverTopology {
  servers: ReplicatedMariadb;
  broker: TestBroker;
  kafka: Kafka;
  /** Stops the servers first (a broker stopping with a paused server would wait on it), then the broker. */
  stop(): Promise<void>;
}

export async function startFailoverTopology(name: string, overrides: Record<string, string | number | boolean> = {}): Promise<FailoverTopology> {
  const servers = await startReplicatedMariadb({ replicas: 2, semiSyncTimeoutMs: 1000 });
  let broker: TestBroker;
  try {
    broker = await startTestBroker(name, { 'mysql.failover.timeout.ms': 2000, ...overrides }, servers.shardUrl());
  } catch (err) {
    await servers.stop();
    throw err;
  }
  const kafka = failoverKafka(name, broker.bootstrap);
  return {
    servers,
    broker,
    kafka,
    async stop() {
      await servers.stop();
      await broker.stop().catch(() => undefined);
    },
  };
}

/** A kafkajs client whose retries outlast a failover (mysql.failover.timeout.ms plus the promotion). */
export function failoverKafka(clientId: string, bootstrap: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: process.env.FAILOVER_DEBUG ? logLevel.WARN : logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 10_000,
    retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 },
  });
}

export interface Load {
  acked: Set<number>;
  ackTimes: number[];
  /** When each acknowledged send was started (same order as ackTimes). */
  sendTimes: number[];
  stop(): Promise<void>;
  errors: number;
}

/**
 * Sends numbered records (10 per send, round-robin over `partitions`, acks=-1) from `from`
 * until stopped, one send in flight; records every acknowledged number.
 */
export function startLoad(producer: Producer, topic: string, partitions: number, from = 0): Load {
  const load: Load = { acked: new Set(), ackTimes: [], sendTimes: [], errors: 0, stop: async () => undefined };
  let running = true;
  let next = from;
  const loop = (async () => {
    while (running) {
      const values = Array.from({ length: 10 }, () => next++);
      const sentAt = Date.now();
      try {
        await producer.send({ topic, acks: -1, messages: values.map((v) => ({ value: String(v), partition: v % partitions })) });
        for (const v of values) load.acked.add(v);
        load.ackTimes.push(Date.now());
        load.sendTimes.push(sentAt);
      } catch (err) {
        load.errors++;
        if (process.env.FAILOVER_DEBUG) console.log('send failed', Date.now(), (err as Error).message);
      }
    }
  })();
  load.stop = async () => {
    running = false;
    await loop;
  };
  return load;
}

/** When the first send started at or after `t` was acknowledged (undefined: none yet). */
export function firstAckAfter(load: Load, t: number): number | undefined {
  const i = load.sendTimes.findIndex((s) => s >= t);
  return i < 0 ? undefined : load.ackTimes[i];
}

/**
 * Reads `topic` from the beginning in a fresh group until every expected value was seen (or
 * 60 s), then one more second for duplicates; returns how often each value was read.
 */
export async function consumeAll(kafka: Kafka, topic: string, expected: Iterable<number>): Promise<Map<number, number>> {
  const want = [...expected];
  const seen = new Map<number, number>();
  const consumer = kafka.consumer({ groupId: `verify-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = Number(message.value!.toString());
      seen.set(v, (seen.get(v) ?? 0) + 1);
    },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !want.every((v) => seen.has(v))) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  return seen;
}

/** A fault trial's count: acknowledged values never consumed, and values consumed more than once. */
export function lostAndTwice(acked: Iterable<number>, seen: Map<number, number>): { lost: number[]; twice: number[] } {
  return { lost: [...acked].filter((v) => !seen.has(v)), twice: [...seen].filter(([, n]) => n > 1).map(([v]) => v) };
}

/** The high watermark of partition 0 of `topic` (ListOffsets latest, through the admin client). */
export async function highWatermark(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topic);
    return Number(p!.high);
  } finally {
    await admin.disconnect();
  }
}

/** Whether the server is read-only (a fenced old primary). */
export async function readOnly(s: ReplicatedServer): Promise<boolean> {
  const c = await connect(withDatabase(s.url, ''));
  try {
    const [rows] = await c.query('SELECT @@read_only AS ro');
    return Number((rows as Array<{ ro: number }>)[0]!.ro) === 1;
  } finally {
    await c.end();
  }
}

/** Rows in the log tables of the server's database (what any broker wrote to it). */
export async function logRows(s: ReplicatedServer): Promise<number> {
  const c = await connect(s.url);
  try {
    const [tables] = await c.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'log\\_%'");
    let n = 0;
    for (const { t } of tables as Array<{ t: string }>) {
      const [rows] = await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
      n += Number((rows as Array<{ n: number }>)[0]!.n);
    }
    return n;
  } finally {
    await c.end();
  }
}

/**
 * After a paused old primary is resumed: the brokers set it read-only once it answers again,
 * and its log tables do not grow while `more` further records are acknowledged elsewhere.
 */
export async function expectFencedWhileProducing(old: ReplicatedServer, acknowledged: () => number, more = 300): Promise<void> {
  let fenced = false;
  for (let i = 0; i < 100 && !fenced; i++) {
    fenced = await readOnly(old).catch(() => false);
    if (!fenced) await new Promise((r) => setTimeout(r, 100));
  }
  expect(fenced).toBe(true);
  const rowsBefore = await logRows(old);
  const ackedBefore = acknowledged();
  while (acknowledged() < ackedBefore + more) await new Promise((r) => setTimeout(r, 50));
  expect(await logRows(old)).toBe(rowsBefore);
}

/** The Kafka error name of a kafkajs send failure (through its retry wrappers), else its message. */
export function kafkaErrorType(err: unknown): string {
  let e = err as { type?: string; originalError?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.type === 'string' && e.type !== 'UNKNOWN') return e.type;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return String((err as Error).message);
}
