/**
 * Fetch session semantics (Kafka 3.9's FetchManager and FetchContexts) without a broker: which
 * partitions a request reads, which errors it gets, and which partitions its answer carries.
 * The responses are written by hand as the handler would fill them.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import { createFetchRequest, type FetchRequest, type FetchResponse } from '../../codec/generated/fetch.js';
import { FetchManager, type FetchContext } from './manager.js';

type TopicResponse = FetchResponse['responses'][number];
const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';
const ID_A = 'AAAAAAAAAAAAAAAAAAAAAQ';
const ID_B = 'AAAAAAAAAAAAAAAAAAAAAg';

function manager(maxSlots = 1000): FetchManager {
  let next = 0;
  // One shard, ids 1, 2, 3...: the cache's sharding has its own tests.
  return new FetchManager({ maxSlots, evictionMs: 120_000, shards: 1, random: (min) => min + next++ });
}

interface P {
  partition: number;
  offset?: bigint;
  maxBytes?: number;
}

function topic(name: string, parts: P[], topicId = ZERO): FetchRequest['topics'][number] {
  return {
    topic: name,
    topicId,
    partitions: parts.map((p) => ({
      partition: p.partition,
      currentLeaderEpoch: -1,
      fetchOffset: p.offset ?? 0n,
      lastFetchedEpoch: -1,
      logStartOffset: -1n,
      partitionMaxBytes: p.maxBytes ?? 1000,
      replicaDirectoryId: ZERO,
    })),
  };
}

function request(sessionId: number, sessionEpoch: number, topics: FetchRequest['topics'], forgotten: FetchRequest['forgottenTopicsData'] = []): FetchRequest {
  return createFetchRequest({ sessionId, sessionEpoch, topics, forgottenTopicsData: forgotten });
}

interface State {
  hw?: bigint;
  lso?: bigint;
  logStart?: bigint;
  error?: number;
  records?: number;
}

/** The handler's responses for a context's topics: state per "topic/partition", default hw 10, lso 10, log start 0. */
function respond(context: FetchContext, states: Record<string, State> = {}): TopicResponse[] {
  return context.topics.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => {
      const s = states[`${t.topic || t.topicId}/${p.partition}`] ?? {};
      return {
        partitionIndex: p.partition,
        errorCode: s.error ?? 0,
        highWatermark: s.hw ?? 10n,
        lastStableOffset: s.lso ?? s.hw ?? 10n,
        logStartOffset: s.logStart ?? 0n,
        divergingEpoch: { epoch: -1, endOffset: -1n },
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
        snapshotId: { endOffset: -1n, epoch: -1 },
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: s.records ? [Buffer.alloc(s.records)] : [],
      };
    }),
  }));
}

/** "topic/partition@offset" for what a context reads. */
function reads(context: FetchContext): string[] {
  return context.topics.flatMap((t) => t.partitions.map((p) => `${t.topic || t.topicId}/${p.partition}@${p.fetchOffset}`));
}

function answered(responses: TopicResponse[]): string[] {
  return responses.flatMap((t) => t.partitions.map((p) => `${t.topic || t.topicId}/${p.partitionIndex}`));
}

/** A session of a/0, a/1, b/0 at v12 (topic names), made at time 0; returns its id. */
function openSession(m: FetchManager): number {
  const full = m.newContext(request(0, 0, [topic('a', [{ partition: 0 }, { partition: 1 }]), topic('b', [{ partition: 0 }])]), 12, 0);
  const answer = full.finish(respond(full), 0);
  expect(answer.errorCode).toBe(0);
  expect(answered(answer.responses)).toEqual(['a/0', 'a/1', 'b/0']);
  return answer.sessionId;
}

