/**
 * Produce (key 0), versions 0-11.
 * Validates each partition's records without decoding them (length, magic 2, CRC-32C, counts;
 * Kafka's one-batch-per-partition rule from v3), appends them through the partition log,
 * which group-commits to MySQL, and answers after the commit: acks=1 and acks=-1 both mean
 * "committed in MySQL". acks=0 gets no response, as in Kafka. All partitions of a request
 * are appended concurrently so they share MySQL transactions. v0-v2 message sets (magic 0/1)
 * are up-converted to one v2 batch.
 * With an authorizer: TOPIC_AUTHORIZATION_FAILED without WRITE on the topic,
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED / CLUSTER_AUTHORIZATION_FAILED for every partition without
 * WRITE on the transactional id / idempotent-write rights (server/security/authorizer/checks.ts).
 * Errors are per partition: UNKNOWN_TOPIC_OR_PARTITION, MESSAGE_TOO_LARGE, CORRUPT_MESSAGE,
 * INVALID_RECORD, INVALID_REQUIRED_ACKS, REQUEST_TIMED_OUT (commit slower than timeoutMs),
 * KAFKA_STORAGE_ERROR (MySQL unavailable; retriable). On a shard with replicas, acks=-1 with
 * min.insync.replicas >= 2 is answered only once a replica confirmed the commit (semi-sync):
 * NOT_ENOUGH_REPLICAS (nothing written) while no replica confirms, NOT_ENOUGH_REPLICAS_AFTER_APPEND
 * when the commit was not confirmed (storage/replication/semi-sync.ts).
 * Record timestamps outside the topic's message.timestamp.before/after.max.ms: INVALID_TIMESTAMP
 * with per-record errors, nothing written (server/produce/timestamp-check.ts; records are read
 * only for topics with a limit set).
 * Compacted topics (cleanup.policy with compact) refuse records without a key: INVALID_RECORD
 * with per-record errors, nothing written (server/compaction/produce-check.ts).
 * Idempotent and transactional producers (docs/transactions.md): sequence numbers are checked
 * per partition and producer when the batch is written (storage/producer-state.ts): a retry of
 * one of the producer's last five batches is answered with the original's base offset and not
 * written again; OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE as
 * Kafka 3.9. Control batches sent by a client are refused with INVALID_RECORD. A transactional
 * batch is accepted only from the current epoch of a producer whose ongoing transaction holds
 * the partition (Kafka's KIP-890 verification: the coordinator's state in memory, or its row in
 * MySQL when another broker coordinates the transactional id, remembered until the partition's
 * marker): INVALID_TXN_STATE otherwise, INVALID_PRODUCER_EPOCH for an older epoch.
 * Topics with message.id.header: records whose message id was accepted within
 * message.id.dedupe.window.ms are acknowledged and not appended (server/dedupe/produce-dedupe.ts).
 * Topics with delayed.delivery.enable (docs/delayed.md): records with a deliver-at header are held in
 * MySQL until due and records with cancel-message-id cancel one, neither appended; INVALID_RECORD with
 * per-record errors for a bad one (server/delayed/produce-hold.ts). When nothing is left to append
 * the base offset is -1 (an idempotent producer's emptied batch is still appended, for its sequence).
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { ProduceRequest, ProduceResponse } from '../../codec/generated/produce.js';
import { MAGIC, type BatchInfo } from '../../codec/records/batch-header.js';
import { upconvertMessageSet } from '../../codec/records/upconvert.js';
import { parseRecordBatches } from '../../codec/records/validate.js';
import type { AppendOptions, AppendResult, TopicRecord } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { mayRetain } from '../net/frame-splitter.js';
import { acceptKeysOfCompactedTopic } from '../compaction/produce-check.js';
import { acceptTimestamps } from '../produce/timestamp-check.js';
import { produceSettingsOf, type ProduceSettings } from '../produce/topic-settings.js';
import type { BoundCounter, BrokerMetrics } from '../metrics.js';
import { MessageIdDedupe, type DedupedAppend } from '../dedupe/produce-dedupe.js';
import { delayedEnabled } from '../delayed/produce-hold.js';
import { authorizeTopic, Op, produceRefusal } from '../security/authorizer/checks.js';
import { recordFailure } from './errors.js';

type TopicResponse = ProduceResponse['responses'][number];
type PartitionResponse = TopicResponse['partitionResponses'][number];

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: 0,
  minVersion: 0,
  maxVersion: 11,
  // Not async, nor appendPartition's checks: a request's checks run at once, and only what waits
  // (the commit) is a promise (an async function's frame is allocated per call: about 1-2 KB each).
  handle(request, ctx) {
    const acks = request.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const pending: Promise<void>[] = [];
    const responses: TopicResponse[] = [];
    // ACLs: the transactional id or idempotence for every partition, then WRITE per topic.
    const refused = produceRefusal(ctx, request.transactionalId, request.topicData);
    for (const topicData of request.topicData) {
      const topic = ctx.broker.catalog.getTopic(topicData.name);
      const partitionResponses: PartitionResponse[] = [];
      responses.push({ name: topicData.name, partitionResponses });
      for (const partitionData of topicData.partitionData) {
        const response = partitionResponse(partitionData.index, ErrorCode.NONE);
        partitionResponses.push(response);
        if (!validAcks) response.errorCode = ErrorCode.INVALID_REQUIRED_ACKS;
        else if (refused !== ErrorCode.NONE) response.errorCode = refused;
        else if (!authorizeTopic(ctx, Op.WRITE, topicData.name)) response.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        else if (!topic || partitionData.index < 0 || partitionData.index >= topic.partitionCount) {
          response.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else {
          const records = partitionData.records;
          const appended = appendPartition(topic, partitionData.index, records as Buffer | null, request.timeoutMs, acks, request.transactionalId, response, ctx);
          if (appended !== undefined) pending.push(appended);
        }
      }
    }
    const result = acks === 0 ? undefined : { responses, throttleTimeMs: 0, nodeEndpoints: [] };
    if (pending.length === 0) return result;
    // All partitions of the request are appended at once (they share MySQL transactions).
    return (pending.length === 1 ? pending[0]! : Promise.all(pending)).then(() => result);
  },
  errorResponse(request, errorCode) {
    return {
      responses: request.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => partitionResponse(p.index, errorCode)),
      })),
      throttleTimeMs: 0,
      nodeEndpoints: [],
    };
  },
};

function partitionResponse(index: number, errorCode: number): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage: null,
    currentLeader: NO_LEADER,
  };
}

/** What the checks of a partition's records leave to append. */
interface Checked {
  batchBytes: Buffer;
  batches: BatchInfo[];
  settings: ProduceSettings;
}

