/**
 * Also: ListGroups v5's group type filter, in raw frames, for clients that list by type.
 *
 * Static members (KIP-345) that stop without leaving: librdkafka (confluent-kafka-python)
 * members with group.instance.id send no LeaveGroup when they close, so the group keeps them
 * (no rebalance) until their session timeout passes; then they are removed and the group is
 * Empty, as in Kafka. kafkajs 2.2.4 has no static membership (its consumer never sends a
 * group instance id), so it is not tested here.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createListGroupsRequest } from '../codec/generated/list-groups.js';
import { createOffsetCommitRequest } from '../codec/generated/offset-commit.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { PYTHON, RawClient, requirePython } from './support/clients.js';
import { CONFLUENT_SCRIPT, PyConsumer } from './support/py-consumers.js';
import { waitFor } from './support/wait.js';

const SESSION_MS = 6000;

describe('static members that stop without leaving', () => {
  let broker: TestBroker;
  let admin: Admin;
  let scriptDir: string;
  const pythons: PyConsumer[] = [];

  beforeAll(async () => {
    requirePython(['confluent_kafka']);
    scriptDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-static-'));
    await fs.writeFile(path.join(scriptDir, 'confluent_consumer.py'), CONFLUENT_SCRIPT);
    broker = await startTestBroker('groups static');
    admin = new Kafka({ clientId: 'groups-static', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterEach(async () => {
    for (const p of pythons.splice(0)) await p.kill();
  });
  afterAll(async () => {
    await admin?.disconnect();
    await broker?.stop();
    if (scriptDir) await fs.rm(scriptDir, { recursive: true, force: true });
  });

  function confluent(name: string, conf: Record<string, string | number>, topic: string): PyConsumer {
    const args = [path.join(scriptDir, 'confluent_consumer.py'), JSON.stringify({ 'bootstrap.servers': broker.bootstrap, 'client.id': name, ...conf }), topic, '0', '60'];
    const p = new PyConsumer(name, spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    pythons.push(p);
    return p;
  }

  it('removes three closed librdkafka static members when their session times out, leaving the group Empty', async () => {
    const topic = 'static-expiry';
    const groupId = 'static-expiry-readers';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const conf = (instance: string) => ({
      'group.id': groupId,
      'group.instance.id': instance,
      'session.timeout.ms': SESSION_MS,
      'heartbeat.interval.ms': 500,
      'max.poll.interval.ms': 20_000,
      'partition.assignment.strategy': 'range',
    });
    const members = ['s1', 's2', 's3'].map((name) => confluent(name, conf(`instance-${name}`), topic));
    await waitFor(async () => {
      const g = (await admin.describeGroups([groupId])).groups[0]!;
      return g.state === 'Stable' && g.members.length === 3 && members.every((m) => m.assigned()?.length === 1);
    }, 'three static members, one partition each');
    const generation = broker.broker.context.groupCoordinator!.group(groupId)!.generationId;

    await Promise.all(members.map((m) => m.close()));
    for (const m of members) expect((await m.exited).code).toBe(0);
    // Closing static members do not leave: no rebalance, all three still in the group.
    const closed = (await admin.describeGroups([groupId])).groups[0]!;
    expect(closed.state).toBe('Stable');
    expect(closed.members.map((m) => m.clientId).sort()).toEqual(['s1', 's2', 's3']);
    expect(broker.broker.context.groupCoordinator!.group(groupId)!.generationId).toBe(generation);

    await waitFor(async () => {
      const g = (await admin.describeGroups([groupId])).groups[0]!;
      return g.state === 'Empty' && g.members.length === 0;
    }, 'the group to be Empty once the sessions timed out', SESSION_MS + 10_000);
  });

  it('answers ListGroups v5 with groupType classic and filters by type, case-insensitively', async () => {
    const raw = await RawClient.connect(broker.port);
    try {
      const commit = await raw.request(8, 2, createOffsetCommitRequest({
        groupId: 'typed-group',
        generationIdOrMemberEpoch: -1,
        retentionTimeMs: -1n,
        topics: [{ name: 'static-expiry', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
      }));
      expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(0);
      const list = async (typesFilter: string[]) =>
        (await raw.request(16, 5, createListGroupsRequest({ typesFilter }))).groups.filter((g) => g.groupId === 'typed-group');
      expect(await list([])).toEqual([{ groupId: 'typed-group', protocolType: '', groupState: 'Empty', groupType: 'classic' }]);
      expect(await list(['CLASSIC'])).toHaveLength(1);
      expect(await list(['consumer'])).toEqual([]);
    } finally {
      raw.close();
    }
  });
});
