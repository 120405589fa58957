/**
 * Group limits against the running broker (issue: a JoinGroup with 10 MB of protocol metadata
 * and 20 members made a 210 MB response): group.member.metadata.max.bytes (INVALID_REQUEST),
 * group.metadata.max.bytes and group.max.size (GROUP_MAX_SIZE_REACHED), with raw frames and
 * kafkajs; and a client that disconnects while its JoinGroup waits, which stays a member until
 * its session timeout, as in Kafka, and leaves nothing behind.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { decodeResponseFrame } from '../codec/client.js';
import { createDescribeGroupsRequest } from '../codec/generated/describe-groups.js';
import { createJoinGroupRequest } from '../codec/generated/join-group.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient } from './support/clients.js';
import { waitFor } from './support/wait.js';

const MiB = 1024 * 1024;
const GROUP_METADATA_MAX = 2 * MiB;

let tb: TestBroker;
const clients: RawClient[] = [];

beforeAll(async () => {
  tb = await startTestBroker('groups-limits', {
    'group.max.size': 3,
    'group.metadata.max.bytes': GROUP_METADATA_MAX,
    // group.member.metadata.max.bytes keeps its default, 1 MiB.
    'group.initial.rebalance.delay.ms': 1000,
  });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await tb?.stop();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(tb.port);
  clients.push(c);
  return c;
}

/** JoinGroup v3 (no MEMBER_ID_REQUIRED round) of a new member with `bytes` of metadata. */
function joinFrame(client: RawClient, groupId: string, bytes: number): Promise<Buffer> {
  return client.requestRaw(11, 3, createJoinGroupRequest({
    groupId,
    sessionTimeoutMs: 6000,
    rebalanceTimeoutMs: 6000,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(bytes, 1) }],
  }));
}

const joinResult = (frame: Buffer) => decodeResponseFrame(11, 3, frame).body;

async function describe1(client: RawClient, groupId: string) {
  const r = await client.request(15, 5, createDescribeGroupsRequest({ groups: [groupId] }));
  return r.groups[0]!;
}

describe('protocol metadata limits', () => {
  it('answers 20 JoinGroups of 10 MB of metadata each with INVALID_REQUEST at once, creating no group', async () => {
    const client = await connect();
    const frames = await Promise.all(Array.from({ length: 20 }, () => joinFrame(client, 'huge', 10 * MiB)));
    for (const f of frames) {
      expect(joinResult(f)).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, memberId: '', members: [] });
    }
    // Every answer is a few dozen bytes (was: 210 MB for the leader).
    expect(frames.reduce((n, f) => n + f.length, 0)).toBeLessThan(20 * 100);
    expect(await describe1(client, 'huge')).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
  });

  it('keeps a group within group.metadata.max.bytes: the member that would pass it gets GROUP_MAX_SIZE_REACHED; the leader\'s response stays under it', async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    // Two members of 900,000 bytes (each under the 1 MiB member limit) wait in the initial delay;
    // a third would take the group to 2.7 MB, over 2 MiB.
    const first = joinFrame(a, 'big', 900_000);
    const second = joinFrame(b, 'big', 900_000);
    await waitFor(async () => (await describe1(c, 'big')).members.length === 2, 'two members waiting');
    const third = joinResult(await joinFrame(c, 'big', 900_000));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    const answers = [await first, await second];
    const leader = answers.map(joinResult).find((r) => r.members.length > 0)!;
    expect(leader.errorCode).toBe(ErrorCode.NONE);
    expect(leader.members.map((m) => m.metadata.length)).toEqual([900_000, 900_000]);
    expect(Math.max(...answers.map((f) => f.length))).toBeLessThan(GROUP_METADATA_MAX);
    expect(Math.max(...answers.map((f) => f.length))).toBeGreaterThan(1_800_000);
  });
});

describe('group.max.size', () => {
  const consumers: Consumer[] = [];
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
  });

  it('turns a fourth kafkajs consumer away with GROUP_MAX_SIZE_REACHED and leaves the three undisturbed', async () => {
    const kafka = new Kafka({ clientId: 'limits', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'capped', numPartitions: 3 }] });
      const joined = new Set<string>();
      const start = async (name: string): Promise<Consumer> => {
        const consumer = new Kafka({ clientId: name, brokers: [tb.bootstrap], logLevel: logLevel.NOTHING }).consumer({
          groupId: 'capped-group',
          sessionTimeout: 10_000,
          retry: { retries: 0 },
        });
        consumers.push(consumer);
        consumer.on(consumer.events.GROUP_JOIN, () => joined.add(name));
        await consumer.connect();
        await consumer.subscribe({ topic: 'capped' });
        return consumer;
      };
      const three = await Promise.all(['m1', 'm2', 'm3'].map(start));
      await Promise.all(three.map((c) => c.run({ eachMessage: async () => undefined })));
      await waitFor(async () => {
        const d = (await admin.describeGroups(['capped-group'])).groups[0]!;
        return d.state === 'Stable' && d.members.length === 3 && joined.size === 3;
      }, 'three members Stable');
      const before = (await admin.describeGroups(['capped-group'])).groups[0]!;

      const fourth = await start('m4');
      const crashed = new Promise<{ type?: string }>((resolve) => {
        fourth.on(fourth.events.CRASH, (e) => resolve(e.payload.error as { type?: string }));
      });
      await fourth.run({ eachMessage: async () => undefined }).catch(() => undefined);
      expect((await crashed).type).toBe('GROUP_MAX_SIZE_REACHED');

      const after = (await admin.describeGroups(['capped-group'])).groups[0]!;
      expect(after.state).toBe('Stable');
      expect(after.members.map((m) => m.memberId).sort()).toEqual(before.members.map((m) => m.memberId).sort());
      expect(joined.has('m4')).toBe(false);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('a client gone mid-JoinGroup', () => {
  it('stays a member while its JoinGroup waits (as in Kafka), is removed by its session timeout, and the group ends Empty', async () => {
    const gone = await connect();
    const watcher = await connect();
    void joinFrame(gone, 'left', 100).catch(() => undefined);
    await waitFor(async () => (await describe1(watcher, 'left')).members.length === 1, 'the member to be in');
    gone.close();
    await gone.closed;
    // Kafka does not tie membership to the connection: the member is still there.
    expect((await describe1(watcher, 'left')).members).toHaveLength(1);
    // The join phase ends (1 s), the member never syncs nor heartbeats: 6 s later it is gone.
    await waitFor(async () => {
      const d = await describe1(watcher, 'left');
      return d.groupState === 'Empty' && d.members.length === 0;
    }, 'the group to be empty', 15_000);
  });
});
