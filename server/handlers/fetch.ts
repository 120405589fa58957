/**
 * Fetch (key 1), versions 4-17.
 * Returns stored record batches as they were appended (never decoded or re-encoded), as a
 * list of buffers written straight to the socket. Limits: partition max bytes and response
 * max bytes, except that the first batch of the first partition with data is returned even
 * when larger (KIP-74). Long poll: when fewer than minBytes are available the request waits
 * up to maxWaitMs and is woken by any commit to one of its partitions; it gives back its
 * queued.max.requests slot while it waits, and stops (no second read) when the client's
 * connection closes. read_committed reads up to the last stable offset (the first offset of
 * the earliest open transaction, or the high watermark) and lists the aborted transactions
 * overlapping the records returned (producer id, first offset), so clients drop aborted
 * records. v13+ names topics by id.
 * Incremental fetch sessions (KIP-227) as Kafka 3.9 keeps them (server/fetch-sessions/): a
 * full fetch with epoch 0 gets a session id when the cache has a slot, an incremental one
 * fetches every partition of its session and is answered with only those that changed; session
 * errors are answered at the top with no partitions.
 * Several brokers (docs/cluster.md, KIP-392): a consumer's Fetch v11+ is served by any broker,
 * the leader or not, since storage is shared; a broker that does not lead the partition reads
 * its high watermark, last stable offset and aborted transactions from MySQL at each fetch
 * (storage/follower-view.ts), and its long poll re-reads every 100 ms (it hears of no append).
 * With replica.selector.class set to Kafka's RackAwareReplicaSelector, the leader names a
 * broker of the consumer's rack (rack_id, client.rack) as preferred read replica and answers
 * that partition with its offsets and no records, at once; followers never redirect. v0-3 are not served: they need message
 * format v0/v1 down-conversion, and every supported client uses v4+.
 * Client quotas (server/quotas/), as Kafka's KafkaApis: a consumer with a consumer_byte_rate
 * reads at most quota × quota.window.size.seconds per response (the first batch still goes out,
 * KIP-74), and a Fetch over its byte rate or request_percentage, measured once its data is
 * gathered, is answered with throttle_time_ms and no partitions (KIP-219); its bytes are taken
 * back from the rate, the session keeps what it had (no new session for a full fetch, nothing
 * cached moves for an incremental one), and the connection is muted for the throttle time.
 * An unexpected failure of the whole request sets UNKNOWN_SERVER_ERROR at the top (v7+) and
 * on every requested partition, with no records.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { FetchRequest, FetchResponse } from '../../codec/generated/fetch.js';
import type { PartitionLog, TopicRecord } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { parseReplicaSelector, preferredReadReplica } from '../cluster/replica-selector.js';
import { assembleFetch, concurrentReadLimit, type PartitionReadOutcome } from './fetch-assembly.js';
import { recordFailure } from './errors.js';
import { recordsSize } from '../fetch-sessions/session.js';

type TopicResponse = FetchResponse['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];
type RequestTopic = FetchRequest['topics'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const READ_COMMITTED = 1;
const NO_EPOCH = { epoch: -1, endOffset: -1n };
const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };
const NO_SNAPSHOT = { endOffset: -1n, epoch: -1 };
/** How often a follower's long poll re-reads MySQL for new data. */
const FOLLOWER_POLL_MS = 100;