describe('fetch sessions', () => {
  it('epoch -1 is sessionless: session id 0 and every partition answered', () => {
    const m = manager();
    const context = m.newContext(request(0, -1, [topic('a', [{ partition: 0 }])]), 12, 0);
    expect(reads(context)).toEqual(['a/0@0']);
    const answer = context.finish(respond(context), 0);
    expect(answer).toMatchObject({ errorCode: 0, sessionId: 0 });
    expect(answered(answer.responses)).toEqual(['a/0']);
    expect(m.cache.stats().sessions).toBe(0);
  });

  it('a full fetch with epoch 0 opens a session; incremental fetches carry only what changed', () => {
    const m = manager();
    const id = openSession(m);
    expect(id).toBe(1);

    // Epoch 1: nothing named, nothing changed: every partition read, none answered.
    let c = m.newContext(request(id, 1, []), 12, 10);
    expect(reads(c)).toEqual(['a/0@0', 'a/1@0', 'b/0@0']);
    let answer = c.finish(respond(c), 10);
    expect(answer).toEqual({ errorCode: 0, sessionId: id, responses: [] });

    // Epoch 2: a/1 has records; b/0's high watermark moved.
    c = m.newContext(request(id, 2, []), 12, 20);
    answer = c.finish(respond(c, { 'a/1': { records: 70, hw: 10n }, 'b/0': { hw: 11n } }), 20);
    expect(answered(answer.responses)).toEqual(['a/1', 'b/0']);

    // Epoch 3: a/1 moves on to offset 10 (named in the request); nothing else changed.
    c = m.newContext(request(id, 3, [topic('a', [{ partition: 1, offset: 10n }])]), 12, 30);
    // a/1 returned records last time, so it went to the end of the order.
    expect(reads(c)).toEqual(['a/0@0', 'b/0@0', 'a/1@10']);
    answer = c.finish(respond(c, { 'b/0': { hw: 11n } }), 30);
    expect(answer.responses).toEqual([]);

    // Epoch 4: log start offset of a/0 and last stable offset of b/0 moved.
    c = m.newContext(request(id, 4, []), 12, 40);
    answer = c.finish(respond(c, { 'a/0': { logStart: 3n }, 'b/0': { hw: 11n, lso: 9n } }), 40);
    expect(answered(answer.responses)).toEqual(['a/0', 'b/0']);
  });

  it('a partition with an error is answered every time, and once more when the error goes away', () => {
    const m = manager();
    const id = openSession(m);
    let c = m.newContext(request(id, 1, []), 12, 1);
    expect(answered(c.finish(respond(c, { 'a/1': { error: ErrorCode.NOT_LEADER_OR_FOLLOWER, hw: -1n } }), 1).responses)).toEqual(['a/1']);
    c = m.newContext(request(id, 2, []), 12, 2);
    expect(answered(c.finish(respond(c, { 'a/1': { error: ErrorCode.NOT_LEADER_OR_FOLLOWER, hw: -1n } }), 2).responses)).toEqual(['a/1']);
    // The error is gone and the high watermark is back to what it was before it.
    c = m.newContext(request(id, 3, []), 12, 3);
    expect(answered(c.finish(respond(c), 3).responses)).toEqual(['a/1']);
    c = m.newContext(request(id, 4, []), 12, 4);
    expect(c.finish(respond(c), 4).responses).toEqual([]);
  });

  it('added and forgotten partitions; a session left empty is closed and answered sessionless', () => {
    const m = manager();
    const id = openSession(m);
    let c = m.newContext(request(id, 1, [topic('c', [{ partition: 5, offset: 7n }])], [{ topic: 'a', topicId: ZERO, partitions: [0, 1] }]), 12, 1);
    expect(reads(c)).toEqual(['b/0@0', 'c/5@7']);
    // The new partition was never answered, so it is now.
    expect(answered(c.finish(respond(c), 1).responses)).toEqual(['c/5']);

    c = m.newContext(request(id, 2, [], [{ topic: 'b', topicId: ZERO, partitions: [0] }, { topic: 'c', topicId: ZERO, partitions: [5, 6] }]), 12, 2);
    expect(reads(c)).toEqual([]);
    expect(c.finish(respond(c), 2)).toEqual({ errorCode: 0, sessionId: 0, responses: [] });
    expect(m.newContext(request(id, 3, []), 12, 3).error).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('FETCH_SESSION_ID_NOT_FOUND and INVALID_FETCH_SESSION_EPOCH are answered with session id 0 and no partitions', () => {
    const m = manager();
    const id = openSession(m);
    for (const [sessionId, epoch, error] of [
      [id + 1, 1, ErrorCode.FETCH_SESSION_ID_NOT_FOUND],
      [0, 1, ErrorCode.FETCH_SESSION_ID_NOT_FOUND],
      [-3, 5, ErrorCode.FETCH_SESSION_ID_NOT_FOUND],
      [id, 2, ErrorCode.INVALID_FETCH_SESSION_EPOCH],
      [id, 0x7fffffff, ErrorCode.INVALID_FETCH_SESSION_EPOCH],
    ] as const) {
      const c = m.newContext(request(sessionId, epoch, [topic('a', [{ partition: 0 }])]), 12, 1);
      expect(c.error).toBe(error);
      expect(c.topics).toEqual([]);
      expect(c.finish([], 1)).toEqual({ errorCode: error, sessionId: 0, responses: [] });
    }
    // A rejected request changes nothing: epoch 1 is still the one expected, then 2, and 1 again is refused.
    expect(m.newContext(request(id, 1, []), 12, 2).error).toBe(0);
    expect(m.newContext(request(id, 1, []), 12, 3).error).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    expect(m.newContext(request(id, 2, []), 12, 3).error).toBe(0);
  });

  it('a duplicate request that moved the epoch meanwhile makes the first answer INVALID_FETCH_SESSION_EPOCH with the session id', () => {
    const m = manager();
    const id = openSession(m);
    const first = m.newContext(request(id, 1, []), 12, 1);
    const second = m.newContext(request(id, 2, []), 12, 2);
    expect(first.finish(respond(first, { 'a/0': { records: 10 } }), 3)).toEqual({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: id, responses: [] });
    expect(second.finish(respond(second), 3).errorCode).toBe(0);
  });

  it('a throttled answer (client quota) is empty and leaves the session as it was: nothing told, no position moved', () => {
    const m = manager();
    const id = openSession(m);
    // Epoch 1 moves a/1 to offset 10 and is throttled: no partitions, the session's id, the epoch moved on.
    let c = m.newContext(request(id, 1, [topic('a', [{ partition: 1, offset: 10n }])]), 12, 1);
    expect(c.throttled()).toEqual({ errorCode: 0, sessionId: id, responses: [] });
    // Epoch 2 reads from where the client asked (a/1@10, no further), and a/1's records and b/0's new high watermark, never sent, are answered now.
    c = m.newContext(request(id, 2, []), 12, 2);
    expect(reads(c)).toEqual(['a/0@0', 'a/1@10', 'b/0@0']);
    expect(answered(c.finish(respond(c, { 'a/1': { records: 30 }, 'b/0': { hw: 12n } }), 2).responses)).toEqual(['a/1', 'b/0']);
    // Another request moving the epoch meanwhile: the throttled answer says so, as finish does.
    const first = m.newContext(request(id, 3, []), 12, 3);
    m.newContext(request(id, 4, []), 12, 3);
    expect(first.throttled()).toEqual({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: id, responses: [] });
    // A throttled full fetch makes no session; a sessionless one and a session error answer as finish would.
    const full = m.newContext(request(0, 0, [topic('z', [{ partition: 0 }])]), 12, 4);
    expect(full.throttled()).toEqual({ errorCode: 0, sessionId: 0, responses: [] });
    expect(m.cache.stats().sessions).toBe(1);
    expect(m.newContext(request(0, -1, [topic('z', [{ partition: 0 }])]), 12, 5).throttled()).toEqual({ errorCode: 0, sessionId: 0, responses: [] });
    expect(m.newContext(request(id + 7, 1, []), 12, 5).throttled()).toEqual({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
  });

  it('a full fetch naming a session closes it (epoch 0 opens another, -1 none)', () => {
    const m = manager();
    const id = openSession(m);
    const c = m.newContext(request(id, 0, [topic('a', [{ partition: 0 }])]), 12, 1);
    const answer = c.finish(respond(c), 1);
    expect(answer.sessionId).toBe(2);
    expect(m.cache.get(id)).toBeUndefined();
    const closing = m.newContext(request(2, -1, [topic('a', [{ partition: 0 }])]), 12, 2);
    expect(closing.finish(respond(closing), 2).sessionId).toBe(0);
    expect(m.cache.stats()).toEqual({ sessions: 0, partitions: 0, evictions: 0 });
  });

  it('with no slots (max.incremental.fetch.session.cache.slots=0) a full fetch gets session id 0 and everything', () => {
    const m = manager(0);
    const c = m.newContext(request(0, 0, [topic('a', [{ partition: 0 }, { partition: 1 }])]), 12, 0);
    const answer = c.finish(respond(c), 0);
    expect(answer.sessionId).toBe(0);
    expect(answered(answer.responses)).toEqual(['a/0', 'a/1']);
  });

  it('v13+ sessions key partitions by topic id; using one below v13 (or the other way) is FETCH_SESSION_TOPIC_ID_ERROR', () => {
    const m = manager();
    const full = m.newContext(request(0, 0, [topic('', [{ partition: 0 }], ID_A), topic('', [{ partition: 0 }, { partition: 1 }], ID_B)]), 13, 0);
    const id = full.finish(respond(full), 0).sessionId;
    expect(m.newContext(request(id, 1, []), 12, 1).error).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // Forgotten by id; the topic name (empty at v13+) plays no part.
    const c = m.newContext(request(id, 1, [], [{ topic: '', topicId: ID_B, partitions: [0] }]), 13, 1);
    expect(reads(c)).toEqual([`${ID_A}/0@0`, `${ID_B}/1@0`]);
    expect(c.topics.map((t) => t.topicId)).toEqual([ID_A, ID_B]);
    expect(answered(c.finish(respond(c, { [`${ID_B}/1`]: { hw: 12n } }), 1).responses)).toEqual([`${ID_B}/1`]);

    const named = m.newContext(request(0, 0, [topic('a', [{ partition: 0 }])]), 12, 2);
    const namedId = named.finish(respond(named), 2).sessionId;
    expect(m.newContext(request(namedId, 1, []), 13, 3).error).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  });
});