/**
 * Appends one partition's records and fills its response; never rejects (failures become the
 * partition's error code). Undefined when the checks already answered: nothing to wait for.
 */
function appendPartition(
  topic: TopicRecord,
  partition: number,
  records: Buffer | null,
  timeoutMs: number,
  acks: number,
  transactionalId: string | null,
  response: PartitionResponse,
  ctx: RequestContext,
): Promise<void> | undefined {
  let checked: Checked | null;
  try {
    checked = check(topic, partition, records, response, ctx);
  } catch (err) {
    recordFailure(response, err, ctx, 'append failed', { topic: topic.name, partition });
    return undefined;
  }
  if (checked === null) return undefined;
  const { broker } = ctx;
  const first = checked.batches[0];
  const transactional = first !== undefined && first.isTransactional && first.producerId >= 0n;
  const delayed = broker.delayed != null && delayedEnabled(topic);
  const header = broker.messageIds ? MessageIdDedupe.headerOf(topic) : null;
  if (transactional || delayed || header !== null) return appendWithFeatures(topic, partition, records!, checked, timeoutMs, acks, transactionalId, header, response, ctx);
  return commit(topic, partition, records!, checked, timeoutMs, acks, null, response, ctx);
}

/** The synchronous checks: null when they answered the partition already (refused records). */
function check(topic: TopicRecord, partition: number, records: Buffer | null, response: PartitionResponse, ctx: RequestContext): Checked | null {
  const { broker } = ctx;
  if (records === null || records.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'no records');
  // Several brokers: only the partition's leader appends (Kafka's answer elsewhere; the client refreshes its metadata).
  if (broker.cluster.leaderOf(topic.topicId, partition) !== broker.cluster.self.nodeId) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'this broker does not lead the partition');
  const settings = produceSettingsOf(topic, broker.config);
  const { maxBatchBytes } = settings;
  let batchBytes = records;
  if (records.length > MAGIC && records[MAGIC]! < 2) {
    if (ctx.apiVersion >= 3) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce v3+ requires record batch v2');
    batchBytes = upconvertMessageSet(records, { maxBatchBytes });
  }
  const batches = parseRecordBatches(batchBytes, { maxBatchBytes, singleBatch: ctx.apiVersion >= 3 });
  if (!acceptKeysOfCompactedTopic(topic, partition, broker.config, batchBytes, batches, response, settings.compacted)) return null;
  if (settings.timestampLimits !== null && !acceptTimestamps(topic, broker.config, batchBytes, batches, response, broker.now(), settings.timestampLimits)) return null;
  for (const b of batches) {
    if (b.isControl) throw new KafkaError(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
  }
  return { batchBytes, batches, settings };
}