interface PartitionPlan {
  response: PartitionResponse;
  log: PartitionLog | null;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  topicName: string;
  /** This broker does not lead the partition and serves a consumer from MySQL (KIP-392). */
  follower: boolean;
  /** The leader names another broker to read from: answered with offsets and no records. */
  preferredReplica: number;
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: 1,
  minVersion: 4,
  maxVersion: 17,
  async handle(request, ctx) {
    // Which partitions to read (the request's, or its session's) and how to answer.
    const session = ctx.broker.fetchSessions.newContext(request, ctx.apiVersion, ctx.broker.now());
    if (session.error !== ErrorCode.NONE) return sessionError(session.error);

    const responses: TopicResponse[] = [];
    const plans: PartitionPlan[] = [];
    const cluster = ctx.broker.cluster;
    // Consumers (replica id -1) from Fetch v11 on may read from a follower (Kafka's rule).
    const replicaId = ctx.apiVersion >= 15 ? request.replicaState.replicaId : request.replicaId;
    const followerReadsAllowed = cluster.replicaIds !== undefined && ctx.apiVersion >= 11 && replicaId < 0;
    const selector = followerReadsAllowed ? parseReplicaSelector(ctx.broker.config.string('replica.selector.class')) : null;
    for (const requested of session.topics) {
      const topic = lookupTopic(requested, ctx);
      const partitions: PartitionResponse[] = [];
      responses.push({ topic: requested.topic, topicId: requested.topicId, partitions });
      for (const p of requested.partitions) {
        const response = emptyPartition(p.partition, ErrorCode.NONE, request.isolationLevel);
        partitions.push(response);
        const plan: PartitionPlan = {
          response,
          log: null,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: p.partitionMaxBytes,
          topicName: topic?.name ?? '',
          follower: false,
          preferredReplica: -1,
        };
        // ACLs: READ on the topic (by name before v13, where an unknown name is refused the same way).
        if (topic ? !authorizeTopic(ctx, Op.READ, topic.name) : ctx.apiVersion < 13 && !authorizeTopic(ctx, Op.READ, requested.topic)) {
          response.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        if (!topic) {
          response.errorCode = ctx.apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (p.partition < 0 || p.partition >= topic.partitionCount) {
          response.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        const epochError = checkLeaderEpoch(p.currentLeaderEpoch, ctx.broker.cluster.leaderEpochOf(topic.topicId, p.partition));
        if (epochError !== ErrorCode.NONE) {
          response.errorCode = epochError;
          continue;
        }
        // Several brokers: the leader, or for a consumer any broker (shared storage, KIP-392).
        const leader = cluster.leaderOf(topic.topicId, p.partition);
        if (leader !== cluster.self.nodeId) {
          if (!followerReadsAllowed || leader < 0) {
            response.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
            continue;
          }
          plan.follower = true;
        } else if (selector !== null) {
          const replicas = new Set(cluster.replicaIds!());
          plan.preferredReplica = preferredReadReplica(selector, request.rackId, leader, cluster.brokers().filter((b) => replicas.has(b.nodeId)), p.partition);
        }
        try {
          plan.log = await ctx.broker.logs.getLog(topic.topicId, p.partition);
        } catch (err) {
          recordFailure(response, err, ctx, 'fetch: partition log unavailable', { topic: topic.name, partition: p.partition });
          continue;
        }
        plans.push(plan);
      }
    }

    // A consumer's quota bounds one response to what its byte rate allows in one window (Kafka's getMaxValueInQuotaWindow).
    const quota = ctx.fetchQuota;
    if (quota && quota.maxBytes < request.maxBytes) request = { ...request, maxBytes: Math.max(0, Math.floor(quota.maxBytes)) };
    let bytes = await readAll(plans, request, ctx);
    // As in Kafka, an error in any partition (or a preferred read replica) answers at once instead of waiting for data.
    const anyError = responses.some((t) => t.partitions.some((p) => p.errorCode !== ErrorCode.NONE));
    const redirected = plans.some((p) => p.preferredReplica >= 0);
    if (bytes < request.minBytes && request.maxWaitMs > 0 && plans.length > 0 && !anyError && !redirected && !ctx.clientGone()) {
      if (!plans.some((p) => p.follower)) {
        const wait = waitForAppend(plans, request.maxWaitMs, ctx.signal);
        await (ctx.park ? ctx.park(wait) : wait);
        // Nobody to answer: the second read would be work for a closed connection.
        if (!ctx.clientGone()) await readAll(plans, request, ctx);
      } else {
        // A follower hears of no append: it re-reads MySQL until data comes or the wait ends.
        const deadline = Date.now() + request.maxWaitMs;
        while (bytes < request.minBytes && Date.now() < deadline && !ctx.clientGone()) {
          const wait = waitForAppend(plans.filter((p) => !p.follower), Math.min(FOLLOWER_POLL_MS, deadline - Date.now()), ctx.signal);
          await (ctx.park ? ctx.park(wait) : wait);
          if (!ctx.clientGone()) bytes = await readAll(plans, request, ctx);
        }
      }
    }
    if (quota) {
      const throttleTimeMs = quota.record(responseSize(responses));
      // Over a quota: nothing is sent, and the session learns nothing (the client asks again after the pause).
      if (throttleTimeMs > 0) return { throttleTimeMs, ...session.throttled(), nodeEndpoints: [] };
    }
    for (const plan of plans) {
      const sent = recordsSize(plan.response.records);
      if (sent > 0) ctx.broker.metrics.fetchedBytes.inc({ topic: plan.topicName }, sent);
    }
    return { throttleTimeMs: 0, ...session.finish(responses, ctx.broker.now()), nodeEndpoints: [] };
  },
  errorResponse(request, errorCode) {
    return errorForAll(request, errorCode);
  },
};

/**
 * What the response would weigh, for the byte quota: the records plus a fixed allowance per
 * topic and partition for their fields (an incremental session's answer may leave some out).
 */
function responseSize(responses: readonly TopicResponse[]): number {
  let size = 32;
  for (const t of responses) {
    size += 24 + t.topic.length;
    for (const p of t.partitions) size += 48 + recordsSize(p.records) + (p.abortedTransactions?.length ?? 0) * 12;
  }
  return size;
}

function lookupTopic(requested: RequestTopic, ctx: RequestContext): TopicRecord | undefined {
  if (ctx.apiVersion >= 13) {
    return requested.topicId === ZERO_UUID ? undefined : ctx.broker.catalog.getTopicById(requested.topicId);
  }
  return ctx.broker.catalog.getTopic(requested.topic);
}

function checkLeaderEpoch(requested: number, current: number): number {
  if (requested < 0 || requested === current) return ErrorCode.NONE;
  return requested > current ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

/**
 * Reads every planned partition within the request's limits; returns the bytes gathered. The
 * partitions are read concurrently, each with as much as it could be given, and the response
 * budget is applied afterwards in request order (fetch-assembly.ts), so the answer is the one
 * reading them one after another would give.
 */
async function readAll(plans: PartitionPlan[], request: FetchRequest, ctx: RequestContext): Promise<number> {
  const readCommitted = request.isolationLevel === READ_COMMITTED;
  const reads = plans.map((plan): Promise<PartitionReadOutcome> => {
    const log = plan.log!;
    const response = plan.response;
    response.errorCode = ErrorCode.NONE;
    if (plan.follower) return readAsFollower(plan, log, request, readCommitted);
    response.preferredReadReplica = plan.preferredReplica;
    response.highWatermark = log.highWatermark();
    response.lastStableOffset = log.lastStableOffset();
    response.logStartOffset = log.logStartOffset();
    response.records = [];
    const maxOffset = readCommitted ? response.lastStableOffset : response.highWatermark;
    if (plan.preferredReplica >= 0) return Promise.resolve(null);
    if (plan.fetchOffset === maxOffset && plan.fetchOffset >= response.logStartOffset) return Promise.resolve(null);
    const limit = concurrentReadLimit(plan.partitionMaxBytes, request.maxBytes);
    return log.read(plan.fetchOffset, limit, { maxOffset, minOneBatch: true }).then(
      (result) => ({ batches: result.batches }),
      (error: unknown) => ({ error }),
    );
  });
  const outcomes = await Promise.all(reads);
  const assembled = assembleFetch(
    outcomes,
    plans.map((p) => p.partitionMaxBytes),
    request.maxBytes,
  );
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    const outcome = outcomes[i];
    const part = assembled.partitions[i];
    if (part) {
      plan.response.records = part.batches;
      if (readCommitted) plan.response.abortedTransactions = plan.follower ? await abortedFromStorage(plan, part.batches) : abortedIn(plan, part.batches);
    } else if (outcome && 'error' in outcome) {
      recordFailure(plan.response, outcome.error, ctx, 'fetch read failed', { topic: plan.topicName, partition: plan.response.partitionIndex });
    }
  }
  return assembled.total;
}

/**
 * Resolves on the first commit to any of the partitions, after maxWaitMs, or when the client's
 * connection closes (`closed`), so a gone consumer's long poll holds no timer or subscription.
 */
function waitForAppend(plans: PartitionPlan[], maxWaitMs: number, closed: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribers: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      for (const unsubscribe of unsubscribers) unsubscribe();
      closed?.removeEventListener('abort', done);
      resolve();
    };
    timer = setTimeout(done, maxWaitMs);
    for (const plan of plans) unsubscribers.push(plan.log!.onAppend(done));
    closed?.addEventListener('abort', done, { once: true });
  });
}

