import { ANONYMOUS } from '../security/principal.js';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { API_DEFINITIONS } from '../../codec/generated/registry.js';
import { Reader } from '../../codec/primitives/reader.js';
import { Writer } from '../../codec/primitives/writer.js';
import type { TopicRecord } from '../../storage/types.js';
import { GroupCoordinator } from '../groups/coordinator.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { MemoryOffsetStore } from '../../testing/memory-offset-store.js';
import type { ApiHandler, BrokerContext, BrokerEndpoint, RequestContext } from '../handler-types.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { describeGroupsHandler } from './describe-groups.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { groupHandlers } from './index.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { listGroupsHandler } from './list-groups.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetDeleteHandler } from './offset-delete.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { syncGroupHandler } from './sync-group.js';

/**
 * The group handlers through the generated codec: each request is encoded and decoded at the
 * version under test, and the response encoded and decoded back, so version-dependent fields
 * are checked as a client would see them.
 */

const SELF: BrokerEndpoint = { nodeId: 7, host: 'broker.local', port: 9092, rack: null };
const TOPICS: Record<string, TopicRecord> = {
  orders: { name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionCount: 3, configs: {}, shardOfPartition: [0, 0, 0], isInternal: false },
};

let clock: FakeClock;
let coordinator: GroupCoordinator;
let broker: BrokerContext;

beforeEach(() => {
  clock = new FakeClock();
  let n = 0;
  coordinator = new GroupCoordinator({
    offsetStore: new MemoryOffsetStore(),
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 1_800_000, offsetsRetentionMinutes: 10080, offsetMetadataMaxBytes: 4096 },
    logger: pino({ level: 'silent' }),
    now: clock.now,
    timers: clock,
    newMemberId: (prefix) => `${prefix}-${++n}`,
  });
  broker = {
    logger: pino({ level: 'silent' }),
    catalog: { getTopic: (name: string) => TOPICS[name] },
    cluster: { coordinatorFor: () => SELF, self: SELF },
    groupCoordinator: coordinator,
    now: clock.now,
  } as unknown as BrokerContext;
});

function context(apiKey: number, apiVersion: number, clientId = 'client'): RequestContext {
  return {
    apiKey,
    apiVersion,
    correlationId: 1,
    clientId,
    connectionId: 1,
    clientHost: '::ffff:10.0.0.5',
    clientGone: () => false,
    broker,
    logger: broker.logger,
    principal: ANONYMOUS,
  };
}

// Responses are read field by field in the tests; `any` keeps that terse.
async function call(handler: ApiHandler, version: number, request: Record<string, unknown>, clientId?: string): Promise<any> {
  const def = API_DEFINITIONS.get(handler.apiKey)!;
  const w = new Writer();
  def.encodeRequest(w, withDefaults(handler.apiKey, request), version);
  const decoded = def.decodeRequest(new Reader(w.toBuffer()), version);
  const response = await handler.handle(decoded, context(handler.apiKey, version, clientId));
  const out = new Writer();
  def.encodeResponse(out, response, version);
  return def.decodeResponse(new Reader(out.toBuffer()), version);
}

/** Fills request fields a version does not carry, so one request literal serves every version. */
function withDefaults(apiKey: number, r: Record<string, unknown>): unknown {
  const defaults: Record<number, Record<string, unknown>> = {
    8: { generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n },
    9: { groupId: '', topics: [], groups: [], requireStable: false },
    10: { key: '', keyType: 0, coordinatorKeys: [] },
    11: { rebalanceTimeoutMs: 30000, groupInstanceId: null, reason: null, memberId: '', protocolType: 'consumer' },
    12: { groupInstanceId: null },
    13: { memberId: '', members: [] },
    14: { groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] },
    15: { includeAuthorizedOperations: false },
    16: { statesFilter: [], typesFilter: [] },
  };
  return { ...(defaults[apiKey] ?? {}), ...r };
}

const protocols = [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }];

