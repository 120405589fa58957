/**
 * Consumer groups with clients other than kafkajs: kcat -G (librdkafka's balanced consumer),
 * confluent-kafka-python (librdkafka 2.0.2) and kafka-python 2.0.2 committing and resuming;
 * kafkajs, kafka-python and librdkafka as members of one group ("roundrobin", the one
 * protocol name the three share); static membership (group.instance.id) with librdkafka:
 * a restart inside the session timeout keeps the generation and the assignment, a second
 * process with the same instance id fences the first, and a raw JoinGroup with a stale
 * member id gets FENCED_INSTANCE_ID.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AssignerProtocol, Kafka, logLevel, PartitionAssigners, type Admin, type Consumer, type PartitionAssigner, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createJoinGroupRequest } from '../codec/generated/join-group.js';
import { createListGroupsRequest } from '../codec/generated/list-groups.js';
import type { GroupCoordinator } from '../server/groups/coordinator.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { KCAT, PYTHON, RawClient, requireKcat, requirePython, runProcess, runPython } from './support/clients.js';
import { CONFLUENT_SCRIPT, CONTROL, PyConsumer } from './support/py-consumers.js';
import { waitFor } from './support/wait.js';


/** kafka-python: argv = bootstrap, group, topic, expected count (0 = until "close"), deadline s, assignors ('range,roundrobin'). */
const KAFKA_PYTHON_SCRIPT = CONTROL + String.raw`
from kafka import KafkaConsumer, ConsumerRebalanceListener, TopicPartition
from kafka.structs import OffsetAndMetadata
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
bootstrap, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
expect = int(sys.argv[4]); deadline = time.time() + float(sys.argv[5])
assignors = {'range': RangePartitionAssignor, 'roundrobin': RoundRobinPartitionAssignor}
strategy = tuple(assignors[n] for n in sys.argv[6].split(','))
class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        out({'revoked': sorted(tp.partition for tp in revoked)})
    def on_partitions_assigned(self, assigned):
        out({'assigned': sorted(tp.partition for tp in assigned)})
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id='kafka-python',
                  auto_offset_reset='earliest', enable_auto_commit=False,
                  session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_interval_ms=10000,
                  partition_assignment_strategy=strategy)
c.subscribe([topic], listener=Listener())
seen = 0
code = 0
while not closing.is_set() and (expect == 0 or seen < expect):
    if time.time() > deadline:
        out({'error': 'deadline'}); code = 3; break
    for tp, records in c.poll(timeout_ms=200, max_records=1).items():
        for r in records:
            c.commit({tp: OffsetAndMetadata(r.offset + 1, None)})
            seen += 1
            out({'value': r.value.decode(), 'partition': r.partition, 'offset': r.offset})
c.close()
out({'done': True})
sys.exit(code)
`;

