/**
 * The group coordinator with several brokers: it answers NOT_COORDINATOR for groups placed on
 * another broker, and unloads a group that moved away (its waiting requests answered
 * NOT_COORDINATOR) so its members look the coordinator up again.
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { MemoryOffsetStore } from '../../testing/memory-offset-store.js';
import { GroupCoordinator } from './coordinator.js';
import type { JoinParams, JoinResult } from './types.js';

let clock: FakeClock;
let store: MemoryOffsetStore;
let coordinator: GroupCoordinator;
/** Groups this broker coordinates; tests move groups by editing it. */
let mine: Set<string>;

beforeEach(() => {
  clock = new FakeClock();
  store = new MemoryOffsetStore();
  mine = new Set(['here']);
  coordinator = new GroupCoordinator({
    offsetStore: store,
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 60_000, offsetsRetentionMinutes: 60, offsetMetadataMaxBytes: 100 },
    logger: pino({ level: 'silent' }),
    now: clock.now,
    timers: clock,
  });
  coordinator.setOwnership((g) => mine.has(g));
});

function join(groupId: string, memberId = ''): JoinParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([0, 1]) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
  };
}

const commit = (groupId: string) => ({
  groupId,
  memberId: '',
  groupInstanceId: null,
  generationId: -1,
  retentionTimeMs: -1,
  partitions: [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
});

describe('group placement', () => {
  it('answers NOT_COORDINATOR for every group API of a group placed elsewhere, and nothing is stored', async () => {
    const NC = ErrorCode.NOT_COORDINATOR;
    expect((await coordinator.joinGroup(join('there'))).errorCode).toBe(NC);
    expect((await coordinator.syncGroup({ groupId: 'there', memberId: 'm', groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(NC);
    expect(coordinator.heartbeat({ groupId: 'there', memberId: 'm', groupInstanceId: null, generationId: 1 })).toBe(NC);
    expect(coordinator.leaveGroup('there', [{ memberId: 'm', groupInstanceId: null, reason: null }]).errorCode).toBe(NC);
    expect(await coordinator.commitOffsets(commit('there'))).toEqual([{ topic: 't', partition: 0, errorCode: NC }]);
    expect(await coordinator.fetchOffsets('there', null)).toEqual({ errorCode: NC, offsets: [] });
    expect((await coordinator.deleteOffsets('there', [{ topic: 't', partitions: [0] }])).errorCode).toBe(NC);
    expect((await coordinator.describeGroups(['there']))[0]!.errorCode).toBe(NC);
    expect(await coordinator.deleteGroups(['there'])).toEqual([{ groupId: 'there', errorCode: NC }]);
    expect(await store.listGroups()).toEqual([]);
  });

  it('serves its own groups, and lists only those', async () => {
    expect(await coordinator.commitOffsets(commit('here'))).toEqual([{ topic: 't', partition: 0, errorCode: ErrorCode.NONE }]);
    mine.add('there');
    expect(await coordinator.commitOffsets(commit('there'))).toEqual([{ topic: 't', partition: 0, errorCode: ErrorCode.NONE }]);
    mine.delete('there');
    expect((await coordinator.listGroups()).map((g) => g.groupId)).toEqual(['here']);
    expect((await coordinator.fetchOffsets('here', null)).offsets.map((o) => o.offset)).toEqual([5n]);
  });

  it('unloads a group that moved away: its waiting join is answered NOT_COORDINATOR, its timers go', async () => {
    // Member 1 is in a stable group; member 2 joins and waits for member 1 to rejoin.
    const joining = coordinator.joinGroup(join('here'));
    clock.advance(0); // the initial rebalance delay (0)
    const first = await joining;
    expect(first.errorCode).toBe(ErrorCode.NONE);
    await coordinator.syncGroup({ groupId: 'here', memberId: first.memberId, groupInstanceId: null, generationId: first.generationId, protocolType: null, protocolName: null, assignments: [] });
    let second: JoinResult | undefined;
    void coordinator.joinGroup(join('here')).then((r) => (second = r));
    await new Promise((r) => setImmediate(r));
    expect(second).toBeUndefined();

    mine.delete('here');
    clock.advance(1000); // the ownership sweep
    await new Promise((r) => setImmediate(r));
    expect(second?.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(coordinator.group('here')).toBeUndefined();
    // Only the sweep's own timer is left: no heartbeat or join timer of the unloaded group.
    expect(clock.timerCount).toBe(1);
    expect(coordinator.heartbeat({ groupId: 'here', memberId: first.memberId, groupInstanceId: null, generationId: first.generationId })).toBe(ErrorCode.NOT_COORDINATOR);

    // Back here (the broker that took it died): a fresh group; the old member id is unknown, so it rejoins.
    mine.add('here');
    expect(coordinator.heartbeat({ groupId: 'here', memberId: first.memberId, groupInstanceId: null, generationId: first.generationId })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const again = coordinator.joinGroup(join('here'));
    clock.advance(0);
    expect((await again).errorCode).toBe(ErrorCode.NONE);
  });
});