/** A follower's read: offsets and batches from MySQL (the leader's memory is elsewhere). */
function readAsFollower(plan: PartitionPlan, log: PartitionLog, request: FetchRequest, readCommitted: boolean): Promise<PartitionReadOutcome> {
  if (!log.readAsFollower) return Promise.resolve({ error: new Error('this log cannot be read by a follower') });
  const limit = concurrentReadLimit(plan.partitionMaxBytes, request.maxBytes);
  return log.readAsFollower(plan.fetchOffset, limit, readCommitted).then(
    (r) => {
      plan.response.highWatermark = r.highWatermark;
      plan.response.lastStableOffset = r.lastStableOffset;
      plan.response.logStartOffset = r.logStartOffset;
      plan.response.records = [];
      return r.batches.length > 0 ? { batches: r.batches } : null;
    },
    (error: unknown) => ({ error }),
  );
}

/** A follower's aborted transactions overlapping the batches returned, from MySQL. */
async function abortedFromStorage(plan: PartitionPlan, batches: readonly Buffer[]): Promise<{ producerId: bigint; firstOffset: bigint }[]> {
  const last = batches[batches.length - 1];
  if (!last || last.length < 27 || !plan.log!.abortedFromStorage) return [];
  const end = last.readBigInt64BE(0) + BigInt(last.readInt32BE(23)) + 1n;
  return (await plan.log!.abortedFromStorage(plan.fetchOffset, end)).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
}

/** The aborted transactions overlapping the batches returned (none when there are none). */
function abortedIn(plan: PartitionPlan, batches: readonly Buffer[]): { producerId: bigint; firstOffset: bigint }[] {
  const last = batches[batches.length - 1];
  if (!last || last.length < 27) return [];
  const end = last.readBigInt64BE(0) + BigInt(last.readInt32BE(23)) + 1n;
  return plan.log!.abortedTransactions(plan.fetchOffset, end).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
}

function emptyPartition(partitionIndex: number, errorCode: number, isolationLevel: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    divergingEpoch: NO_EPOCH,
    currentLeader: NO_LEADER,
    snapshotId: NO_SNAPSHOT,
    abortedTransactions: isolationLevel === READ_COMMITTED ? [] : null,
    preferredReadReplica: -1,
    records: [],
  };
}

function errorForAll(request: FetchRequest, errorCode: number): FetchResponse {
  return {
    ...sessionError(errorCode),
    responses: request.topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => emptyPartition(p.partition, errorCode, request.isolationLevel)),
    })),
  };
}

function sessionError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
}
