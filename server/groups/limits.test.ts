/**
 * The group limits on a hand-driven clock: group.max.size (Kafka's acceptJoiningMember), and
 * group.member.metadata.max.bytes / group.metadata.max.bytes, which bound what one member may
 * send and what a group (and so its leader's JoinGroup response) may hold.
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { MemoryOffsetStore } from '../../testing/memory-offset-store.js';
import { GroupCoordinator } from './coordinator.js';
import type { GroupCoordinatorConfig, JoinParams, JoinResult } from './types.js';

const SESSION = 10_000;
const REBALANCE = 30_000;

let clock: FakeClock;
let coordinator: GroupCoordinator;

function start(limits: Partial<GroupCoordinatorConfig>): void {
  clock = new FakeClock();
  let ids = 0;
  coordinator = new GroupCoordinator({
    offsetStore: new MemoryOffsetStore(),
    config: {
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 1_800_000,
      offsetsRetentionMinutes: 60,
      offsetMetadataMaxBytes: 4096,
      ...limits,
    },
    logger: pino({ level: 'silent' }),
    now: clock.now,
    timers: clock,
    newMemberId: (prefix) => `${prefix}-${++ids}`,
  });
}

beforeEach(() => start({}));

/** Metadata of exactly `n` bytes; with the 5-byte protocol name 'range' a member's protocol bytes are n + 5. */
const metadata = (n: number): Buffer => Buffer.alloc(n, 7);

