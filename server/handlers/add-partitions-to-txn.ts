/**
 * AddPartitionsToTxn (key 24), versions 0-5.
 * Adds partitions to the producer's ongoing transaction (starting one), through the transaction
 * coordinator (server/transactions/coordinator.ts), state committed to MySQL before the answer.
 * v0-3: one transactional id, per-partition errors. v4+: a batch of transactions, each with its
 * own results, and VerifyOnly (Kafka's broker-to-broker check: NONE where the partition is in
 * the ongoing transaction, INVALID_TXN_STATE where not, nothing added).
 * Errors per partition: UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist (the others
 * OPERATION_NOT_ATTEMPTED, as Kafka), INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (v2+; older
 * versions INVALID_PRODUCER_EPOCH), CONCURRENT_TRANSACTIONS while markers are being written,
 * NOT_COORDINATOR, INVALID_REQUEST for an empty or over-long (1024 bytes) transactional id.
 */
import { authorizeTransactionalId, Op, partitionTopics } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../codec/generated/add-partitions-to-txn.js';
import type { TxnPartitionResult } from '../transactions/coordinator.js';
import type { ApiHandler } from '../handler-types.js';

type Topics = AddPartitionsToTxnRequest['v3AndBelowTopics'];
type TopicResults = AddPartitionsToTxnResponse['resultsByTopicV3AndBelow'];

export const addPartitionsToTxnHandler: ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: 24,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const coordinator = ctx.broker.transactions;
    const run = async (id: string, pid: bigint, epoch: number, topics: Topics, verifyOnly: boolean): Promise<TopicResults> => {
      const partitions = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
      // ACLs: WRITE on the transactional id, then on every topic (the others OPERATION_NOT_ATTEMPTED, as Kafka).
      if (!authorizeTransactionalId(ctx, Op.WRITE, id)) return group(partitions.map((p) => ({ ...p, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED })));
      const { denied } = partitionTopics(ctx, Op.WRITE, topics.map((t) => t.name));
      if (denied.size > 0) return group(partitions.map((p) => ({ ...p, errorCode: denied.has(p.topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED })));
      const results = coordinator
        ? await coordinator.addPartitions(id, pid, epoch, partitions, ctx.apiVersion, verifyOnly)
        : partitions.map((p) => ({ ...p, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }));
      return group(results);
    };
    if (ctx.apiVersion <= 3) {
      const results = await run(request.v3AndBelowTransactionalId, request.v3AndBelowProducerId, request.v3AndBelowProducerEpoch, request.v3AndBelowTopics, false);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results };
    }
    const resultsByTransaction = [];
    for (const t of request.transactions) {
      resultsByTransaction.push({ transactionalId: t.transactionalId, topicResults: await run(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly) });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
  errorResponse(request, errorCode, ctx) {
    const all = (topics: Topics): TopicResults =>
      topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })) }));
    if (ctx.apiVersion <= 3) return { throttleTimeMs: 0, errorCode, resultsByTransaction: [], resultsByTopicV3AndBelow: all(request.v3AndBelowTopics) };
    return {
      throttleTimeMs: 0,
      errorCode,
      resultsByTransaction: request.transactions.map((t) => ({ transactionalId: t.transactionalId, topicResults: all(t.topics) })),
      resultsByTopicV3AndBelow: [],
    };
  },
};

function group(results: TxnPartitionResult[]): TopicResults {
  const byTopic = new Map<string, TopicResults[number]>();
  for (const r of results) {
    let t = byTopic.get(r.topic);
    if (!t) byTopic.set(r.topic, (t = { name: r.topic, resultsByPartition: [] }));
    t.resultsByPartition.push({ partitionIndex: r.partition, partitionErrorCode: r.errorCode });
  }
  return [...byTopic.values()];
}
