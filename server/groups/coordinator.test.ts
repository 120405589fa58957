import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { encodeConsumerProtocolSubscription, createConsumerProtocolSubscription } from '../../codec/generated/consumer-protocol.js';
import { Writer } from '../../codec/primitives/writer.js';
import { GroupCoordinator } from './coordinator.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { NEW_MEMBER_JOIN_TIMEOUT_MS } from './group.js';
import { MemoryOffsetStore } from '../../testing/memory-offset-store.js';
import type { CommitPartition, JoinParams, JoinResult, SyncParams } from './types.js';

const INITIAL_DELAY = 3000;
const SESSION = 10_000;
const REBALANCE = 30_000;

function subscription(topics: string[]): Buffer {
  const w = new Writer();
  w.int16(1);
  encodeConsumerProtocolSubscription(w, createConsumerProtocolSubscription({ topics }), 1);
  return w.toBuffer();
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Tracked<T> {
  done: boolean;
  value: T | undefined;
}

function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined };
  void p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

let clock: FakeClock;
let store: MemoryOffsetStore;
let coordinator: GroupCoordinator;
let ids = 0;

beforeEach(() => {
  clock = new FakeClock();
  store = new MemoryOffsetStore();
  ids = 0;
  coordinator = new GroupCoordinator({
    offsetStore: store,
    config: {
      initialRebalanceDelayMs: INITIAL_DELAY,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 1_800_000,
      offsetsRetentionMinutes: 60,
      offsetMetadataMaxBytes: 10,
    },
    logger: pino({ level: 'silent' }),
    now: clock.now,
    timers: clock,
    newMemberId: (prefix) => `${prefix}-${++ids}`,
  });
});

function joinParams(over: Partial<JoinParams> = {}): JoinParams {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t1']) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
    ...over,
  };
}

function syncParams(memberId: string, generationId: number, over: Partial<SyncParams> = {}): SyncParams {
  return {
    groupId: 'g',
    memberId,
    groupInstanceId: null,
    generationId,
    protocolType: null,
    protocolName: null,
    assignments: [],
    ...over,
  };
}

function heartbeat(memberId: string, generationId: number, groupInstanceId: string | null = null): number {
  return coordinator.heartbeat({ groupId: 'g', memberId, generationId, groupInstanceId });
}

/** Members join an empty group with the given client ids; returns their join results. */
async function joinAll(clientIds: string[], over: Partial<JoinParams> = {}): Promise<JoinResult[]> {
  const joins = clientIds.map((clientId) => track(coordinator.joinGroup(joinParams({ clientId, ...over }))));
  await tick();
  expect(joins.every((j) => !j.done)).toBe(true);
  return settleJoins(joins);
}

/**
 * Lets the initial rebalance delay run out: it restarts once after members that joined during
 * the first delay (Kafka's newMemberAdded), so two delays pass.
 */
async function settleJoins(joins: Tracked<JoinResult>[]): Promise<JoinResult[]> {
  clock.advance(INITIAL_DELAY);
  await tick();
  if (joins.length > 1) {
    expect(joins.some((j) => j.done)).toBe(false);
    clock.advance(INITIAL_DELAY);
    await tick();
  }
  expect(joins.every((j) => j.done)).toBe(true);
  return joins.map((j) => j.value!);
}

/** A Stable group whose leader assigned `assignment-<memberId>` to everyone. */
async function stableGroup(clientIds: string[], over: Partial<JoinParams> = {}): Promise<{ results: JoinResult[]; leader: string; generation: number }> {
  const results = await joinAll(clientIds, over);
  const leader = results[0]!.leader;
  const generation = results[0]!.generationId;
  const assignments = results.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`assignment-${r.memberId}`) }));
  const syncs = results.map((r) =>
    coordinator.syncGroup(syncParams(r.memberId, generation, { assignments: r.memberId === leader ? assignments : [] })),
  );
  for (const s of await Promise.all(syncs)) expect(s.errorCode).toBe(ErrorCode.NONE);
  expect(coordinator.group('g')!.state).toBe('Stable');
  return { results, leader, generation };
}