function joinParams(over: Partial<JoinParams> = {}): JoinParams {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: metadata(10) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
    ...over,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Joins members with the given client ids into group 'g' and lets the join phase end. */
async function joinAll(clientIds: string[], over: Partial<JoinParams> = {}): Promise<JoinResult[]> {
  const joins = clientIds.map((clientId) => coordinator.joinGroup(joinParams({ clientId, ...over })));
  await tick();
  clock.advance(0);
  return Promise.all(joins);
}

/** Takes a group whose join phase ended to Stable (the leader assigns nothing). */
async function sync(results: JoinResult[]): Promise<void> {
  const leader = results.find((r) => r.members.length > 0)!;
  const syncs = results.map((r) =>
    coordinator.syncGroup({
      groupId: 'g',
      memberId: r.memberId,
      groupInstanceId: null,
      generationId: r.generationId,
      protocolType: null,
      protocolName: null,
      assignments: r === leader ? results.map((x) => ({ memberId: x.memberId, assignment: Buffer.from('a') })) : [],
    }),
  );
  for (const s of await Promise.all(syncs)) expect(s.errorCode).toBe(ErrorCode.NONE);
  expect(coordinator.group('g')!.state).toBe('Stable');
}

describe('group.max.size', () => {
  beforeEach(() => start({ maxSize: 2 }));

  it('turns a third member away from a Stable group with GROUP_MAX_SIZE_REACHED and an empty member id', async () => {
    const results = await joinAll(['a', 'b']);
    expect(results.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    await sync(results);
    const third = await coordinator.joinGroup(joinParams({ clientId: 'c' }));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '', generationId: -1 });
    const group = coordinator.group('g')!;
    expect(group.state).toBe('Stable');
    expect(group.memberIds()).toEqual(['a-1', 'b-2']);
    expect(group.generationId).toBe(1);
  });

  it('turns away a third member during the join phase, and admits known members rejoining', async () => {
    const joins = ['a', 'b'].map((clientId) => coordinator.joinGroup(joinParams({ clientId })));
    // Still preparing (the initial delay has not run): two are waiting, the third is refused.
    const third = await coordinator.joinGroup(joinParams({ clientId: 'c' }));
    expect(third.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    clock.advance(0);
    const results = await Promise.all(joins);
    await sync(results);
    // A known member rejoining a full Stable group is accepted (it starts a rebalance).
    const again = coordinator.joinGroup(joinParams({ clientId: 'a', memberId: 'a-1', protocols: [{ name: 'range', metadata: metadata(11) }] }));
    expect(coordinator.group('g')!.state).toBe('PreparingRebalance');
    const b = await coordinator.joinGroup(joinParams({ clientId: 'b', memberId: 'b-2' }));
    expect((await again).errorCode).toBe(ErrorCode.NONE);
    expect(b.generationId).toBe(2);
  });

  it('refuses the pending member id of a MEMBER_ID_REQUIRED join when the group filled meanwhile, and forgets it', async () => {
    await sync(await joinAll(['a']));
    const pending = await coordinator.joinGroup(joinParams({ clientId: 'p', requireKnownMemberId: true }));
    expect(pending.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const b = coordinator.joinGroup(joinParams({ clientId: 'b' }));
    // b's join made the group PreparingRebalance with a (not yet rejoined) and b waiting: one
    // waits, so the pending id still fits; after a rejoins, two wait and it does not.
    const a = coordinator.joinGroup(joinParams({ clientId: 'a', memberId: 'a-1' }));
    const refused = await coordinator.joinGroup(joinParams({ clientId: 'p', memberId: pending.memberId, requireKnownMemberId: true }));
    expect(refused).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(coordinator.group('g')!.isPending(pending.memberId)).toBe(false);
    expect((await a).errorCode).toBe(ErrorCode.NONE);
    expect((await b).errorCode).toBe(ErrorCode.NONE);
    expect(coordinator.group('g')!.size).toBe(2);
  });

  it('counts a restarted static member as new, as Kafka does: refused when the group is full', async () => {
    const joins = ['x', 'y'].map((inst) => coordinator.joinGroup(joinParams({ clientId: inst, groupInstanceId: inst })));
    await tick();
    clock.advance(0);
    await sync(await Promise.all(joins));
    const restarted = await coordinator.joinGroup(joinParams({ clientId: 'x', groupInstanceId: 'x' }));
    expect(restarted.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect(coordinator.group('g')!.staticMemberId('x')).toBe('x-1');
  });
});

describe('protocol metadata limits', () => {
  it('refuses a member whose protocol names and metadata pass group.member.metadata.max.bytes with INVALID_REQUEST', async () => {
    start({ memberMetadataMaxBytes: 100 });
    const over = await coordinator.joinGroup(joinParams({ protocols: [{ name: 'range', metadata: metadata(96) }] }));
    expect(over).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, memberId: '' });
    expect(coordinator.group('g')).toBeUndefined();
    // Names count too: two protocols of 45 + 5 bytes are exactly 100.
    const two = [
      { name: 'range', metadata: metadata(45) },
      { name: 'round', metadata: metadata(45) },
    ];
    const fits = await joinAll(['a'], { protocols: two });
    expect(fits[0]!.errorCode).toBe(ErrorCode.NONE);
    const oneMore = await coordinator.joinGroup(joinParams({ memberId: 'a-1', protocols: [two[0]!, { name: 'round', metadata: metadata(46) }] }));
    expect(oneMore.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('refuses a member that would take the group past group.metadata.max.bytes with GROUP_MAX_SIZE_REACHED', async () => {
    start({ groupMetadataMaxBytes: 300 });
    // Three members of 95 + 5 bytes: 300, exactly the limit.
    const results = await joinAll(['a', 'b', 'c'], { protocols: [{ name: 'range', metadata: metadata(95) }] });
    expect(results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    await sync(results);
    const leader = results[0]!;
    expect(leader.members.reduce((n, m) => n + m.metadata.length, 0)).toBe(285);
    const fourth = await coordinator.joinGroup(joinParams({ clientId: 'd', protocols: [{ name: 'range', metadata: metadata(0) }] }));
    expect(fourth).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(coordinator.group('g')!.size).toBe(3);
    expect(coordinator.group('g')!.state).toBe('Stable');
  });

  it('counts a member\'s new metadata in place of its old; one that grows past the limit is removed and the group rebalances', async () => {
    start({ groupMetadataMaxBytes: 300 });
    const results = await joinAll(['a', 'b'], { protocols: [{ name: 'range', metadata: metadata(95) }] });
    await sync(results);
    // b: 100 -> 195 bytes, total 295: fits (its old 100 are not counted twice).
    const grow = coordinator.joinGroup(joinParams({ clientId: 'b', memberId: 'b-2', protocols: [{ name: 'range', metadata: metadata(190) }] }));
    const a = await coordinator.joinGroup(joinParams({ clientId: 'a', memberId: 'a-1', protocols: [{ name: 'range', metadata: metadata(95) }] }));
    expect((await grow).errorCode).toBe(ErrorCode.NONE);
    await sync([a, await grow]);
    // a: 100 -> 106 bytes, total 301: refused and removed; b alone is the next generation.
    const tooBig = await coordinator.joinGroup(joinParams({ clientId: 'a', memberId: 'a-1', protocols: [{ name: 'range', metadata: metadata(101) }] }));
    expect(tooBig).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    const group = coordinator.group('g')!;
    expect(group.memberIds()).toEqual(['b-2']);
    expect(group.state).toBe('PreparingRebalance');
    const b = await coordinator.joinGroup(joinParams({ clientId: 'b', memberId: 'b-2', protocols: [{ name: 'range', metadata: metadata(190) }] }));
    expect(b).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 3, leader: 'b-2' });
    // The bytes of the removed member are free again: a fits once more as a new member.
    const back = coordinator.joinGroup(joinParams({ clientId: 'a', protocols: [{ name: 'range', metadata: metadata(95) }] }));
    expect(coordinator.group('g')!.size).toBe(2);
    void back;
  });
});
