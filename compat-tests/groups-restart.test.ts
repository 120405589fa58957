/**
 * Committed offsets survive a broker restart: the built broker runs in a child process
 * (dist/, `npm run build` first), is stopped with SIGTERM and started again on the same
 * database and port. kafkajs consumers that stay up across the restart rejoin and resume
 * where their commits left them; a kafka-python consumer that committed part of the topic
 * before the restart reads exactly the rest afterwards.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { requirePython, runPython } from './support/clients.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { waitFor as waitUntil } from './support/wait.js';

/** This file's waits include a broker restart: a longer default. */
const waitFor = (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 45_000) => waitUntil(check, what, timeoutMs);

/** kafka-python: reads up to argv[4] records of the group (committing each), prints their values as JSON. */
const KAFKA_PYTHON_READ = String.raw`
import json, sys, time
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata
bootstrap, group, topic, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False,
                  session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_interval_ms=10000)
values = []
deadline = time.time() + 60
while len(values) < limit and time.time() < deadline:
    for tp, records in c.poll(timeout_ms=200, max_records=1).items():
        for r in records:
            c.commit({tp: OffsetAndMetadata(r.offset + 1, None)})
            values.append(r.value.decode())
c.close()
print(json.dumps(values))
`;
import { freePort } from '../storage/managed-mariadb.js';

describe('consumer groups across a broker restart', () => {
  let url: string;
  let port: number;
  let broker: BrokerProcess | null = null;
  const consumers: Consumer[] = [];

  const settings = (): Record<string, string | number> => ({
    'mysql.url': url,
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    'group.initial.rebalance.delay.ms': 0,
  });

  beforeAll(async () => {
    requirePython(['kafka']);
    url = await createTestDatabase('groups restart');
    port = await freePort();
  });
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await broker?.kill();
    if (url) await dropTestDatabase(url);
  });

  it('resumes from committed offsets after SIGTERM and a restart on the same database, skipping nothing', async () => {
    broker = await spawnBroker(settings());
    const bootstrap = broker.bootstrap;
    const kafka = new Kafka({
      clientId: 'groups-restart',
      brokers: [bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'journal', numPartitions: 3 }] });
    let producer = kafka.producer();
    await producer.connect();
    const produce = async (prefix: string, count: number): Promise<string[]> => {
      const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
      await producer.send({ topic: 'journal', acks: -1, messages: values.map((value, i) => ({ value, partition: i % 3 })) });
      return values;
    };
    const committed = async (groupId: string): Promise<string> =>
      (await admin.fetchOffsets({ groupId, topics: ['journal'] }))[0]!.partitions
        .sort((a, b) => a.partition - b.partition)
        .map((p) => p.offset)
        .join();

    const batchA = await produce('a', 30);

    // Two kafkajs members read everything and commit each record.
    const seen = new Map<string, number>();
    for (let member = 0; member < 2; member++) {
      const consumer = kafka.consumer({ groupId: 'journal-readers', sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 250 });
      consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic: 'journal', fromBeginning: true });
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }) => void seen.set(message.value!.toString(), (seen.get(message.value!.toString()) ?? 0) + 1),
      });
    }
    await waitFor(() => batchA.every((v) => seen.has(v)), 'batch a');
    await waitFor(async () => (await committed('journal-readers')) === '10,10,10', 'batch a committed');
    await waitFor(async () => (await admin.describeGroups(['journal-readers'])).groups[0]!.members.length === 2, 'two members');

    // kafka-python reads (and commits) 12 of the 30 records in its own group.
    const firstRun = await runPython(KAFKA_PYTHON_READ, [bootstrap, 'journal-python', 'journal', '12']);
    expect(firstRun.code, firstRun.stderr).toBe(0);
    const pythonBefore = JSON.parse(firstRun.stdout.toString()) as string[];
    expect(pythonBefore).toHaveLength(12);
    const committedBefore = await committed('journal-python');

    await producer.disconnect();
    await admin.disconnect();
    expect(await broker.terminate()).toBe(0);
    broker = await spawnBroker(settings());
    expect(broker.bootstrap).toBe(bootstrap);

    // The group's membership was in memory; its offsets were in MySQL.
    const admin2 = kafka.admin();
    await admin2.connect();
    const fetched = await admin2.fetchOffsets({ groupId: 'journal-python', topics: ['journal'] });
    expect(fetched[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset).join()).toBe(committedBefore);
    expect((await admin2.fetchOffsets({ groupId: 'journal-readers', topics: ['journal'] }))[0]!.partitions.map((p) => p.offset)).toEqual(['10', '10', '10']);
    // The kafkajs members reconnect and rejoin (their old member ids are unknown now).
    await waitFor(async () => {
      const group = (await admin2.describeGroups(['journal-readers'])).groups[0]!;
      return group.state === 'Stable' && group.members.length === 2;
    }, 'both kafkajs members back in the group', 60_000);
    await admin2.disconnect();

    // They read only what came after their commits: batch b, each record once (no
    // rebalance runs while it is read, so at-least-once has no reason to repeat any).
    producer = kafka.producer();
    await producer.connect();
    const batchB = await produce('b', 30);
    await waitFor(() => batchB.every((v) => seen.has(v)), 'batch b after the restart', 60_000);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
    expect(seen.size).toBe(60);

    // kafka-python resumes after its 12: the other 18 of batch a, then batch b.
    const secondRun = await runPython(KAFKA_PYTHON_READ, [bootstrap, 'journal-python', 'journal', '48']);
    expect(secondRun.code, secondRun.stderr).toBe(0);
    const pythonAfter = JSON.parse(secondRun.stdout.toString()) as string[];
    expect(pythonAfter.filter((v) => pythonBefore.includes(v))).toEqual([]);
    expect([...pythonBefore, ...pythonAfter].sort()).toEqual([...batchA, ...batchB].sort());
    await producer.disconnect();
    for (const c of consumers.splice(0)) await c.disconnect();
    expect(await broker.terminate()).toBe(0);
  }, 150_000);
});
