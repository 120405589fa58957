/**
 * MySQL failover seen by more clients (issue 12), on the topology of mysql-failover.test.ts
 * (support/mysql-failover.ts: a MariaDB primary and two semi-synchronous replicas holding the
 * metadata database and the only shard, one broker without ZooKeeper, failover after 2 s).
 * - One SIGKILL of the primary, during which a confluent-kafka-python (librdkafka) idempotent
 *   producer with acks=all writes numbered records and a kafkajs group member consumes them with
 *   auto commits: every acknowledged record is consumed afterwards, none twice; the member goes
 *   on past the switch, and a new member of the group starts at the committed offsets. The
 *   metadata database failed over with the shard (/health's mysqlServers shows them on one
 *   server): CreateTopics, OffsetCommit/OffsetFetch and a group join work afterwards.
 * - Adding a shard (docs/operations.md "Adding a shard"): a broker on one shard with data,
 *   restarted with a second appended to mysql.shards, keeps the existing partitions on shard 0
 *   with their data and places a new topic's partitions over both shards.
 */
import { spawn } from 'node:child_process';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../storage/mysql.js';
import { logTableName } from '../storage/schema.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { PYTHON } from './support/clients.js';
import { consumeAll, lostAndTwice, startFailoverTopology, type FailoverTopology } from './support/mysql-failover.js';
import { CONTROL, PyConsumer } from './support/py-consumers.js';

const TOPIC = 'lib';
const PARTITIONS = 2;
const GROUP = 'failover-group';

/** argv: config JSON, topic, partitions. Produces numbered records until "close"; prints each acknowledgement with when its record was produced. */
const PRODUCER_SCRIPT = CONTROL + String.raw`
from confluent_kafka import Producer
conf = json.loads(sys.argv[1]); topic = sys.argv[2]; parts = int(sys.argv[3])
conf['error_cb'] = lambda err: out({'error': str(err), 'fatal': err.fatal()})
p = Producer(conf)
def report(err, msg, sent):
    if err is None:
        out({'value': msg.value().decode(), 'partition': msg.partition(), 'offset': msg.offset(), 'sent': sent, 'acked': time.time()})
    else:
        out({'error': str(err), 'failed': msg.value().decode(), 'fatal': err.fatal()})
n = 0
while not closing.is_set():
    if len(p) < 20:
        sent = time.time()
        p.produce(topic, str(n).encode(), partition=n % parts, on_delivery=lambda err, msg, sent=sent: report(err, msg, sent))
        n += 1
    p.poll(0.005)
left = p.flush(60)
out({'done': True, 'produced': n, 'unflushed': left})
`;

interface AckLine {
  value?: string;
  partition?: number;
  offset?: number;
  sent?: number;
  acked?: number;
  error?: string;
  failed?: string;
}

let topology: FailoverTopology | undefined;
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await topology?.stop();
  topology = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Processed {
  value: number;
  partition: number;
  offset: number;
}

async function groupMember(kafka: Kafka, out: Processed[]): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 200, sessionTimeout: 30_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 300,
    eachMessage: async ({ partition, message }) => {
      out.push({ value: Number(message.value!.toString()), partition, offset: Number(message.offset) });
    },
  });
  return consumer;
}

async function health(t: FailoverTopology): Promise<Array<{ name: string; shards: number[]; primary: string }>> {
  const res = await fetch(`http://127.0.0.1:${t.broker.broker.metricsPort}/health`);
  const body = (await res.json()) as { mysqlServers?: unknown; details?: { mysqlServers?: unknown } };
  return (body.mysqlServers ?? body.details?.mysqlServers) as Array<{ name: string; shards: number[]; primary: string }>;
}

