/**
 * What a Fetch request means for fetch sessions, as Kafka 3.9's FetchManager.newContext and
 * its FetchContexts decide it. The request's (session id, epoch):
 * - epoch -1 (FINAL): sessionless; the session named, if any, is closed. Answer session id 0.
 *   (Fetch v4-6 have no session fields and read as (0, -1).)
 * - epoch 0 (INITIAL): a full fetch; the session named, if any, is closed, and a new session
 *   of the request's partitions is made when the cache has or can free a slot. Its id is in
 *   the answer (0 when none was made: the client then keeps sending full fetches).
 * - epoch > 0: incremental, for the session named. Unknown id: FETCH_SESSION_ID_NOT_FOUND;
 *   another epoch than the session's: INVALID_FETCH_SESSION_EPOCH; a session made with topic
 *   ids (v13+) used below v13, or the other way round: FETCH_SESSION_TOPIC_ID_ERROR. Each
 *   answered with session id 0 and no partitions. Otherwise the request's partitions are
 *   added or updated, its forgotten topics removed (a session left empty is closed and the
 *   request answered sessionless), the epoch advances, and every partition of the session is
 *   fetched; the answer carries only those with something new (CachedPartition.mustRespond).
 *   If another request moved the session's epoch meanwhile (a duplicate), the answer is
 *   INVALID_FETCH_SESSION_EPOCH with the session's id and no partitions.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { FetchRequest, FetchResponse } from '../../codec/generated/fetch.js';
import { FetchSessionCache } from './cache.js';
import { FINAL_EPOCH, INITIAL_EPOCH, INVALID_SESSION_ID, nextEpoch, recordsSize, type FetchSession, type PartitionFetch } from './session.js';

type RequestTopic = FetchRequest['topics'][number];
type TopicResponse = FetchResponse['responses'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** The session part of a Fetch answer. */
export interface SessionAnswer {
  errorCode: number;
  sessionId: number;
  responses: TopicResponse[];
}

/** How to serve one Fetch: which partitions to read, and how to shape the answer. */
export interface FetchContext {
  /** Set when the request is answered with this error alone (no partitions read). */
  readonly error: number;
  /** The partitions to read, grouped by topic in order (the request's, or the session's). */
  readonly topics: RequestTopic[];
  /** The answer's session id, error and partitions, from the responses of every partition read. */
  finish(responses: TopicResponse[], now: number): SessionAnswer;
  /**
   * The answer to a Fetch throttled by a client quota, instead of finish (Kafka's
   * getThrottledResponse): no partitions, and nothing cached changes, so the partitions the
   * client was not told about are sent again after the pause. A full fetch makes no session;
   * an incremental one keeps its session (whose epoch this request already moved).
   */
  throttled(): SessionAnswer;
}

export interface FetchManagerOptions {
  /** max.incremental.fetch.session.cache.slots; 0 disables sessions. */
  maxSlots: number;
  /** min.incremental.fetch.session.eviction.ms (Kafka: 120000, fixed). */
  evictionMs: number;
  shards?: number;
  random?: (min: number, max: number) => number;
}

export class FetchManager {
  readonly cache: FetchSessionCache;

  constructor(options: FetchManagerOptions) {
    this.cache = new FetchSessionCache({ maxSlots: options.maxSlots, evictionMs: options.evictionMs, shards: options.shards, random: options.random });
  }