describe('JoinGroup', () => {
  it('asks a v4+ dynamic member for its member id first, then admits it after the initial delay', async () => {
    const first = await coordinator.joinGroup(joinParams({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toBe('client-1');
    expect(coordinator.group('g')!.state).toBe('Empty');

    const second = track(coordinator.joinGroup(joinParams({ memberId: first.memberId, requireKnownMemberId: true })));
    await tick();
    expect(second.done).toBe(false);
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
    clock.advance(INITIAL_DELAY);
    await tick();
    expect(second.value).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: 1,
      memberId: 'client-1',
      leader: 'client-1',
      protocolType: 'consumer',
      protocolName: 'range',
    });
    expect(second.value!.members.map((m) => m.memberId)).toEqual(['client-1']);
    expect(coordinator.group('g')!.state).toBe('CompletingRebalance');
  });

  it('forgets a pending member id that is not used within the session timeout', async () => {
    const first = await coordinator.joinGroup(joinParams({ requireKnownMemberId: true }));
    clock.advance(SESSION);
    const again = await coordinator.joinGroup(joinParams({ memberId: first.memberId, requireKnownMemberId: true }));
    expect(again.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('gives only the leader the member list; the first joiner leads', async () => {
    const [a, b] = await joinAll(['a', 'b']);
    expect(a!.leader).toBe('a-1');
    expect(b!.leader).toBe('a-1');
    expect(a!.members.map((m) => m.memberId)).toEqual(['a-1', 'b-2']);
    expect(b!.members).toEqual([]);
    expect(a!.generationId).toBe(1);
    expect(b!.generationId).toBe(1);
  });

  it('extends the initial delay while new members keep arriving, up to the rebalance timeout', async () => {
    const a = track(coordinator.joinGroup(joinParams({ clientId: 'a', rebalanceTimeoutMs: 7000 })));
    clock.advance(2000);
    const b = track(coordinator.joinGroup(joinParams({ clientId: 'b', rebalanceTimeoutMs: 7000 })));
    clock.advance(1000); // first delay ends; b arrived meanwhile: wait again
    await tick();
    expect(a.done).toBe(false);
    clock.advance(2999);
    await tick();
    expect(a.done).toBe(false);
    clock.advance(1);
    await tick();
    expect(a.value!.generationId).toBe(1);
    expect(b.value!.generationId).toBe(1);
  });

  it('selects the protocol every member supports with the most votes', async () => {
    const meta = Buffer.from([0, 0]);
    const results = await joinAll(['a', 'b', 'c'].map((x) => x), {});
    expect(results[0]!.protocolName).toBe('range');

    const g2 = 'votes';
    const joins = [
      [{ name: 'range', metadata: meta }, { name: 'roundrobin', metadata: meta }, { name: 'sticky', metadata: meta }],
      [{ name: 'roundrobin', metadata: meta }, { name: 'range', metadata: meta }],
      [{ name: 'sticky', metadata: meta }, { name: 'roundrobin', metadata: meta }, { name: 'range', metadata: meta }],
      [{ name: 'roundrobin', metadata: meta }, { name: 'range', metadata: meta }],
    ].map((protocols, i) => track(coordinator.joinGroup(joinParams({ groupId: g2, clientId: `m${i}`, protocols }))));
    await settleJoins(joins);
    // sticky is not supported by every member; roundrobin has 2 votes to range's 1 (and m2's vote goes to roundrobin).
    for (const j of joins) expect(j.value!.protocolName).toBe('roundrobin');
  });

  it('admits a member that lists one protocol twice, and the group selects that protocol', async () => {
    const meta = Buffer.from([0, 0]);
    const twice = [{ name: 'range', metadata: meta }, { name: 'range', metadata: meta }];
    const [join] = await settleJoins([track(coordinator.joinGroup(joinParams({ groupId: 'twice', protocols: twice })))]);
    expect(join!.errorCode).toBe(ErrorCode.NONE);
    expect(join!.protocolName).toBe('range');
  });

  it('refuses a member whose protocols share none with the group, or whose protocol type differs', async () => {
    await joinAll(['a']);
    const other = await coordinator.joinGroup(joinParams({ protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }));
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const type = await coordinator.joinGroup(joinParams({ protocolType: 'connect' }));
    expect(type.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const none = await coordinator.joinGroup(joinParams({ groupId: 'fresh', protocols: [] }));
    expect(none.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('validates the session timeout and the group id', async () => {
    expect((await coordinator.joinGroup(joinParams({ sessionTimeoutMs: 5999 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.joinGroup(joinParams({ sessionTimeoutMs: 1_800_001 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.joinGroup(joinParams({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(coordinator.group('g')).toBeUndefined();
  });

  it('rejects a member id the coordinator does not know', async () => {
    const r = await coordinator.joinGroup(joinParams({ memberId: 'stale-1' }));
    expect(r.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await stableGroup(['a']);
    const r2 = await coordinator.joinGroup(joinParams({ memberId: 'stale-1' }));
    expect(r2.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('returns the current generation to a follower rejoining a Stable group with unchanged metadata', async () => {
    const { results, generation } = await stableGroup(['a', 'b']);
    const again = await coordinator.joinGroup(joinParams({ clientId: 'b', memberId: results[1]!.memberId }));
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generation, leader: 'a-1', members: [] });
    expect(coordinator.group('g')!.state).toBe('Stable');
  });

  it('rebalances when the leader rejoins, completing as soon as every member has rejoined', async () => {
    const { results, generation } = await stableGroup(['a', 'b']);
    const leaderJoin = track(coordinator.joinGroup(joinParams({ clientId: 'a', memberId: results[0]!.memberId })));
    await tick();
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
    expect(heartbeat(results[1]!.memberId, generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(leaderJoin.done).toBe(false);
    const followerJoin = await coordinator.joinGroup(joinParams({ clientId: 'b', memberId: results[1]!.memberId }));
    expect(followerJoin.generationId).toBe(generation + 1);
    await tick();
    expect(leaderJoin.value!.generationId).toBe(generation + 1);
    expect(leaderJoin.value!.members).toHaveLength(2);
  });

  it('drops dynamic members that do not rejoin within the rebalance timeout', async () => {
    const { results, generation } = await stableGroup(['a', 'b']);
    const newcomer = track(coordinator.joinGroup(joinParams({ clientId: 'c' })));
    const aJoin = track(coordinator.joinGroup(joinParams({ clientId: 'a', memberId: results[0]!.memberId })));
    // b keeps heartbeating (so its session does not end) but never rejoins.
    for (let t = 0; t < REBALANCE; t += 5000) {
      clock.advance(5000);
      if (t + 5000 < REBALANCE) expect(heartbeat(results[1]!.memberId, generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    await tick();
    expect(aJoin.value!.generationId).toBe(generation + 1);
    expect(aJoin.value!.members.map((m) => m.memberId).sort()).toEqual(['a-1', 'c-3']);
    expect(newcomer.value!.errorCode).toBe(ErrorCode.NONE);
    expect(heartbeat(results[1]!.memberId, generation)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('SyncGroup', () => {
  it('holds followers until the leader sends the assignment, then hands each member its own', async () => {
    const [a, b] = await joinAll(['a', 'b']);
    const follower = track(coordinator.syncGroup(syncParams(b!.memberId, 1)));
    await tick();
    expect(follower.done).toBe(false);
    const leader = await coordinator.syncGroup(
      syncParams(a!.memberId, 1, {
        assignments: [
          { memberId: a!.memberId, assignment: Buffer.from('for-a') },
          { memberId: b!.memberId, assignment: Buffer.from('for-b') },
        ],
      }),
    );
    await tick();
    expect(leader).toMatchObject({ errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range' });
    expect(leader.assignment.toString()).toBe('for-a');
    expect(follower.value!.assignment.toString()).toBe('for-b');
    expect(coordinator.group('g')!.state).toBe('Stable');
    // A member that syncs late in a Stable group gets its assignment at once.
    const late = await coordinator.syncGroup(syncParams(b!.memberId, 1));
    expect(late.assignment.toString()).toBe('for-b');
  });

  it('gives members the leader left out an empty assignment', async () => {
    const [a, b] = await joinAll(['a', 'b']);
    const follower = coordinator.syncGroup(syncParams(b!.memberId, 1));
    await coordinator.syncGroup(syncParams(a!.memberId, 1, { assignments: [{ memberId: a!.memberId, assignment: Buffer.from('x') }] }));
    expect((await follower).assignment.length).toBe(0);
  });

  it('checks member, generation, protocol type and name, and the rebalance state', async () => {
    const [a] = await joinAll(['a']);
    expect((await coordinator.syncGroup(syncParams('nobody', 1))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.syncGroup(syncParams(a!.memberId, 7))).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await coordinator.syncGroup(syncParams(a!.memberId, 1, { protocolType: 'connect' }))).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await coordinator.syncGroup(syncParams(a!.memberId, 1, { protocolName: 'roundrobin' }))).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await coordinator.syncGroup({ ...syncParams(a!.memberId, 1), groupId: 'unknown' })).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    const ok = await coordinator.syncGroup(syncParams(a!.memberId, 1, { protocolType: 'consumer', protocolName: 'range' }));
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    // A new member starts a rebalance: a sync for the old generation is now refused.
    void coordinator.joinGroup(joinParams({ clientId: 'b' }));
    expect((await coordinator.syncGroup(syncParams(a!.memberId, 1))).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('answers waiting followers with REBALANCE_IN_PROGRESS when a rebalance starts before the leader syncs', async () => {
    const [, b] = await joinAll(['a', 'b']);
    const follower = track(coordinator.syncGroup(syncParams(b!.memberId, 1)));
    void coordinator.joinGroup(joinParams({ clientId: 'c' }));
    await tick();
    expect(follower.value!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('removes members that never send SyncGroup and rebalances', async () => {
    const [a, b] = await joinAll(['a', 'b']);
    await coordinator.syncGroup(
      syncParams(a!.memberId, 1, { assignments: [{ memberId: a!.memberId, assignment: Buffer.from('x') }] }),
    );
    expect(coordinator.group('g')!.state).toBe('Stable');
    // Both keep their sessions alive; b never asks for its assignment.
    for (let t = 5000; t < REBALANCE; t += 5000) {
      clock.advance(5000);
      expect(heartbeat(a!.memberId, 1)).toBe(ErrorCode.NONE);
      expect(heartbeat(b!.memberId, 1)).toBe(ErrorCode.NONE);
    }
    clock.advance(4999);
    expect(coordinator.group('g')!.has(b!.memberId)).toBe(true);
    clock.advance(1);
    expect(coordinator.group('g')!.has(b!.memberId)).toBe(false);
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
    expect(heartbeat(a!.memberId, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });
});

describe('Heartbeat and session timeouts', () => {
  it('answers errors for unknown groups, unknown members and stale generations', async () => {
    expect(heartbeat('x', 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const { results, generation } = await stableGroup(['a']);
    expect(heartbeat(results[0]!.memberId, generation)).toBe(ErrorCode.NONE);
    expect(heartbeat('x', generation)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(heartbeat(results[0]!.memberId, generation - 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat({ groupId: '', memberId: 'x', generationId: 0, groupInstanceId: null })).toBe(
      ErrorCode.INVALID_GROUP_ID,
    );
  });

  it('expires a silent member after its session timeout and rebalances the rest', async () => {
    const { results, generation } = await stableGroup(['a', 'b']);
    const [a, b] = results;
    clock.advance(SESSION / 2);
    expect(heartbeat(a!.memberId, generation)).toBe(ErrorCode.NONE);
    clock.advance(SESSION / 2 - 1);
    expect(heartbeat(a!.memberId, generation)).toBe(ErrorCode.NONE);
    expect(coordinator.group('g')!.has(b!.memberId)).toBe(true);
    // b has been silent for a whole session: gone, and a is told to rejoin.
    clock.advance(1);
    expect(coordinator.group('g')!.has(b!.memberId)).toBe(false);
    expect(heartbeat(a!.memberId, generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinParams({ clientId: 'a', memberId: a!.memberId }));
    expect(rejoin.generationId).toBe(generation + 1);
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });

  it('lets the group go Empty, with a new generation, when its last member expires', async () => {
    const { generation } = await stableGroup(['a']);
    clock.advance(SESSION);
    const g = coordinator.group('g')!;
    expect(g.state).toBe('Empty');
    expect(g.generationId).toBe(generation + 1);
    expect(g.protocolType).toBe('consumer');
  });

  it('removes a new member whose join never completes after five minutes', async () => {
    const { results, generation } = await stableGroup(['a'], { rebalanceTimeoutMs: 600_000, sessionTimeoutMs: 600_000 });
    const newcomer = track(coordinator.joinGroup(joinParams({ clientId: 'b', rebalanceTimeoutMs: 600_000, sessionTimeoutMs: 600_000 })));
    clock.advance(NEW_MEMBER_JOIN_TIMEOUT_MS);
    await tick();
    expect(newcomer.value!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(heartbeat(results[0]!.memberId, generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });
});

describe('LeaveGroup', () => {
  it('removes members in a batch with an error per member', async () => {
    const { results } = await stableGroup(['a', 'b'], {});
    const r = coordinator.leaveGroup('g', [
      { memberId: results[1]!.memberId, groupInstanceId: null, reason: 'shutdown' },
      { memberId: 'ghost', groupInstanceId: null, reason: null },
      { memberId: '', groupInstanceId: 'no-such-instance', reason: null },
    ]);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
  });

  it('takes the group to Empty when the last member leaves, and answers unknown groups per member', async () => {
    const { results, generation } = await stableGroup(['a']);
    expect(coordinator.leaveGroup('g', [{ memberId: results[0]!.memberId, groupInstanceId: null, reason: null }]).members[0]!.errorCode).toBe(
      ErrorCode.NONE,
    );
    expect(coordinator.group('g')!.state).toBe('Empty');
    expect(coordinator.group('g')!.generationId).toBe(generation + 1);
    const unknown = coordinator.leaveGroup('other', [{ memberId: 'x', groupInstanceId: null, reason: null }]);
    expect(unknown).toEqual({ errorCode: ErrorCode.NONE, members: [{ memberId: 'x', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }] });
  });

  it('lets a pending member (MEMBER_ID_REQUIRED) leave', async () => {
    const first = await coordinator.joinGroup(joinParams({ requireKnownMemberId: true }));
    const r = coordinator.leaveGroup('g', [{ memberId: first.memberId, groupInstanceId: null, reason: null }]);
    expect(r.members[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await coordinator.joinGroup(joinParams({ memberId: first.memberId }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('static membership', () => {
  it('gives a restarted static member its slot and assignment back without a rebalance, fencing the old id', async () => {
    const a = track(coordinator.joinGroup(joinParams({ clientId: 'a', groupInstanceId: 'inst-a' })));
    const b = track(coordinator.joinGroup(joinParams({ clientId: 'b', groupInstanceId: 'inst-b' })));
    await settleJoins([a, b]);
    const leader = a.value!;
    expect(leader.memberId).toBe('inst-a-1');
    expect(leader.members.map((m) => m.groupInstanceId)).toEqual(['inst-a', 'inst-b']);
    const followerSync = coordinator.syncGroup(syncParams(b.value!.memberId, 1, { groupInstanceId: 'inst-b' }));
    await coordinator.syncGroup(
      syncParams(leader.memberId, 1, {
        groupInstanceId: 'inst-a',
        assignments: [
          { memberId: leader.memberId, assignment: Buffer.from('pa') },
          { memberId: b.value!.memberId, assignment: Buffer.from('pb') },
        ],
      }),
    );
    expect((await followerSync).assignment.toString()).toBe('pb');

    // inst-b restarts: joins with no member id and the same instance id.
    const rejoin = await coordinator.joinGroup(joinParams({ clientId: 'b', groupInstanceId: 'inst-b' }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, memberId: 'inst-b-3', leader: leader.memberId, members: [] });
    expect(coordinator.group('g')!.state).toBe('Stable');
    const sync = await coordinator.syncGroup(syncParams('inst-b-3', 1, { groupInstanceId: 'inst-b' }));
    expect(sync.assignment.toString()).toBe('pb');
    expect(heartbeat(b.value!.memberId, 1, 'inst-b')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(heartbeat('inst-b-3', 1, 'inst-b')).toBe(ErrorCode.NONE);
    expect(heartbeat(leader.memberId, 1, 'inst-a')).toBe(ErrorCode.NONE);
  });

  it('tells a restarted static leader it leads but must skip the assignment (v9), or hides the lead before v9', async () => {
    const { results } = await stableGroup(['a', 'b'], { groupInstanceId: null });
    void results;
    const joins = ['x', 'y'].map((inst) => track(coordinator.joinGroup(joinParams({ groupId: 's', clientId: inst, groupInstanceId: inst }))));
    await settleJoins(joins);
    const leaderId = joins[0]!.value!.memberId;
    await coordinator.syncGroup({ ...syncParams(leaderId, 1, { groupInstanceId: 'x' }), groupId: 's' });

    const v9 = await coordinator.joinGroup(joinParams({ groupId: 's', clientId: 'x', groupInstanceId: 'x', supportSkippingAssignment: true }));
    expect(v9.skipAssignment).toBe(true);
    expect(v9.leader).toBe(v9.memberId);
    expect(v9.members).toHaveLength(2);

    const old = await coordinator.joinGroup(joinParams({ groupId: 's', clientId: 'x', groupInstanceId: 'x' }));
    expect(old.skipAssignment).toBe(false);
    expect(old.leader).toBe(v9.memberId); // the previous leader id, not the new member id
    expect(old.leader).not.toBe(old.memberId);
    expect(old.members).toEqual([]);
    expect(coordinator.group('s')!.state).toBe('Stable');
  });

  it('fences the old member id of a replaced static member on every API', async () => {
    const first = track(coordinator.joinGroup(joinParams({ groupInstanceId: 'i' })));
    clock.advance(INITIAL_DELAY);
    await tick();
    const oldId = first.value!.memberId;
    const sync = await coordinator.syncGroup(syncParams(oldId, 1, { groupInstanceId: 'i', assignments: [] }));
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    await coordinator.joinGroup(joinParams({ groupInstanceId: 'i' }));
    expect((await coordinator.syncGroup(syncParams(oldId, 1, { groupInstanceId: 'i' }))).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await coordinator.joinGroup(joinParams({ memberId: oldId, groupInstanceId: 'i' }))).errorCode).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    const commit = await coordinator.commitOffsets({
      groupId: 'g',
      memberId: oldId,
      groupInstanceId: 'i',
      generationId: 1,
      retentionTimeMs: -1,
      partitions: [commitPartition('t1', 0, 5n)],
    });
    expect(commit[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const leave = coordinator.leaveGroup('g', [{ memberId: oldId, groupInstanceId: 'i', reason: null }]);
    expect(leave.members[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    // Admin removal by instance id alone.
    const byInstance = coordinator.leaveGroup('g', [{ memberId: '', groupInstanceId: 'i', reason: null }]);
    expect(byInstance.members[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('g')!.size).toBe(0);
  });

  it('keeps a static member that misses a rebalance until its session times out', async () => {
    const joins = ['x', 'y'].map((inst) => track(coordinator.joinGroup(joinParams({ clientId: inst, groupInstanceId: inst }))));
    await settleJoins(joins);
    const [x, y] = joins.map((j) => j.value!);
    const ySync = coordinator.syncGroup(syncParams(y!.memberId, 1, { groupInstanceId: 'y' }));
    await coordinator.syncGroup(syncParams(x!.memberId, 1, { groupInstanceId: 'x', assignments: [] }));
    await ySync;
    // x rejoins with new metadata; y is away (no heartbeats) and does not rejoin.
    const xJoin = track(
      coordinator.joinGroup(joinParams({ clientId: 'x', memberId: x!.memberId, groupInstanceId: 'x', protocols: [{ name: 'range', metadata: subscription(['t2']) }] })),
    );
    clock.advance(SESSION - 1);
    expect(heartbeat(x!.memberId, 1, 'x')).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    clock.advance(1);
    await tick();
    // y's session ended first: the join phase completes with x alone.
    expect(xJoin.value!.members.map((m) => m.groupInstanceId)).toEqual(['x']);
  });
});

function commitPartition(topic: string, partition: number, offset: bigint, metadata: string | null = null): CommitPartition {
  return { topic, partition, offset, leaderEpoch: -1, metadata, commitTimestamp: -1 };
}

describe('offsets', () => {
  it('accepts simple commits (generation -1) for a group without members and fetches them back', async () => {
    const r = await coordinator.commitOffsets({
      groupId: 'simple',
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      retentionTimeMs: -1,
      partitions: [commitPartition('t1', 0, 42n, 'meta'), commitPartition('t1', 1, 7n)],
    });
    expect(r.map((x) => x.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    expect(coordinator.group('simple')!.state).toBe('Empty');
    const f = await coordinator.fetchOffsets('simple', [{ topic: 't1', partitions: [0, 1, 2] }, { topic: 'other', partitions: [0] }]);
    expect(f.errorCode).toBe(ErrorCode.NONE);
    expect(f.offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([
      ['t1', 0, 42n, 'meta'],
      ['t1', 1, 7n, ''],
      ['t1', 2, -1n, ''],
      ['other', 0, -1n, ''],
    ]);
    const all = await coordinator.fetchOffsets('simple', null);
    expect(all.offsets.map((o) => o.partition)).toEqual([0, 1]);
    expect((await coordinator.fetchOffsets('nobody', null)).offsets).toEqual([]);
  });

  it('refuses commits with a generation for unknown groups and from stale or unknown members', async () => {
    const base = { groupId: 'g', memberId: 'm', groupInstanceId: null, retentionTimeMs: -1, partitions: [commitPartition('t1', 0, 1n)] };
    expect((await coordinator.commitOffsets({ ...base, generationId: 1 }))[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const { results, generation } = await stableGroup(['a']);
    const member = results[0]!.memberId;
    expect((await coordinator.commitOffsets({ ...base, generationId: generation }))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.commitOffsets({ ...base, memberId: member, generationId: generation + 1 }))[0]!.errorCode).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
    // Group-less commit into an active group: refused.
    expect((await coordinator.commitOffsets({ ...base, memberId: '', generationId: -1 }))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.commitOffsets({ ...base, memberId: member, generationId: generation }))[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('refuses a commit with a generation for a group known only by its stored offsets as UNKNOWN_MEMBER_ID', async () => {
    await store.commit('old', [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: null }]);
    const r = await coordinator.commitOffsets({ groupId: 'old', memberId: 'm', groupInstanceId: null, generationId: 3, retentionTimeMs: -1, partitions: [commitPartition('t', 0, 2n)] });
    expect(r[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers REBALANCE_IN_PROGRESS to a commit between join and sync, and accepts one while preparing', async () => {
    const [a] = await joinAll(['a']);
    const commit = { groupId: 'g', memberId: a!.memberId, groupInstanceId: null, generationId: 1, retentionTimeMs: -1, partitions: [commitPartition('t1', 0, 1n)] };
    expect((await coordinator.commitOffsets(commit))[0]!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await coordinator.syncGroup(syncParams(a!.memberId, 1, { assignments: [] }));
    void coordinator.joinGroup(joinParams({ clientId: 'b' }));
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
    expect((await coordinator.commitOffsets(commit))[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('refuses metadata over offset.metadata.max.bytes per partition and keeps the others', async () => {
    const r = await coordinator.commitOffsets({
      groupId: 'g',
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      retentionTimeMs: -1,
      partitions: [commitPartition('t1', 0, 1n, '0123456789'), commitPartition('t1', 1, 1n, '0123456789X')],
    });
    expect(r.map((x) => x.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    expect((await store.fetch('g', null)).map((o) => o.partition)).toEqual([0]);
  });

  it('stores commit and expiry timestamps from the request as Kafka computes them', async () => {
    const now = clock.now();
    await coordinator.commitOffsets({
      groupId: 'g',
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      retentionTimeMs: 60_000,
      partitions: [{ ...commitPartition('t1', 0, 1n), commitTimestamp: 1234, leaderEpoch: 5 }, commitPartition('t1', 1, 2n)],
    });
    const rows = await store.fetch('g', null);
    expect(rows.map((o) => [o.commitTimestamp, o.expireTimestamp, o.leaderEpoch])).toEqual([
      [1234, now + 60_000, 5],
      [now, now + 60_000, -1],
    ]);
  });

  it('reports COORDINATOR_NOT_AVAILABLE when the store fails', async () => {
    store.failWith = new Error('connection lost');
    const r = await coordinator.commitOffsets({ groupId: 'g', memberId: '', groupInstanceId: null, generationId: -1, retentionTimeMs: -1, partitions: [commitPartition('t', 0, 1n)] });
    expect(r[0]!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await coordinator.fetchOffsets('g', null)).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  it('expires offsets of empty groups after the retention, keeping those of a stable group subscribed topics', async () => {
    const simpleCommit = (groupId: string, topic: string) =>
      coordinator.commitOffsets({ groupId, memberId: '', groupInstanceId: null, generationId: -1, retentionTimeMs: -1, partitions: [commitPartition(topic, 0, 1n)] });
    const { results, generation } = await stableGroup(['a']);
    const member = results[0]!.memberId;
    await coordinator.commitOffsets({ groupId: 'g', memberId: member, groupInstanceId: null, generationId: generation, retentionTimeMs: -1, partitions: [commitPartition('t1', 0, 1n), commitPartition('gone', 0, 1n)] });
    await simpleCommit('simple', 't1');
    const retention = 60 * 60_000;
    for (let t = 0; t < retention; t += SESSION / 2) {
      clock.advance(SESSION / 2);
      heartbeat(member, generation);
    }
    expect(await coordinator.expireOffsets()).toBe(2); // simple's, and g's unsubscribed 'gone'
    expect((await store.fetch('g', null)).map((o) => o.topic)).toEqual(['t1']);
    expect(coordinator.group('simple')).toBeUndefined();
    // g becomes empty: its offsets go one retention later.
    coordinator.leaveGroup('g', [{ memberId: member, groupInstanceId: null, reason: null }]);
    clock.advance(retention - 1);
    expect(await coordinator.expireOffsets()).toBe(0);
    clock.advance(1);
    expect(await coordinator.expireOffsets()).toBe(1);
    expect(coordinator.group('g')).toBeUndefined();
  });
});

describe('group administration', () => {
  it('lists groups in memory and groups known only by offsets, with a state filter', async () => {
    await stableGroup(['a']);
    await store.commit('restored', [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: null }]);
    const all = await coordinator.listGroups();
    expect(all).toEqual([
      { groupId: 'g', protocolType: 'consumer', state: 'Stable' },
      { groupId: 'restored', protocolType: '', state: 'Empty' },
    ]);
    expect((await coordinator.listGroups(['empty'])).map((g) => g.groupId)).toEqual(['restored']);
    expect((await coordinator.listGroups(['Stable', 'PreparingRebalance'])).map((g) => g.groupId)).toEqual(['g']);
  });

  it('describes a stable group with members, metadata and assignments; unknown groups as Dead', async () => {
    const { results } = await stableGroup(['a']);
    const [g, unknown] = await coordinator.describeGroups(['g', 'nope']);
    expect(g).toMatchObject({ groupId: 'g', errorCode: 0, state: 'Stable', protocolType: 'consumer', protocolName: 'range' });
    expect(g!.members).toHaveLength(1);
    expect(g!.members[0]).toMatchObject({ memberId: results[0]!.memberId, clientId: 'a', clientHost: '/127.0.0.1' });
    expect(g!.members[0]!.assignment.toString()).toBe(`assignment-${results[0]!.memberId}`);
    expect(g!.members[0]!.metadata.equals(subscription(['t1']))).toBe(true);
    expect(unknown).toMatchObject({ groupId: 'nope', errorCode: 0, state: 'Dead', members: [] });
  });

  it('deletes empty groups with their offsets, refusing active and unknown ones', async () => {
    await stableGroup(['a']);
    await coordinator.commitOffsets({ groupId: 'idle', memberId: '', groupInstanceId: null, generationId: -1, retentionTimeMs: -1, partitions: [commitPartition('t', 0, 1n)] });
    await store.commit('restored', [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1, expireTimestamp: null }]);
    const r = await coordinator.deleteGroups(['g', 'idle', 'restored', 'missing']);
    expect(r).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'restored', errorCode: ErrorCode.NONE },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    expect((await store.listGroups()).map((s) => s.groupId)).toEqual([]);
    expect(coordinator.group('idle')).toBeUndefined();
  });

  it('deletes offsets of topics the group does not subscribe to (OffsetDelete)', async () => {
    const { results, generation } = await stableGroup(['a']);
    await coordinator.commitOffsets({
      groupId: 'g',
      memberId: results[0]!.memberId,
      groupInstanceId: null,
      generationId: generation,
      retentionTimeMs: -1,
      partitions: [commitPartition('t1', 0, 1n), commitPartition('t9', 0, 1n)],
    });
    const r = await coordinator.deleteOffsets('g', [
      { topic: 't1', partitions: [0] },
      { topic: 't9', partitions: [0] },
    ]);
    expect(r).toEqual({
      errorCode: ErrorCode.NONE,
      partitions: [
        { topic: 't1', partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC },
        { topic: 't9', partition: 0, errorCode: ErrorCode.NONE },
      ],
    });
    expect((await store.fetch('g', null)).map((o) => o.topic)).toEqual(['t1']);
    expect((await coordinator.deleteOffsets('missing', [{ topic: 't', partitions: [0] }])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('refuses OffsetDelete on a non-empty group of another protocol type', async () => {
    await stableGroup(['a'], { protocolType: 'connect', protocols: [{ name: 'v1', metadata: Buffer.from('x') }] });
    expect((await coordinator.deleteOffsets('g', [{ topic: 't', partitions: [0] }])).errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
  });

  it('removes offsets of deleted topics from every group', async () => {
    for (const g of ['g1', 'g2']) {
      await coordinator.commitOffsets({ groupId: g, memberId: '', groupInstanceId: null, generationId: -1, retentionTimeMs: -1, partitions: [commitPartition('doomed', 0, 1n), commitPartition('kept', 0, 1n)] });
    }
    await coordinator.onTopicsDeleted(['doomed']);
    expect((await store.fetch('g1', null)).map((o) => o.topic)).toEqual(['kept']);
    expect((await store.fetch('g2', null)).map((o) => o.topic)).toEqual(['kept']);
  });

  it('answers requests still waiting when it closes', async () => {
    const join = coordinator.joinGroup(joinParams());
    coordinator.close();
    expect((await join).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(clock.timerCount).toBe(0);
  });
});