describe('MySQL failover with librdkafka, a consumer group and the metadata database; adding a shard', () => {
  it('SIGKILL of the primary: librdkafka idempotent acks=all loses nothing, none twice; the group resumes from its commits; metadata requests work', { timeout: 180_000 }, async () => {
    topology = await startFailoverTopology('failover-clients', { 'metrics.listener': '127.0.0.1:0' });
    const { servers, kafka } = topology;
    const killed = servers.servers[0]!;
    // One server group holds the metadata database and shard 0: killing its primary fails both over.
    const before = await health(topology);
    expect(before.map((g) => [g.name, g.shards])).toEqual([['metadata database', [0]]]);
    expect(before[0]!.primary).toContain(`:${killed.port}`);

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });

    const first: Processed[] = [];
    const member1 = await groupMember(kafka, first);
    cleanups.push(() => member1.disconnect());

    const child = spawn(PYTHON, ['-c', PRODUCER_SCRIPT, JSON.stringify({
      'bootstrap.servers': topology.broker.bootstrap, 'client.id': 'failover-librdkafka', 'enable.idempotence': true, acks: 'all',
      'linger.ms': 5, 'message.timeout.ms': 90_000, 'socket.timeout.ms': 10_000, 'retry.backoff.ms': 100,
    }), TOPIC, String(PARTITIONS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const producer = new PyConsumer('librdkafka-producer', child);
    cleanups.push(() => producer.kill());
    const acks = () => producer.lines as AckLine[];
    const acked = () => acks().filter((l) => l.value !== undefined);

    await until('300 acknowledged records and 100 consumed', () => acked().length >= 300 && first.length >= 100);
    const ackedAtKill = acked().length;
    const maxValueAtKill = Math.max(...acked().map((l) => Number(l.value)));
    const killedAt = Date.now();
    await servers.kill(killed);
    // The first acknowledgement of a record produced after the kill.
    await until('an acknowledgement of a record produced after the kill', () => acked().some((l) => l.sent! * 1000 >= killedAt), 90_000);
    const firstAck = Math.min(...acked().filter((l) => l.sent! * 1000 >= killedAt).map((l) => l.acked! * 1000)) - killedAt;
    const ackedAfter = acked().length;
    await until('300 more acknowledgements', () => acked().length >= ackedAfter + 300);
    // The member goes on past the switch: it processes records produced after the kill.
    await until('the group member consuming records produced after the kill', () => first.some((p) => p.value > maxValueAtKill && acked().some((l) => Number(l.value) === p.value && l.sent! * 1000 >= killedAt)));

    // Stop the member while records are still arriving, then read what the group committed.
    await member1.disconnect();
    const committed = new Map((await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
    await until('200 acknowledgements after the member stopped', () => acked().length >= ackedAfter + 500);
    await producer.close();
    const done = acks().find((l) => (l as { done?: boolean }).done) as { produced: number; unflushed: number } | undefined;
    expect(done?.unflushed, `producer: ${producer.stderr}`).toBe(0);
    const ackedValues = acked().map((l) => Number(l.value));
    const failed = acks().filter((l) => l.failed !== undefined).length;

    // Every acknowledged record consumed, none twice (read by a fresh group: a join after the failover).
    const seen = await consumeAll(kafka, TOPIC, ackedValues);
    const { lost, twice } = lostAndTwice(ackedValues, seen);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);

    // A new member of the group starts at each partition's committed offset and reads the rest.
    for (const p of [0, 1]) {
      expect(committed.get(p)!, `partition ${p} committed`).toBeGreaterThan(0);
      // The commit covers only what the member processed (at-least-once: nothing committed unprocessed).
      expect(first.filter((r) => r.partition === p).map((r) => r.offset)).toContain(committed.get(p)! - 1);
    }
    const second: Processed[] = [];
    const member2 = await groupMember(kafka, second);
    cleanups.push(() => member2.disconnect());
    const processed = () => new Set([...first, ...second].map((r) => r.value));
    await until('every acknowledged record processed by the group', () => ackedValues.every((v) => processed().has(v)));
    await member2.disconnect();
    for (const p of [0, 1]) {
      const offsets = second.filter((r) => r.partition === p).map((r) => r.offset);
      expect(Math.min(...offsets), `partition ${p}: the new member's first offset`).toBe(committed.get(p));
    }
    // Beyond at-least-once: nothing the second member read was processed and committed by the first.
    const rereadCommitted = second.filter((r) => r.offset < committed.get(r.partition)!);
    expect(rereadCommitted).toEqual([]);

    // The metadata database's new primary: the broker writes to a replica now, and topics and offsets work.
    const after = await health(topology);
    expect(after[0]!.primary).not.toContain(`:${killed.port}`);
    expect(await admin.createTopics({ topics: [{ topic: 'created-after-failover', numPartitions: 3 }] })).toBe(true);
    expect((await admin.fetchTopicMetadata({ topics: ['created-after-failover'] })).topics[0]!.partitions).toHaveLength(3);
    await admin.setOffsets({ groupId: 'set-after-failover', topic: TOPIC, partitions: [{ partition: 0, offset: '7' }, { partition: 1, offset: '11' }] });
    const fetched = (await admin.fetchOffsets({ groupId: 'set-after-failover', topics: [TOPIC] }))[0]!.partitions.map((p) => [p.partition, p.offset]);
    expect(fetched.sort()).toEqual([[0, '7'], [1, '11']]);

    console.log(
      `librdkafka SIGKILL failover: first acknowledgement of a record produced after the kill ${firstAck} ms after it; ` +
        `${ackedValues.length} acknowledged (${ackedAtKill} before the kill), ${lost.length} lost, ${twice.length} twice, ${failed} delivery failures; ` +
        `group: ${first.length} processed by the first member, ${second.length} by the second, committed ${JSON.stringify([...committed])}`,
    );
  });

  it('adding a shard: existing partitions keep their data and shard, a new topic is placed over both', { timeout: 120_000 }, async () => {
    const db0 = await createTestDatabase('shard-add-0');
    const db1 = await createTestDatabase('shard-add-1');
    cleanups.push(() => dropTestDatabase(db0), () => dropTestDatabase(db1));
    let broker: TestBroker = await startTestBroker('shard-add', {}, db0);
    cleanups.push(() => broker.stop());
    const kafkaFor = (b: TestBroker) => new Kafka({ clientId: 'shard-add', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    let kafka = kafkaFor(broker);
    let admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'old', numPartitions: 4 }] });
    await admin.disconnect();
    let producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'old', acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ value: String(i), partition: i % 4 })) });
    await producer.disconnect();
    await broker.stop();

    broker = await startTestBroker('shard-add', { 'mysql.shards': `${db0},${db1}` }, db0);
    kafka = kafkaFor(broker);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'new', numPartitions: 4 }] });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    for (const topic of ['old', 'new']) await producer.send({ topic, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ value: String(100 + i), partition: i % 4 })) });
    await producer.disconnect();

    // Placement as recorded in the metadata database, and where the log tables are.
    const meta = await connect(db0);
    const shard1 = await connect(db1);
    try {
      const [rows] = await meta.query('SELECT t.name, t.topic_id, p.partition_id, p.shard FROM partitions p JOIN topics t USING (topic_id) WHERE t.name IN (?, ?) ORDER BY t.name, p.partition_id', ['old', 'new']);
      const placement = rows as Array<{ name: string; topic_id: string; partition_id: number; shard: number }>;
      const shardsOf = (name: string) => placement.filter((r) => r.name === name).map((r) => r.shard);
      expect(shardsOf('old')).toEqual([0, 0, 0, 0]);
      expect(new Set(shardsOf('new'))).toEqual(new Set([0, 1]));
      const rowsIn = async (c: typeof meta, name: string): Promise<Array<{ partition_id: number; n: number }> | null> => {
        const id = placement.find((r) => r.name === name)!.topic_id;
        const [t] = await c.query('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [logTableName(id)]);
        if (Number((t as Array<{ n: number }>)[0]!.n) === 0) return null;
        const [r] = await c.query(`SELECT partition_id, COUNT(*) AS n FROM \`${logTableName(id)}\` GROUP BY partition_id ORDER BY partition_id`);
        return (r as Array<{ partition_id: number; n: number }>).map((x) => ({ partition_id: Number(x.partition_id), n: Number(x.n) }));
      };
      // 'old': every partition's batches on shard 0 only.
      expect((await rowsIn(meta, 'old'))!.map((r) => r.partition_id)).toEqual([0, 1, 2, 3]);
      expect((await rowsIn(shard1, 'old')) ?? []).toEqual([]);
      // 'new': each partition's batches on the shard its placement names.
      const newOn = (s: number) => placement.filter((r) => r.name === 'new' && r.shard === s).map((r) => r.partition_id);
      expect((await rowsIn(meta, 'new'))!.map((r) => r.partition_id)).toEqual(newOn(0));
      expect((await rowsIn(shard1, 'new'))!.map((r) => r.partition_id)).toEqual(newOn(1));
    } finally {
      await meta.end();
      await shard1.end();
    }

    // Both topics read back in full: the old records and the new ones.
    const expectedOld = [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => 100 + i)];
    const old = await consumeAll(kafka, 'old', expectedOld);
    expect([...old.keys()].sort((a, b) => a - b)).toEqual(expectedOld);
    expect([...old.values()].every((n) => n === 1)).toBe(true);
    const expectedNew = Array.from({ length: 40 }, (_, i) => 100 + i);
    const fresh = await consumeAll(kafka, 'new', expectedNew);
    expect([...fresh.keys()].sort((a, b) => a - b)).toEqual(expectedNew);
    expect([...fresh.values()].every((n) => n === 1)).toBe(true);
  });
});