describe('consumer groups with kcat, confluent-kafka-python, kafka-python', () => {
  let broker: TestBroker;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let scriptDir: string;
  const pythons: PyConsumer[] = [];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    requireKcat();
    requirePython(['kafka', 'confluent_kafka']);
    scriptDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-groups-'));
    await fs.writeFile(path.join(scriptDir, 'confluent_consumer.py'), CONFLUENT_SCRIPT);
    await fs.writeFile(path.join(scriptDir, 'kafka_python_consumer.py'), KAFKA_PYTHON_SCRIPT);
    broker = await startTestBroker('groups clients');
    kafka = new Kafka({ clientId: 'groups-clients', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterEach(async () => {
    for (const p of pythons.splice(0)) await p.kill();
    for (const c of consumers.splice(0)) await c.disconnect().catch(() => undefined);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
    if (scriptDir) await fs.rm(scriptDir, { recursive: true, force: true });
  });

  async function produce(topic: string, prefix: string, count: number, partitions = 3): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
    return values;
  }

  async function committed(groupId: string, topic: string): Promise<string> {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset).join();
  }

  function confluent(name: string, conf: Record<string, string | number>, topic: string, expect: number, deadlineS = 60): PyConsumer {
    const child = spawn(PYTHON, [path.join(scriptDir, 'confluent_consumer.py'), JSON.stringify({ 'bootstrap.servers': broker.bootstrap, 'client.id': name, ...conf }), topic, String(expect), String(deadlineS)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = new PyConsumer(name, child);
    pythons.push(p);
    return p;
  }

  function kafkaPython(name: string, groupId: string, topic: string, expect: number, assignors = 'range,roundrobin', deadlineS = 60): PyConsumer {
    const child = spawn(PYTHON, [path.join(scriptDir, 'kafka_python_consumer.py'), broker.bootstrap, groupId, topic, String(expect), String(deadlineS), assignors], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = new PyConsumer(name, child);
    pythons.push(p);
    return p;
  }

  async function succeeded(p: PyConsumer): Promise<void> {
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`${p.name} exited ${code}:\n${p.stderr}\n${JSON.stringify(p.lines)}`);
  }

  async function stable(groupId: string, members: number): Promise<Map<string, number[]>> {
    let byClient = new Map<string, number[]>();
    await waitFor(async () => {
      const group = (await admin.describeGroups([groupId])).groups[0]!;
      byClient = new Map();
      for (const m of group.members) {
        const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        byClient.set(m.clientId, Object.values(decoded?.assignment ?? {}).flat().sort());
      }
      return group.state === 'Stable' && group.members.length === members && [...byClient.values()].every((p) => p.length > 0);
    }, `${groupId} Stable with ${members} members holding partitions`);
    return byClient;
  }

  it('kcat -G reads a topic in a group, commits on exit, and a second run resumes', async () => {
    const topic = 'kcat-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const first = await produce(topic, 'a', 9);
    const args = ['-b', broker.bootstrap, '-G', 'kcat-readers', '-q', '-f', '%p %o %s\\n', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', topic];
    const run = async (count: number): Promise<string[]> => {
      const result = await runProcess(KCAT, [...args, '-c', String(count)], { timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`kcat exited ${result.code}: ${result.stderr}`);
      return result.stdout.toString().trim().split('\n').map((l) => l.split(' ')[2]!);
    };
    expect((await run(9)).sort()).toEqual([...first].sort());
    expect(await committed('kcat-readers', topic)).toBe('3,3,3');
    const second = await produce(topic, 'b', 3);
    expect((await run(3)).sort()).toEqual([...second].sort());
    expect(await committed('kcat-readers', topic)).toBe('4,4,4');
  }, 90_000);

  it('confluent-kafka-python and kafka-python consumers commit and a second run resumes', async () => {
    const topic = 'py-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const first = await produce(topic, 'a', 9);

    const conf = { 'group.id': 'confluent-readers', 'session.timeout.ms': 6000 };
    let c = confluent('confluent-1', conf, topic, 9);
    await succeeded(c);
    expect(c.values().sort()).toEqual([...first].sort());
    expect(c.assigned()).toEqual([0, 1, 2]);
    expect(await committed('confluent-readers', topic)).toBe('3,3,3');

    let k = kafkaPython('kafka-python-1', 'kafka-python-readers', topic, 9);
    await succeeded(k);
    expect(k.values().sort()).toEqual([...first].sort());
    expect(k.assigned()).toEqual([0, 1, 2]);
    expect(await committed('kafka-python-readers', topic)).toBe('3,3,3');

    const second = await produce(topic, 'b', 6);
    c = confluent('confluent-2', conf, topic, 6);
    k = kafkaPython('kafka-python-2', 'kafka-python-readers', topic, 6);
    await succeeded(c);
    await succeeded(k);
    expect(c.values().sort()).toEqual([...second].sort());
    expect(k.values().sort()).toEqual([...second].sort());
    expect(await committed('confluent-readers', topic)).toBe('5,5,5');
    expect(await committed('kafka-python-readers', topic)).toBe('5,5,5');
  }, 120_000);

  it('kafkajs, kafka-python and librdkafka share one group through the "roundrobin" protocol', async () => {
    const topic = 'mixed-group';
    const groupId = 'mixed-readers';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    // kafkajs names its assigner RoundRobinAssigner; the same algorithm under Kafka's name
    // "roundrobin" is what kafka-python (range, roundrobin) and librdkafka (range,roundrobin) also offer.
    const roundrobin: PartitionAssigner = (config) => ({ ...PartitionAssigners.roundRobin(config), name: 'roundrobin' });
    const jsSeen: string[] = [];
    let jsAssigned: number[] = [];
    const js = kafka.consumer({ groupId, partitionAssigners: [roundrobin], sessionTimeout: 6000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 250 });
    consumers.push(js);
    js.on(js.events.GROUP_JOIN, (e) => {
      jsAssigned = [...(e.payload.memberAssignment[topic] ?? [])].sort();
    });
    await js.connect();
    await js.subscribe({ topic, fromBeginning: true });
    await js.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => void jsSeen.push(message.value!.toString()) });
    await stable(groupId, 1);

    const k = kafkaPython('kafka-python', groupId, topic, 0);
    await stable(groupId, 2);
    const c = confluent('librdkafka', { 'group.id': groupId, 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500, 'max.poll.interval.ms': 10_000 }, topic, 0);
    const byClient = await waitFor(async () => (await stable(groupId, 3)).size === 3, 'three members').then(() => stable(groupId, 3));
    expect([...byClient.keys()].sort()).toEqual(['groups-clients', 'kafka-python', 'librdkafka']);
    expect([...byClient.values()].map((p) => p.length)).toEqual([1, 1, 1]);
    expect([...byClient.values()].flat().sort()).toEqual([0, 1, 2]);
    const described = (await admin.describeGroups([groupId])).groups[0]!;
    expect(described.protocol).toBe('roundrobin');
    await waitFor(() => k.assigned()?.length === 1 && c.assigned()?.length === 1 && jsAssigned.length === 1, 'each client to see its partition');
    expect([k.assigned()![0], c.assigned()![0], jsAssigned[0]]).toEqual([
      byClient.get('kafka-python')![0],
      byClient.get('librdkafka')![0],
      byClient.get('groups-clients')![0],
    ]);

    const values = await produce(topic, 'm', 30);
    await waitFor(() => jsSeen.length + k.values().length + c.values().length >= 30, 'all 30 records');
    const all = [...jsSeen, ...k.values(), ...c.values()];
    expect(all.sort()).toEqual([...values].sort());
    // Each client read exactly the records of its own partition.
    for (const [i, value] of values.entries()) {
      const partition = i % 3;
      const reader = jsSeen.includes(value) ? jsAssigned[0] : k.values().includes(value) ? k.assigned()![0] : c.assigned()![0];
      expect(reader).toBe(partition);
    }
    await waitFor(async () => (await committed(groupId, topic)) === '10,10,10', 'every client\'s commits');
    await k.close();
    await c.close();
    await succeeded(k);
    await succeeded(c);
  }, 120_000);

  it('static membership: a restarted librdkafka member keeps generation and assignment; a duplicate instance id is fenced', async () => {
    const topic = 'static-group';
    const groupId = 'static-readers';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const coordinator = broker.broker.context.groupCoordinator as GroupCoordinator;
    const conf = (instance: string) => ({
      'group.id': groupId,
      'group.instance.id': instance,
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 500,
      'max.poll.interval.ms': 10_000,
      'partition.assignment.strategy': 'range',
    });
    const a = confluent('static-a', conf('instance-a'), topic, 0);
    await stable(groupId, 1);
    const b = confluent('static-b', conf('instance-b'), topic, 0);
    const before = await stable(groupId, 2);
    await waitFor(() => a.assigned()?.length === 1 && b.assigned()?.length === 1, 'one partition each');
    const group = coordinator.group(groupId)!;
    const generation = group.generationId;
    const aPartition = a.assigned()![0]!;
    const oldMemberA = group.staticMemberId('instance-a')!;
    const memberB = group.staticMemberId('instance-b')!;
    const bAssignments = b.count('assigned');
    const bRevocations = b.count('revoked');

    // A crashes and comes back well within its 10 s session: same partition, same generation,
    // a new member id for the same instance, and B is neither revoked nor reassigned.
    await a.kill();
    const a2 = confluent('static-a', conf('instance-a'), topic, 0);
    await waitFor(() => a2.assigned() !== null, 'the restarted static member\'s assignment');
    expect(a2.assigned()).toEqual([aPartition]);
    expect(group.generationId).toBe(generation);
    expect(group.state).toBe('Stable');
    expect(group.staticMemberId('instance-a')).not.toBe(oldMemberA);
    expect(group.staticMemberId('instance-b')).toBe(memberB);
    expect(await stable(groupId, 2)).toEqual(before);
    // Records on both partitions flow to their owners.
    const values = await produce(topic, 's', 4, 2);
    await waitFor(() => a2.values().length + b.values().length >= 4, 'the records');
    expect([...a2.values(), ...b.values()].sort()).toEqual([...values].sort());
    expect(a2.lines.filter((l) => l.value !== undefined).every((l) => l.partition === aPartition)).toBe(true);
    expect(b.count('assigned')).toBe(bAssignments);
    expect(b.count('revoked')).toBe(bRevocations);
    expect(group.generationId).toBe(generation);

    // A JoinGroup under instance-a with the replaced member id is fenced.
    const raw = await RawClient.connect(broker.port);
    try {
      const response = await raw.request(
        11,
        5,
        createJoinGroupRequest({
          groupId,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId: oldMemberA,
          groupInstanceId: 'instance-a',
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: [topic], userData: Buffer.alloc(0) }) }],
        }),
      );
      expect(response.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    } finally {
      raw.close();
    }

    // A second process with instance-a's id takes the slot over; the first is fenced (fatal in librdkafka).
    const a3 = confluent('static-a-duplicate', conf('instance-a'), topic, 0);
    await waitFor(() => a3.assigned() !== null, 'the duplicate\'s assignment');
    expect(a3.assigned()).toEqual([aPartition]);
    const { code } = await a2.exited;
    expect(code).toBe(4);
    expect(a2.lines.some((l) => l.fatal === true && /FENCED/i.test(l.error ?? ''))).toBe(true);
    await a3.close();
    await b.close();
  }, 120_000);
  it('kafka-python admin lists, describes, fetches offsets with metadata and deletes groups; ListGroups filters by state', async () => {
    const topic = 'py-admin';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await produce(topic, 'a', 9);
    const result = await runPython(
      String.raw`
import json, sys
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.structs import OffsetAndMetadata
bootstrap, topic = sys.argv[1], sys.argv[2]
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id='py-admin-group', client_id='py-admin-member', auto_offset_reset='earliest',
                  enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500)
n = 0
while n < 9:
    n += sum(len(r) for r in c.poll(timeout_ms=200).values())
c.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, 'checkpoint-0'), TopicPartition(topic, 1): OffsetAndMetadata(2, '')})
a = KafkaAdminClient(bootstrap_servers=bootstrap)
out = {}
out['listed'] = sorted(list(g) for g in a.list_consumer_groups())
g = a.describe_consumer_groups(['py-admin-group'])[0]
out['described'] = [g.error_code, g.state, g.protocol_type, g.protocol,
                     [[m.client_id, m.client_host, m.member_metadata.subscription, [[t, p] for t, p in m.member_assignment.assignment]] for m in g.members]]
out['offsets'] = sorted([tp.partition, om.offset, om.metadata] for tp, om in a.list_consumer_group_offsets('py-admin-group').items())
out['delete_active'] = [[gid, err.__name__] for gid, err in a.delete_consumer_groups(['py-admin-group'])]
c.close()
g = a.describe_consumer_groups(['py-admin-group'])[0]
out['after_close'] = [g.state, g.protocol, len(g.members)]
out['delete_empty'] = [[gid, err.__name__] for gid, err in a.delete_consumer_groups(['py-admin-group'])]
out['listed_after'] = [g[0] for g in a.list_consumer_groups()]
a.close()
print(json.dumps(out))
`,
      [broker.bootstrap, topic],
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.toString()) as Record<string, unknown>;
    expect(out.listed).toContainEqual(['py-admin-group', 'consumer']);
    expect(out.described).toEqual([0, 'Stable', 'consumer', 'range', [['py-admin-member', '/127.0.0.1', [topic], [[topic, [0, 1, 2]]]]]]);
    expect(out.offsets).toEqual([
      [0, 3, 'checkpoint-0'],
      [1, 2, ''],
    ]);
    expect(out.delete_active).toEqual([['py-admin-group', 'NonEmptyGroupError']]);
    expect(out.after_close).toEqual(['Empty', '', 0]);
    expect(out.delete_empty).toEqual([['py-admin-group', 'NoError']]);
    expect(out.listed_after).not.toContain('py-admin-group');
    // The metadata string committed by kafka-python comes back through kafkajs too (deleted now: -1).
    expect((await admin.fetchOffsets({ groupId: 'py-admin-group', topics: [topic] }))[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1']);

    // ListGroups v4 with a state filter (case-insensitive, as Kafka compares).
    const js = kafka.consumer({ groupId: 'filter-stable', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 250 });
    consumers.push(js);
    await js.connect();
    await js.subscribe({ topic, fromBeginning: true });
    await js.run({ eachMessage: async () => undefined });
    await stable('filter-stable', 1);
    await admin.setOffsets({ groupId: 'filter-empty', topic, partitions: [{ partition: 0, offset: '1' }] });
    const raw = await RawClient.connect(broker.port);
    try {
      const list = async (states: string[]) =>
        (await raw.request(16, 4, createListGroupsRequest({ statesFilter: states }))).groups
          .filter((g) => g.groupId.startsWith('filter-'))
          .map((g) => [g.groupId, g.groupState])
          .sort();
      expect(await list([])).toEqual([
        ['filter-empty', 'Empty'],
        ['filter-stable', 'Stable'],
      ]);
      expect(await list(['stable'])).toEqual([['filter-stable', 'Stable']]);
      expect(await list(['Empty', 'Dead'])).toEqual([['filter-empty', 'Empty']]);
      expect(await list(['PreparingRebalance'])).toEqual([]);
    } finally {
      raw.close();
    }
  }, 90_000);
});