/** One member through JoinGroup (v4 dance when version >= 4) and SyncGroup, ending Stable. */
async function stableMember(groupId: string, version = 5): Promise<{ memberId: string; generationId: number }> {
  let join = await call(joinGroupHandler, version, { groupId, sessionTimeoutMs: 10000, protocols });
  if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    const pending = call(joinGroupHandler, version, { groupId, sessionTimeoutMs: 10000, memberId: join.memberId, protocols });
    await Promise.resolve();
    clock.advance(0);
    join = await pending;
  } else {
    clock.advance(0);
  }
  expect(join.errorCode).toBe(ErrorCode.NONE);
  const sync = await call(syncGroupHandler, 3, {
    groupId,
    generationId: join.generationId,
    memberId: join.memberId,
    assignments: [{ memberId: join.memberId, assignment: Buffer.from('a') }],
  });
  expect(sync.errorCode).toBe(ErrorCode.NONE);
  return { memberId: join.memberId, generationId: join.generationId };
}

describe('group handlers', () => {
  it('are all exported for the dispatcher, advertising the versions they implement', () => {
    expect(groupHandlers.map((h) => [h.apiKey, h.minVersion, h.maxVersion]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [8, 0, 8],
      [9, 0, 8],
      [10, 0, 4],
      [11, 0, 9],
      [12, 0, 4],
      [13, 0, 5],
      [14, 0, 5],
      [15, 0, 5],
      [16, 0, 5],
      [42, 0, 2],
      [47, 0, 0],
    ]);
  });
});

describe('FindCoordinator', () => {
  it('answers a single key before v4 and each key in v4', async () => {
    const v0 = await call(findCoordinatorHandler, 0, { key: 'g' });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 7, host: 'broker.local', port: 9092 });
    const txn = await call(findCoordinatorHandler, 3, { key: 'tx', keyType: 1 });
    expect(txn).toMatchObject({ errorCode: 0, nodeId: 7 });
    const bad = await call(findCoordinatorHandler, 2, { key: 'x', keyType: 5 });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const v4 = await call(findCoordinatorHandler, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators).toEqual([
      { key: 'a', nodeId: 7, host: 'broker.local', port: 9092, errorCode: 0, errorMessage: null },
      { key: 'b', nodeId: 7, host: 'broker.local', port: 9092, errorCode: 0, errorMessage: null },
    ]);
  });
});

describe('JoinGroup / SyncGroup / Heartbeat / LeaveGroup', () => {
  it('requires a member id from v4, names members clientId-n, and reports the protocol name per version', async () => {
    const first = await call(joinGroupHandler, 4, { groupId: 'g', sessionTimeoutMs: 10000, protocols }, 'app');
    expect(first).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, memberId: 'app-1', generationId: -1, protocolName: '' });
    const v7 = await call(joinGroupHandler, 7, { groupId: 'g2', sessionTimeoutMs: 10000, memberId: 'nope', protocols });
    expect(v7).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolName: null, protocolType: null });
  });

  it('takes v0 rebalance timeout from the session timeout and serves a whole generation', async () => {
    const pending = call(joinGroupHandler, 0, { groupId: 'g', sessionTimeoutMs: 10000, protocols });
    await Promise.resolve();
    clock.advance(0);
    const join = await pending;
    expect(join).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range', memberId: 'client-1', leader: 'client-1' });
    expect(join.members).toEqual([{ memberId: 'client-1', groupInstanceId: null, metadata: protocols[0]!.metadata }]);
    expect(coordinator.group('g')!.rebalanceTimeoutMs()).toBe(10000);

    const sync = await call(syncGroupHandler, 5, {
      groupId: 'g',
      generationId: 1,
      memberId: 'client-1',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: 'client-1', assignment: Buffer.from('mine') }],
    });
    expect(sync).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
    expect(sync.assignment.toString()).toBe('mine');
    expect(await call(heartbeatHandler, 0, { groupId: 'g', generationId: 1, memberId: 'client-1' })).toMatchObject({ errorCode: 0 });
    expect(await call(heartbeatHandler, 4, { groupId: 'g', generationId: 0, memberId: 'client-1' })).toMatchObject({
      errorCode: ErrorCode.ILLEGAL_GENERATION,
    });

    const leave = await call(leaveGroupHandler, 1, { groupId: 'g', memberId: 'client-1' });
    expect(leave.errorCode).toBe(0);
    const again = await call(leaveGroupHandler, 2, { groupId: 'g', memberId: 'client-1' });
    expect(again.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('sends no JoinGroup response to a client that disconnected while it waited; the member joined all the same', async () => {
    const ctx = { ...context(11, 3), clientGone: () => true };
    const request = withDefaults(11, { groupId: 'gone', sessionTimeoutMs: 10000, protocols });
    const pending = joinGroupHandler.handle(request as never, ctx);
    clock.advance(0);
    expect(await pending).toBeUndefined();
    expect(coordinator.group('gone')!.state).toBe('CompletingRebalance');
    expect(coordinator.group('gone')!.memberIds()).toEqual(['client-1']);
  });

  it('reports per-member errors for a v3+ batched leave', async () => {
    const { memberId } = await stableMember('g');
    const r = await call(leaveGroupHandler, 5, {
      groupId: 'g',
      members: [
        { memberId, groupInstanceId: null, reason: 'bye' },
        { memberId: 'ghost', groupInstanceId: null, reason: null },
      ],
    });
    expect(r.errorCode).toBe(0);
    expect(r.members).toEqual([
      { memberId, groupInstanceId: null, errorCode: 0 },
      { memberId: 'ghost', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
    ]);
  });

  it('answers COORDINATOR_NOT_AVAILABLE through errorResponse when no coordinator is registered', async () => {
    broker.groupCoordinator = null;
    const ctx = context(12, 4);
    expect(() => heartbeatHandler.handle({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }, ctx)).toThrow();
    expect(heartbeatHandler.errorResponse!({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }, ErrorCode.COORDINATOR_NOT_AVAILABLE, ctx)).toEqual({
      throttleTimeMs: 0,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
    });
  });
});