/** Transactional batches, delayed delivery, message-id deduplication: their steps, then the commit. */
async function appendWithFeatures(
  topic: TopicRecord,
  partition: number,
  records: Buffer,
  checked: Checked,
  timeoutMs: number,
  acks: number,
  transactionalId: string | null,
  header: string | null,
  response: PartitionResponse,
  ctx: RequestContext,
): Promise<void> {
  const { broker } = ctx;
  let dedupe: DedupedAppend | null = null;
  try {
    let { batchBytes, batches } = checked;
    const first = batches[0];
    if (first !== undefined && first.isTransactional && first.producerId >= 0n) {
      // KIP-890 verification: only into a partition of the producer's ongoing transaction, as its
      // coordinator recorded it (in memory here, or in MySQL when another broker coordinates the id).
      const verdict = broker.transactions?.verifyWrite(transactionalId, first.producerId, first.producerEpoch, topic.name, partition, broker.cluster.leaderEpochOf(topic.topicId, partition));
      const code = verdict === undefined ? ErrorCode.INVALID_TXN_STATE : typeof verdict === 'number' ? verdict : await verdict;
      if (code !== ErrorCode.NONE) throw new KafkaError(code, 'the partition is not in an ongoing transaction of this producer epoch');
    }
    // delayed.delivery.enable: deliver-at records held until due, cancels applied; before dedupe, which would record held ids as accepted.
    if (broker.delayed && delayedEnabled(topic)) {
      const held = await broker.delayed.apply(topic, partition, broker.config, batchBytes, batches, broker.now(), response);
      if (held === false) return;
      if (held !== null) {
        if (held.records === null) return;
        batchBytes = held.records;
        batches = held.batches;
      }
    }
    // message.id.header: records whose id was accepted within the window are removed (server/dedupe/).
    if (header !== null) {
      dedupe = await broker.messageIds!.prepare(topic, broker.config, header, batchBytes, batches, broker.now());
      batchBytes = dedupe.records;
      batches = dedupe.batches;
    }
    await commit(topic, partition, records, { batchBytes, batches, settings: checked.settings }, timeoutMs, acks, dedupe, response, ctx);
  } catch (err) {
    recordFailure(response, err, ctx, 'append failed', { topic: topic.name, partition });
  } finally {
    dedupe?.done();
  }
}

/** Appends through the partition log (group commit) and answers with the offsets; never rejects. */
async function commit(
  topic: TopicRecord,
  partition: number,
  records: Buffer,
  { batchBytes, batches, settings }: Checked,
  timeoutMs: number,
  acks: number,
  dedupe: DedupedAppend | null,
  response: PartitionResponse,
  ctx: RequestContext,
): Promise<void> {
  const { broker } = ctx;
  try {
    // Records up-converted here, or most of a frame the connection allocated for this request
    // alone, are handed over: the log keeps them instead of copying.
    const retainable = batchBytes !== records || mayRetain(records, ctx.frameOwned === true);
    const options: AppendOptions = {
      logAppendTime: settings.logAppendTime,
      leaderEpoch: broker.cluster.leaderEpochOf(topic.topicId, partition),
      retainable,
      // acks=-1: the records must reach min.insync.replicas MySQL servers (a shard's replicas, semi-sync).
      minInsyncReplicas: acks === -1 ? settings.minInsyncReplicas : 1,
    };
    if (dedupe?.messageIds) options.messageIds = dedupe.messageIds;
    const log = await broker.logs.getLog(topic.topicId, partition);
    const result = await withTimeout(log.append(batchBytes, batches, options), timeoutMs);
    if (result === null) {
      response.errorCode = ErrorCode.REQUEST_TIMED_OUT;
      return;
    }
    response.baseOffset = result.baseOffset;
    response.logAppendTimeMs = result.logAppendTimeMs;
    response.logStartOffset = result.logStartOffset;
    if (result.duplicate === true) return;
    const produced = producedSeries(topic, broker.metrics);
    produced.bytes.inc(batchBytes.length);
    produced.batches.inc(batches.length);
  } catch (err) {
    recordFailure(response, err, ctx, 'append failed', { topic: topic.name, partition });
  }
}

/** Resolves null when the append is not committed within timeoutMs (it may still commit later, as in Kafka). */
function withTimeout(append: Promise<AppendResult>, timeoutMs: number): Promise<AppendResult | null> {
  if (timeoutMs <= 0) return append;
  // One promise and one timer per request (Promise.race and finally made four promises more).
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, timeoutMs, null);
    append.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** The topic's produced-bytes and -batches series, bound once per topic record and metrics registry. */
const producedByTopic = new WeakMap<TopicRecord, { metrics: BrokerMetrics; bytes: BoundCounter; batches: BoundCounter }>();

function producedSeries(topic: TopicRecord, metrics: BrokerMetrics): { bytes: BoundCounter; batches: BoundCounter } {
  let series = producedByTopic.get(topic);
  if (series === undefined || series.metrics !== metrics) {
    series = { metrics, bytes: metrics.producedBytes.bind({ topic: topic.name }), batches: metrics.producedBatches.bind({ topic: topic.name }) };
    producedByTopic.set(topic, series);
  }
  return series;
}
