/**
 * Consumer groups with kafkajs against the real broker on the test MariaDB: rebalances as
 * members join, a member killed without leaving (a child process, SIGKILL) loses its
 * partitions after the session timeout, restarts from committed offsets; the admin API's
 * group calls; offsets of deleted topics and offsets.retention.minutes expiry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOffsetFetchRequest } from '../codec/generated/offset-fetch.js';
import type { GroupCoordinator } from '../server/groups/coordinator.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient } from './support/clients.js';
import { waitFor } from './support/wait.js';

const KAFKAJS = createRequire(import.meta.url).resolve('kafkajs');

/** Session timeouts short enough for a test; kafkajs heartbeats and polls often enough for them. */
const CONSUMER = { sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 250 } as const;


/** What each consumer saw: value -> names of the consumers that processed it. */
class Seen {
  readonly by = new Map<string, string[]>();
  record(consumer: string, value: string): void {
    const list = this.by.get(value) ?? [];
    list.push(consumer);
    this.by.set(value, list);
  }
  has(values: string[]): boolean {
    return values.every((v) => this.by.has(v));
  }
  duplicates(): string[] {
    return [...this.by].filter(([, who]) => who.length > 1).map(([v]) => v);
  }
}

/**
 * A kafkajs consumer in a child node process (so SIGKILL kills it without a LeaveGroup). It
 * prints JSON lines: {assigned: [partitions]} on every group join, {value, partition} per
 * record, after which (autoCommitThreshold 1) the offset is committed before the next one.
 */
interface ChildConsumer {
  child: ChildProcess;
  assigned: number[] | null;
  exited: Promise<void>;
  kill(): Promise<void>;
}

const CHILD_SCRIPT = `
const { Kafka, logLevel } = require(process.env.KAFKAJS_PATH);
const kafka = new Kafka({ clientId: process.env.NAME, brokers: [process.env.BOOTSTRAP], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: process.env.GROUP, ...JSON.parse(process.env.CONSUMER) });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
consumer.on(consumer.events.GROUP_JOIN, (e) => out({ assigned: e.payload.memberAssignment[process.env.TOPIC] || [] }));
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic: process.env.TOPIC, fromBeginning: true });
  await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ partition, message }) => out({ value: message.value.toString(), partition }) });
})().catch((err) => { console.error(err); process.exit(1); });
`;