  newContext(request: FetchRequest, version: number, now: number): FetchContext {
    const { sessionId, sessionEpoch } = request;
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      // Any session a full fetch names is closed.
      if (sessionId !== INVALID_SESSION_ID) {
        const session = this.cache.get(sessionId);
        if (session) this.cache.shardOf(sessionId)!.remove(session);
      }
      if (sessionEpoch === FINAL_EPOCH) return sessionless(request.topics);
      return this.fullContext(request, version >= 13);
    }
    const shard = this.cache.shardOf(sessionId);
    const session = shard?.get(sessionId);
    if (!shard || !session) return errorContext(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    if (session.epoch !== sessionEpoch) return errorContext(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    if (session.usesTopicIds !== version >= 13) return errorContext(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    session.update(partitionsOf(request.topics), forgottenOf(request));
    if (session.size === 0) {
      shard.remove(session);
      return sessionless(request.topics);
    }
    shard.touch(session, now);
    session.epoch = nextEpoch(session.epoch);
    return incrementalContext(session, sessionEpoch);
  }

  private fullContext(request: FetchRequest, usesTopicIds: boolean): FetchContext {
    const cache = this.cache;
    return {
      error: ErrorCode.NONE,
      topics: request.topics,
      finish(responses, now) {
        let size = 0;
        for (const t of responses) size += t.partitions.length;
        // Followers' sessions would be privileged; every Fetch here is a consumer's.
        const id = cache.nextCacheShard().maybeCreateSession(now, false, size, usesTopicIds, (session) => {
          // The responses mirror the request's topics and partitions, in order.
          for (let t = 0; t < request.topics.length; t++) {
            const topic = request.topics[t]!;
            const topicResponse = responses[t];
            for (let p = 0; p < topic.partitions.length; p++) {
              const cached = session.add(toPartitionFetch(topic, topic.partitions[p]!));
              const response = topicResponse?.partitions[p];
              if (response) {
                cached.highWatermark = response.highWatermark;
                cached.lastStableOffset = response.lastStableOffset;
                cached.localLogStartOffset = response.logStartOffset;
              }
            }
          }
        });
        return { errorCode: ErrorCode.NONE, sessionId: id, responses };
      },
      throttled: () => ({ errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, responses: [] }),
    };
  }
}

function incrementalContext(session: FetchSession, requestEpoch: number): FetchContext {
  return {
    error: ErrorCode.NONE,
    topics: topicsOf(session),
    finish(responses) {
      if (session.epoch !== nextEpoch(requestEpoch)) {
        return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: session.id, responses: [] };
      }
      const kept: TopicResponse[] = [];
      for (const t of responses) {
        const partitions = t.partitions.filter((response) => {
          const cached = session.partitions.get(session.keyOf({ topic: t.topic, topicId: t.topicId, partition: response.partitionIndex }));
          if (!cached) return true;
          if (!cached.mustRespond(response, true)) return false;
          if (recordsSize(response.records) > 0) session.moveToEnd(cached);
          return true;
        });
        if (partitions.length > 0) kept.push({ ...t, partitions });
      }
      return { errorCode: ErrorCode.NONE, sessionId: session.id, responses: kept };
    },
    throttled() {
      const error = session.epoch !== nextEpoch(requestEpoch) ? ErrorCode.INVALID_FETCH_SESSION_EPOCH : ErrorCode.NONE;
      return { errorCode: error, sessionId: session.id, responses: [] };
    },
  };
}

function sessionless(topics: RequestTopic[]): FetchContext {
  return {
    error: ErrorCode.NONE,
    topics,
    finish: (responses) => ({ errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, responses }),
    throttled: () => ({ errorCode: ErrorCode.NONE, sessionId: INVALID_SESSION_ID, responses: [] }),
  };
}

function errorContext(error: number): FetchContext {
  return {
    error,
    topics: [],
    finish: () => ({ errorCode: error, sessionId: INVALID_SESSION_ID, responses: [] }),
    throttled: () => ({ errorCode: error, sessionId: INVALID_SESSION_ID, responses: [] }),
  };
}

function toPartitionFetch(topic: RequestTopic, p: RequestTopic['partitions'][number]): PartitionFetch {
  return {
    topic: topic.topic,
    topicId: topic.topicId,
    partition: p.partition,
    currentLeaderEpoch: p.currentLeaderEpoch,
    fetchOffset: p.fetchOffset,
    lastFetchedEpoch: p.lastFetchedEpoch,
    logStartOffset: p.logStartOffset,
    partitionMaxBytes: p.partitionMaxBytes,
  };
}

function partitionsOf(topics: readonly RequestTopic[]): PartitionFetch[] {
  return topics.flatMap((t) => t.partitions.map((p) => toPartitionFetch(t, p)));
}

function forgottenOf(request: FetchRequest): { topic: string; topicId: string; partition: number }[] {
  return request.forgottenTopicsData.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, topicId: t.topicId, partition })));
}

/** The session's partitions as request topics, consecutive partitions of one topic grouped. */
function topicsOf(session: FetchSession): RequestTopic[] {
  const topics: RequestTopic[] = [];
  let last: RequestTopic | undefined;
  for (const c of session.partitions.values()) {
    const same = last !== undefined && (session.usesTopicIds ? last.topicId === c.topicId : last.topic === c.topic);
    if (!same) {
      last = { topic: c.topic, topicId: session.usesTopicIds ? c.topicId : ZERO_UUID, partitions: [] };
      topics.push(last);
    }
    last!.partitions.push({
      partition: c.partition,
      currentLeaderEpoch: c.currentLeaderEpoch,
      fetchOffset: c.fetchOffset,
      lastFetchedEpoch: c.lastFetchedEpoch,
      logStartOffset: c.logStartOffset,
      partitionMaxBytes: c.partitionMaxBytes,
      replicaDirectoryId: ZERO_UUID,
    });
  }
  return topics;
}
