/**
 * Static members (KIP-345) that stop without leaving, on a hand-driven clock: they stay
 * through a restart's worth of silence (no rebalance), and their session timeout removes them,
 * in every phase a group can be in when they stop, until the group is Empty, as in Kafka.
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { MemoryOffsetStore } from '../../testing/memory-offset-store.js';
import { GroupCoordinator } from './coordinator.js';
import type { JoinParams, JoinResult } from './types.js';

const SESSION = 10_000;
const REBALANCE = 300_000; // librdkafka's max.poll.interval.ms default: far longer than a session
const DELAY = 3000;

let clock: FakeClock;
let coordinator: GroupCoordinator;

beforeEach(() => {
  clock = new FakeClock();
  let ids = 0;
  coordinator = new GroupCoordinator({
    offsetStore: new MemoryOffsetStore(),
    config: { initialRebalanceDelayMs: DELAY, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 1_800_000, offsetsRetentionMinutes: 60, offsetMetadataMaxBytes: 4096 },
    logger: pino({ level: 'silent' }),
    now: clock.now,
    timers: clock,
    newMemberId: (prefix) => `${prefix}-${++ids}`,
  });
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function join(instance: string, over: Partial<JoinParams> = {}): Promise<JoinResult> {
  return coordinator.joinGroup({
    groupId: 'g',
    memberId: '',
    groupInstanceId: instance,
    clientId: instance,
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([0, 0]) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
    ...over,
  });
}

function sync(r: JoinResult, instance: string, assign: boolean) {
  return coordinator.syncGroup({
    groupId: 'g',
    memberId: r.memberId,
    groupInstanceId: instance,
    generationId: r.generationId,
    protocolType: null,
    protocolName: null,
    assignments: assign ? [{ memberId: r.memberId, assignment: Buffer.from('x') }] : [],
  });
}

/** Three static members through the initial delay (extended once for the later joiners). */
async function threeJoined(): Promise<JoinResult[]> {
  const joins = ['a', 'b', 'c'].map((i) => join(i));
  await tick();
  clock.advance(DELAY);
  await tick();
  clock.advance(DELAY);
  return Promise.all(joins);
}

const group = () => coordinator.group('g')!;

describe('static members that stop without leaving', () => {
  it('stay while silent for less than a session, then are removed together and the group is Empty', async () => {
    const [a, b, c] = await threeJoined();
    await Promise.all([sync(a!, 'a', true), sync(b!, 'b', false), sync(c!, 'c', false)]);
    expect(group().state).toBe('Stable');
    clock.advance(SESSION - 1);
    expect(group().state).toBe('Stable');
    expect(group().size).toBe(3);
    clock.advance(1);
    expect(group().size).toBe(0);
    expect(group().state).toBe('Empty');
    expect(group().generationId).toBe(2);
  });

  it('are removed when they stop between JoinGroup and SyncGroup (no SyncGroup sent), long before the rebalance timeout', async () => {
    await threeJoined();
    expect(group().state).toBe('CompletingRebalance');
    clock.advance(SESSION);
    expect(group().state).toBe('Empty');
    expect(group().size).toBe(0);
  });

  it('are removed when they stop while their SyncGroup waits for a leader that stopped too', async () => {
    const [a, b, c] = await threeJoined();
    const leader = [a!, b!, c!].find((r) => r.members.length > 0)!;
    const followers = [a!, b!, c!].filter((r) => r !== leader);
    const waiting = followers.map((r) => sync(r, r.memberId.split('-')[0]!, false));
    // The leader never syncs: its session ends, the waiting syncs are answered, then theirs end.
    clock.advance(SESSION);
    for (const s of await Promise.all(waiting)) expect(s.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(group().size).toBe(2);
    clock.advance(SESSION);
    expect(group().state).toBe('Empty');
    expect(group().size).toBe(0);
  });

  it('are removed when one stops with its JoinGroup waiting in a rebalance the others never join', async () => {
    const [a, b, c] = await threeJoined();
    await Promise.all([sync(a!, 'a', true), sync(b!, 'b', false), sync(c!, 'c', false)]);
    // a rejoins with new metadata (a rebalance) and then stops with that JoinGroup unanswered;
    // b and c have already stopped.
    const rejoin = join('a', { memberId: a!.memberId, protocols: [{ name: 'range', metadata: Buffer.from([0, 1]) }] });
    expect(group().state).toBe('PreparingRebalance');
    clock.advance(SESSION);
    // b and c expired; a, the only member left, had rejoined: the join phase ends with it alone.
    expect((await rejoin).members.map((m) => m.groupInstanceId)).toEqual(['a']);
    expect(group().state).toBe('CompletingRebalance');
    clock.advance(SESSION);
    expect(group().state).toBe('Empty');
  });
});