describe('OffsetCommit / OffsetFetch', () => {
  it('commits for existing partitions only and fetches back with -1 for the rest (v2, v5, v8)', async () => {
    const commit = await call(offsetCommitHandler, 8, {
      groupId: 'g',
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 2, commitTimestamp: -1n, committedMetadata: 'hello' },
            { partitionIndex: 9, committedOffset: 10n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null },
          ],
        },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] },
      ],
    });
    expect(commit.topics).toEqual([
      { name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
      { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);

    const v5 = await call(offsetFetchHandler, 5, { groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] });
    expect(v5.errorCode).toBe(0);
    expect(v5.topics).toEqual([
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 2, metadata: 'hello', errorCode: 0 },
          { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
    ]);
    const v2all = await call(offsetFetchHandler, 2, { groupId: 'g', topics: null });
    expect(v2all.topics).toEqual([
      { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: -1, metadata: 'hello', errorCode: 0 }] },
    ]);
    const v8 = await call(offsetFetchHandler, 8, {
      groups: [
        { groupId: 'g', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'other', memberId: null, memberEpoch: -1, topics: [{ name: 'orders', partitionIndexes: [2] }] },
      ],
    });
    expect(v8.groups).toEqual([
      { groupId: 'g', errorCode: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 2, metadata: 'hello', errorCode: 0 }] }] },
      { groupId: 'other', errorCode: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 2, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }] },
    ]);
  });

  it('checks the generation of a group member (v1) and refuses a stale one', async () => {
    const { memberId, generationId } = await stableMember('g');
    const partitions = [{ partitionIndex: 1, committedOffset: 5n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }];
    const stale = await call(offsetCommitHandler, 1, { groupId: 'g', generationIdOrMemberEpoch: generationId + 1, memberId, topics: [{ name: 'orders', partitions }] });
    expect(stale.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const ok = await call(offsetCommitHandler, 3, { groupId: 'g', generationIdOrMemberEpoch: generationId, memberId, retentionTimeMs: -1n, topics: [{ name: 'orders', partitions }] });
    expect(ok.topics[0].partitions[0].errorCode).toBe(0);
    const v0 = await call(offsetCommitHandler, 0, { groupId: 'g', topics: [{ name: 'orders', partitions }] });
    expect(v0.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('puts a group error on every partition before v2 and at the top from v2', async () => {
    const long = 'x'.repeat(2000);
    const v1 = await call(offsetFetchHandler, 1, { groupId: long, topics: [{ name: 'orders', partitionIndexes: [0] }] });
    expect(v1.topics[0].partitions[0].errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    const v3 = await call(offsetFetchHandler, 3, { groupId: long, topics: [{ name: 'orders', partitionIndexes: [0] }] });
    expect(v3.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(v3.topics).toEqual([]);
  });
});

describe('ListGroups / DescribeGroups / DeleteGroups / OffsetDelete', () => {
  it('lists and describes groups per version', async () => {
    const { memberId } = await stableMember('live');
    await call(offsetCommitHandler, 2, {
      groupId: 'idle',
      retentionTimeMs: -1n,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    });
    const v0 = await call(listGroupsHandler, 0, {});
    expect(v0.groups).toEqual([
      { groupId: 'live', protocolType: 'consumer', groupState: '', groupType: '' },
      { groupId: 'idle', protocolType: '', groupState: '', groupType: '' },
    ]);
    const v4 = await call(listGroupsHandler, 4, { statesFilter: ['stable'] });
    expect(v4.groups).toEqual([{ groupId: 'live', protocolType: 'consumer', groupState: 'Stable', groupType: '' }]);

    const d = await call(describeGroupsHandler, 4, { groups: ['live', 'nobody'], includeAuthorizedOperations: true });
    expect(d.groups[0]).toMatchObject({ groupId: 'live', errorCode: 0, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', authorizedOperations: 328 });
    expect(d.groups[0].members).toHaveLength(1);
    expect(d.groups[0].members[0]).toMatchObject({ memberId, clientId: 'client', clientHost: '/10.0.0.5', groupInstanceId: null });
    expect(d.groups[0].members[0].memberAssignment.toString()).toBe('a');
    expect(d.groups[1]).toMatchObject({ groupId: 'nobody', errorCode: 0, groupState: 'Dead', members: [] });
    const d0 = await call(describeGroupsHandler, 0, { groups: ['idle'] });
    expect(d0.groups[0]).toMatchObject({ groupState: 'Empty', protocolType: '' });
  });

  it('filters ListGroups v5 by group type, case-insensitively: every group is classic', async () => {
    await stableMember('live');
    await call(offsetCommitHandler, 2, {
      groupId: 'idle',
      retentionTimeMs: -1n,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    });
    const all = await call(listGroupsHandler, 5, {});
    expect(all.groups).toEqual([
      { groupId: 'live', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' },
      { groupId: 'idle', protocolType: '', groupState: 'Empty', groupType: 'classic' },
    ]);
    expect((await call(listGroupsHandler, 5, { typesFilter: ['Classic'] })).groups.map((g: any) => g.groupId)).toEqual(['live', 'idle']);
    expect((await call(listGroupsHandler, 5, { typesFilter: ['consumer', 'classic'], statesFilter: ['empty'] })).groups.map((g: any) => g.groupId)).toEqual(['idle']);
    expect((await call(listGroupsHandler, 5, { typesFilter: ['consumer'] })).groups).toEqual([]);
    expect((await call(listGroupsHandler, 5, { typesFilter: ['share', 'no-such-type'] })).groups).toEqual([]);
    // Before v5 the filter is not on the wire: v4 lists both whatever a caller meant.
    expect((await call(listGroupsHandler, 4, { typesFilter: ['consumer'] })).groups).toHaveLength(2);
  });

  it('deletes empty groups and refuses others', async () => {
    await stableMember('live');
    await call(offsetCommitHandler, 2, {
      groupId: 'idle',
      retentionTimeMs: -1n,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    });
    const r = await call(deleteGroupsHandler, 1, { groupsNames: ['live', 'idle', 'ghost'] });
    expect(r.results).toEqual([
      { groupId: 'live', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: 0 },
      { groupId: 'ghost', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
  });

  it('deletes offsets of an empty group, and reports unknown topics and groups', async () => {
    await call(offsetCommitHandler, 2, {
      groupId: 'idle',
      retentionTimeMs: -1n,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    });
    const r = await call(offsetDeleteHandler, 0, {
      groupId: 'idle',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0 }] },
        { name: 'missing', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(r).toEqual({
      errorCode: 0,
      throttleTimeMs: 0,
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] },
        { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
      ],
    });
    const fetched = await call(offsetFetchHandler, 3, { groupId: 'idle', topics: null });
    expect(fetched.topics).toEqual([]);
    const unknown = await call(offsetDeleteHandler, 0, { groupId: 'ghost', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] });
    expect(unknown).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] });
  });
});