function startChildConsumer(name: string, bootstrap: string, group: string, topic: string, seen: Seen): ChildConsumer {
  const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKAJS_PATH: KAFKAJS, NAME: name, BOOTSTRAP: bootstrap, GROUP: group, TOPIC: topic, CONSUMER: JSON.stringify(CONSUMER) },
  });
  const handle: ChildConsumer = {
    child,
    assigned: null,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await handle.exited;
    },
  };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as { assigned?: number[]; value?: string };
      buffered = buffered.slice(nl + 1);
      if (line.assigned) handle.assigned = line.assigned;
      if (line.value !== undefined) seen.record(name, line.value);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`));
  return handle;
}

function decodeAssignment(buffer: Buffer, topic: string): number[] {
  const decoded = AssignerProtocol.MemberAssignment.decode(buffer);
  return [...(decoded?.assignment[topic] ?? [])].sort();
}

async function memberAssignments(admin: Admin, groupId: string, topic: string): Promise<{ state: string; byClient: Map<string, number[]> }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0]!;
  const byClient = new Map<string, number[]>();
  for (const m of group.members) byClient.set(m.clientId, decodeAssignment(m.memberAssignment, topic));
  return { state: group.state, byClient };
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<string[]> {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

describe('kafkajs consumer groups on the broker', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];
  const children: ChildConsumer[] = [];

  beforeAll(async () => {
    broker = await startTestBroker('groups kafkajs');
    kafka = new Kafka({ clientId: 'groups-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const c of consumers.splice(0)) await c.disconnect().catch(() => undefined);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
  });

  async function produce(topic: string, prefix: string, count: number): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % 3 })) });
    return values;
  }

  /** An in-process kafkajs member that commits each record before processing the next. */
  async function startConsumer(name: string, groupId: string, topic: string, seen: Seen, assigned: Map<string, number[]>, fromBeginning = true): Promise<Consumer> {
    const consumer = new Kafka({ clientId: name, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId, ...CONSUMER });
    consumer.on(consumer.events.GROUP_JOIN, (e) => assigned.set(name, [...(e.payload.memberAssignment[topic] ?? [])].sort()));
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => seen.record(name, message.value!.toString()) });
    return consumer;
  }

  it('spreads partitions over joining members, processes each record once, moves a killed member\'s partitions, restarts from committed offsets', async () => {
    const topic = 'orders';
    const groupId = 'order-workers';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const seen = new Seen();
    const assigned = new Map<string, number[]>();
    const expected: string[] = [];

    // One member reads everything from the beginning and commits it.
    expected.push(...(await produce(topic, 'a', 30)));
    const c1 = await startConsumer('c1', groupId, topic, seen, assigned);
    await waitFor(() => seen.has(expected), 'c1 to read batch a');
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '10,10,10', 'batch a committed');
    expect([...new Set(seen.by.values())].flat().every((who) => who === 'c1')).toBe(true);

    // A second member (a child process) joins: the partitions are split between the two.
    const c2 = startChildConsumer('c2', broker.bootstrap, groupId, topic, seen);
    children.push(c2);
    await waitFor(async () => {
      const { state, byClient } = await memberAssignments(admin, groupId, topic);
      return state === 'Stable' && byClient.size === 2 && [...byClient.values()].every((p) => p.length > 0);
    }, 'two members with partitions');
    await waitFor(() => c2.assigned !== null && (assigned.get('c1') ?? []).length + c2.assigned.length === 3, 'both members to see their assignment');
    expect([...assigned.get('c1')!, ...c2.assigned!].sort()).toEqual([0, 1, 2]);

    expected.push(...(await produce(topic, 'b', 30)));
    await waitFor(() => seen.has(expected), 'batch b');
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '20,20,20', 'batch b committed');

    // A third member joins: one partition each.
    await startConsumer('c3', groupId, topic, seen, assigned);
    let third = new Map<string, number[]>();
    await waitFor(async () => {
      const { state, byClient } = await memberAssignments(admin, groupId, topic);
      third = byClient;
      return state === 'Stable' && byClient.size === 3 && [...byClient.values()].every((p) => p.length === 1);
    }, 'three members with one partition each');
    expect([...third.values()].flat().sort()).toEqual([0, 1, 2]);
    expect([...third.keys()].sort()).toEqual(['c1', 'c2', 'c3']);
    await waitFor(
      () => c2.assigned?.length === 1 && assigned.get('c1')?.length === 1 && assigned.get('c3')?.length === 1,
      'every member to see its single partition',
    );
    expect([...assigned.get('c1')!, ...c2.assigned!, ...assigned.get('c3')!].sort()).toEqual([0, 1, 2]);

    const batchC = await produce(topic, 'c', 30);
    expected.push(...batchC);
    await waitFor(() => seen.has(expected), 'batch c');
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '30,30,30', 'batch c committed');
    // Each member read batch c's records of its own partition only.
    for (const [i, value] of batchC.entries()) {
      const owner = [...third].find(([, partitions]) => partitions.includes(i % 3))![0];
      expect(seen.by.get(value)).toEqual([owner]);
    }

    // c2 dies without leaving; after its session timeout its partition moves to c1 or c3.
    const c2Partition = c2.assigned![0]!;
    await c2.kill();
    const batchD = await produce(topic, 'd', 30);
    expected.push(...batchD);
    await waitFor(() => seen.has(expected), 'batch d, including the killed member\'s partition', 45_000);
    const { state, byClient } = await memberAssignments(admin, groupId, topic);
    expect(state).toBe('Stable');
    expect([...byClient.keys()].sort()).toEqual(['c1', 'c3']);
    expect([...byClient.values()].flat().sort()).toEqual([0, 1, 2]);
    for (const [i, value] of batchD.entries()) {
      if (i % 3 === c2Partition) expect(['c1', 'c3']).toContain(seen.by.get(value)![0]);
    }

    // Every commit preceded each rebalance and the kill, so nothing was processed twice.
    expect(seen.duplicates()).toEqual([]);
    expect(seen.by.size).toBe(expected.length);
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '40,40,40', 'batch d committed');

    // Everyone stops; a new member starts from the committed offsets (fromBeginning only
    // applies without a commit), so it sees only what came after.
    await c1.disconnect();
    for (const c of consumers.splice(0)) await c.disconnect();
    expect((await admin.describeGroups([groupId])).groups[0]!.state).toBe('Empty');
    const batchE = await produce(topic, 'e', 6);
    const later = new Seen();
    await startConsumer('c4', groupId, topic, later, new Map());
    await waitFor(() => later.has(batchE), 'batch e');
    // Records of a partition arrive in order, so anything re-read would have come first.
    expect([...later.by.keys()].sort()).toEqual([...batchE].sort());
  }, 150_000);

  it('admin: fetchOffsets, setOffsets, resetOffsets, listGroups, describeGroups, deleteGroups', async () => {
    const topic = 'ledger';
    const groupId = 'ledger-readers';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const batchA = await produce(topic, 'a', 12);

    // Nothing committed yet: -1 for every partition; an unknown group is Dead with no members.
    expect(await committed(admin, groupId, topic)).toEqual(['-1', '-1', '-1']);
    const unknown = (await admin.describeGroups(['never-seen'])).groups[0]!;
    expect(unknown).toMatchObject({ groupId: 'never-seen', state: 'Dead', members: [] });

    const seen = new Seen();
    const consumer = await startConsumer('reader', groupId, topic, seen, new Map());
    await waitFor(() => seen.has(batchA), 'batch a');
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '4,4,4', 'batch a committed');

    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });
    const described = (await admin.describeGroups([groupId])).groups[0]!;
    expect(described).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', errorCode: 0 });
    expect(described.members).toHaveLength(1);
    expect(described.members[0]).toMatchObject({ clientId: 'reader', clientHost: expect.stringMatching(/127\.0\.0\.1/) });
    expect(decodeAssignment(described.members[0]!.memberAssignment, topic)).toEqual([0, 1, 2]);
    const subscription = AssignerProtocol.MemberMetadata.decode(described.members[0]!.memberMetadata);
    expect(subscription?.topics).toEqual([topic]);

    // A group with members cannot be deleted, nor its offsets set.
    const refused = await admin.deleteGroups([groupId]).then(
      () => null,
      (err: { groups?: { groupId: string; errorCode: number; error?: { type?: string } }[] }) => err,
    );
    expect(refused?.groups?.[0]).toMatchObject({ groupId, errorCode: 68 });
    await expect(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })).rejects.toThrow(/no running instances/);

    await consumer.disconnect();
    consumers.splice(consumers.indexOf(consumer), 1);
    expect((await admin.describeGroups([groupId])).groups[0]).toMatchObject({ state: 'Empty', members: [] });

    // setOffsets: a new member starts from the offsets set.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '3' }] });
    expect(await committed(admin, groupId, topic)).toEqual(['1', '3', '4']);
    const afterSet = new Seen();
    let c = await startConsumer('reader-2', groupId, topic, afterSet, new Map());
    const fromSet = batchA.filter((_, i) => (i % 3 === 0 && i >= 3) || (i % 3 === 1 && i >= 9));
    await waitFor(() => afterSet.has(fromSet), 'records after the offsets set');
    expect([...afterSet.by.keys()].sort()).toEqual([...fromSet].sort());
    await c.disconnect();
    consumers.splice(consumers.indexOf(c), 1);

    // resetOffsets commits -2 (earliest) or -1 (latest), which Kafka stores as given; kafkajs
    // consumers treat a negative committed offset as none (their fromBeginning decides), and
    // fetchOffsets with resolveOffsets turns them into the log start / end and commits those.
    await admin.resetOffsets({ groupId, topic, earliest: true });
    expect(await committed(admin, groupId, topic)).toEqual(['-2', '-2', '-2']);
    const earliest = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true });
    expect(earliest[0]!.partitions.map((p) => p.offset)).toEqual(['0', '0', '0']);
    expect(await committed(admin, groupId, topic)).toEqual(['0', '0', '0']);
    const afterEarliest = new Seen();
    c = await startConsumer('reader-3', groupId, topic, afterEarliest, new Map(), false);
    await waitFor(() => afterEarliest.has(batchA), 'every record after resetOffsets earliest');
    expect(afterEarliest.by.size).toBe(batchA.length);
    await waitFor(async () => (await committed(admin, groupId, topic)).join() === '4,4,4', 'the re-read committed');
    await c.disconnect();
    consumers.splice(consumers.indexOf(c), 1);

    // resetOffsets latest, resolved: a new member skips what is there and reads only newer records.
    await admin.resetOffsets({ groupId, topic, earliest: false });
    expect(await committed(admin, groupId, topic)).toEqual(['-1', '-1', '-1']);
    const latest = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true });
    expect(latest[0]!.partitions.map((p) => p.offset)).toEqual(['4', '4', '4']);
    expect(await committed(admin, groupId, topic)).toEqual(['4', '4', '4']);
    const afterLatest = new Seen();
    c = await startConsumer('reader-4', groupId, topic, afterLatest, new Map());
    await waitFor(async () => (await memberAssignments(admin, groupId, topic)).state === 'Stable', 'reader-4 in the group');
    const batchB = await produce(topic, 'b', 6);
    await waitFor(() => afterLatest.has(batchB), 'records produced after resetOffsets latest');
    expect([...afterLatest.by.keys()].sort()).toEqual([...batchB].sort());
    await c.disconnect();
    consumers.splice(consumers.indexOf(c), 1);

    // Filtering ListGroups by state is not exposed by kafkajs; groups known only by offsets are listed too.
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);
    // Empty now: deleteGroups succeeds, the offsets go, describeGroups says Dead.
    const deleted = await admin.deleteGroups([groupId]);
    expect(deleted).toEqual([{ groupId, errorCode: 0 }]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
    expect((await admin.describeGroups([groupId])).groups[0]!.state).toBe('Dead');
    expect(await committed(admin, groupId, topic)).toEqual(['-1', '-1', '-1']);
    // Deleting it again: GROUP_ID_NOT_FOUND (69).
    const again = await admin.deleteGroups([groupId]).then(
      () => null,
      (err: { groups?: { groupId: string; errorCode: number }[] }) => err,
    );
    expect(again?.groups?.[0]).toMatchObject({ groupId, errorCode: 69 });
  }, 120_000);

  it('removes the committed offsets of a deleted topic', async () => {
    const groupId = 'multi-topic';
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }, { topic: 'kept', numPartitions: 1 }] });
    // Simple (group-less) commits through the admin client.
    await admin.setOffsets({ groupId, topic: 'doomed', partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] });
    await admin.setOffsets({ groupId, topic: 'kept', partitions: [{ partition: 0, offset: '3' }] });
    const before = await admin.fetchOffsets({ groupId });
    expect(before.map((t) => t.topic).sort()).toEqual(['doomed', 'kept']);

    await admin.deleteTopics({ topics: ['doomed'] });
    const after = await admin.fetchOffsets({ groupId });
    expect(after).toEqual([{ topic: 'kept', partitions: [{ partition: 0, offset: '3', metadata: null }] }]);
    // Asked for by name, the deleted topic's partitions have no committed offset.
    const raw = await RawClient.connect(broker.port);
    try {
      const response = await raw.request(
        9,
        8,
        createOffsetFetchRequest({ groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: 'doomed', partitionIndexes: [0, 1] }] }] }),
      );
      const partitions = response.groups[0]!.topics[0]!.partitions;
      expect(partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode])).toEqual([
        [0, -1n, 0],
        [1, -1n, 0],
      ]);
    } finally {
      raw.close();
    }
    // A topic re-created under the same name starts without offsets.
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }] });
    expect(await admin.fetchOffsets({ groupId, topics: ['doomed'] })).toEqual([
      {
        topic: 'doomed',
        partitions: [
          { partition: 0, offset: '-1', metadata: null },
          { partition: 1, offset: '-1', metadata: null },
        ],
      },
    ]);
  }, 60_000);
});

/**
 * offsets.retention.minutes through the broker's coordinator and the MySQL offset store. The
 * smallest retention the configuration takes is whole minutes and the expiration check runs
 * every offsets.retention.check.interval.ms (10 minutes, not a broker key), so this broker
 * runs with offsets.retention.minutes=0 and the test calls the coordinator's expiration pass
 * itself. The retention clock (minutes after the group became Empty) is tested with a fake
 * clock in server/groups/coordinator.test.ts.
 */
describe('offsets.retention.minutes', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    broker = await startTestBroker('groups expiry', { 'offsets.retention.minutes': 0 });
    kafka = new Kafka({ clientId: 'groups-expiry', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await admin?.disconnect();
    await broker?.stop();
  });

  it('keeps the offsets of an active group\'s subscribed topics and expires an empty group\'s', async () => {
    const coordinator = broker.broker.context.groupCoordinator as GroupCoordinator;
    await admin.createTopics({ topics: [{ topic: 'subscribed', numPartitions: 1 }, { topic: 'other', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'subscribed', messages: [{ value: 'x' }, { value: 'y' }] });
    await producer.disconnect();
    // A simple commit for a topic the group will not subscribe to.
    await admin.setOffsets({ groupId: 'expiring', topic: 'other', partitions: [{ partition: 0, offset: '1' }] });

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'expiring', ...CONSUMER });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'subscribed', fromBeginning: true });
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(async () => (await committed(admin, 'expiring', 'subscribed')).join() === '2', 'the commit');

    // Stable: the subscribed topic's offsets stay, the other topic's expire.
    expect(await coordinator.expireOffsets()).toBe(1);
    const active = await admin.fetchOffsets({ groupId: 'expiring' });
    expect(active).toEqual([{ topic: 'subscribed', partitions: [{ partition: 0, offset: '2', metadata: null }] }]);

    // Empty: everything expires and the group is gone.
    await consumer.disconnect();
    expect((await admin.describeGroups(['expiring'])).groups[0]!.state).toBe('Empty');
    expect(await coordinator.expireOffsets()).toBe(1);
    expect(await admin.fetchOffsets({ groupId: 'expiring' })).toEqual([]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('expiring');
    expect((await admin.describeGroups(['expiring'])).groups[0]!.state).toBe('Dead');
  }, 60_000);
});
