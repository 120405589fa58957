/**
 * Coordinator recovery between prepare and complete (docs/transactions.md, Recovery): two
 * transactions, each with records in two partitions (and the first with offsets for a group),
 * are left open; the built broker process is killed with SIGKILL; through a test pool their
 * txn_state rows are set to PrepareCommit and PrepareAbort, which is what MySQL holds when a
 * broker dies after EndTxn's prepare and before its markers; the broker is restarted on the
 * same database. It must write the markers before it serves anyone: a COMMIT marker in both
 * partitions for the first producer and an ABORT marker for the second, the rows complete, the
 * group's offset moved by the committed transaction only, the last stable offset back at the
 * high watermark, and read_committed readers (raw Fetch and a kafkajs consumer) seeing exactly
 * the committed records.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createAddOffsetsToTxnRequest } from '../codec/generated/add-offsets-to-txn.js';
import { createAddPartitionsToTxnRequest } from '../codec/generated/add-partitions-to-txn.js';
import { createFetchRequest } from '../codec/generated/fetch.js';
import { createInitProducerIdRequest } from '../codec/generated/init-producer-id.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { createTxnOffsetCommitRequest } from '../codec/generated/txn-offset-commit.js';
import { controlType } from '../codec/records/control-batch.js';
import { buildRecordBatch, decodeBatchRecords } from '../codec/records/records.js';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { RawClient, splitBatches } from './support/clients.js';
import { waitFor } from './support/wait.js';
import { freePort } from '../storage/managed-mariadb.js';

const TOPIC = 'recover';

let broker: BrokerProcess | undefined;
let url: string | undefined;

afterAll(async () => {
  await broker?.kill();
  if (url) await dropTestDatabase(url);
});

interface Pid {
  producerId: bigint;
  producerEpoch: number;
}

async function openTransaction(raw: RawClient, id: string, prefix: string, group: string | null): Promise<Pid> {
  const init = await raw.request(22, 4, createInitProducerIdRequest({ transactionalId: id, transactionTimeoutMs: 600_000 }));
  expect(init.errorCode).toBe(0);
  const p = { producerId: init.producerId, producerEpoch: init.producerEpoch };
  const add = await raw.request(24, 3, createAddPartitionsToTxnRequest({ v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0, 1] }] }));
  expect(add.resultsByTopicV3AndBelow[0]!.resultsByPartition.map((r) => r.partitionErrorCode)).toEqual([0, 0]);
  for (const partition of [0, 1]) {
    const records = buildRecordBatch({ ...p, baseSequence: 0, transactional: true, records: [0, 1, 2].map((i) => ({ value: `${prefix}-${partition}-${i}` })) });
    const r = await raw.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] }));
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
  }
  if (group !== null) {
    expect((await raw.request(25, 3, createAddOffsetsToTxnRequest({ transactionalId: id, ...p, groupId: group }))).errorCode).toBe(0);
    const c = await raw.request(28, 3, createTxnOffsetCommitRequest({ transactionalId: id, groupId: group, ...p, topics: [{ name: 'upstream', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }] }));
    expect(c.topics[0]!.partitions[0]!.errorCode).toBe(0);
  }
  return p;
}

async function fetchCommitted(raw: RawClient, partition: number) {
  const r = await raw.request(1, 12, createFetchRequest({ maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ topic: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }] }));
  return r.responses[0]!.partitions[0]!;
}

describe('transaction coordinator recovery between prepare and complete', () => {
  it('writes the markers of prepared transactions on restart', { timeout: 120_000 }, async () => {
    url = await createTestDatabase('txn_recovery');
    const port = await freePort();
    const settings = { 'mysql.url': url, listeners: `PLAINTEXT://127.0.0.1:${port}`, 'num.partitions': 2, 'group.initial.rebalance.delay.ms': 0 };
    broker = await spawnBroker(settings);
    const kafka = new Kafka({ clientId: 'txn-recovery', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }, { topic: 'upstream', numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    let raw = await RawClient.connect(port);
    const committer = await openTransaction(raw, 'to-commit', 'c', 'recovery-group');
    const aborter = await openTransaction(raw, 'to-abort', 'a', null);
    // Both open: nothing is stable yet.
    for (const p of [0, 1]) expect(await fetchCommitted(raw, p)).toMatchObject({ highWatermark: 6n, lastStableOffset: 0n });
    raw.close();
    await broker.kill();

    // What MySQL holds when the coordinator died after EndTxn's prepare, before the markers.
    const pool = openTestPool(url);
    try {
      await pool.query("UPDATE txn_state SET state = 'PrepareCommit' WHERE transactional_id = ?", [Buffer.from('to-commit')]);
      await pool.query("UPDATE txn_state SET state = 'PrepareAbort' WHERE transactional_id = ?", [Buffer.from('to-abort')]);
      broker = await spawnBroker(settings);
      const [rows] = await pool.query('SELECT CAST(transactional_id AS CHAR) AS id, state, partitions FROM txn_state ORDER BY id');
      expect(rows).toEqual([
        { id: 'to-abort', state: 'CompleteAbort', partitions: '[]' },
        { id: 'to-commit', state: 'CompleteCommit', partitions: '[]' },
      ]);
    } finally {
      await pool.end();
    }

    // Markers: one per transaction per partition, of the right type (the two transactions are
    // completed concurrently, so in either order).
    raw = await RawClient.connect(port);
    try {
      for (const p of [0, 1]) {
        const data = await fetchCommitted(raw, p);
        expect(data).toMatchObject({ highWatermark: 8n, lastStableOffset: 8n, abortedTransactions: [{ producerId: aborter.producerId, firstOffset: 3n }] });
        const batches = splitBatches(data.records);
        const markers = batches.filter((b) => (b.readInt16BE(21) & 0x20) !== 0);
        const found = markers.map((b) => [b.readBigInt64BE(43), controlType(decodeBatchRecords(b)[0]!.key)] as const);
        expect(found.sort((x, y) => x[1] - y[1])).toEqual([
          [aborter.producerId, 0],
          [committer.producerId, 1],
        ]);
      }
    } finally {
      raw.close();
    }

    // The committed transaction's offsets reached the group.
    const checkAdmin = kafka.admin();
    await checkAdmin.connect();
    const offsets = await checkAdmin.fetchOffsets({ groupId: 'recovery-group', topics: ['upstream'] });
    await checkAdmin.disconnect();
    expect(offsets[0]!.partitions[0]!.offset).toBe('42');

    // A read_committed kafkajs consumer sees the committed records and nothing else.
    const consumer = kafka.consumer({ groupId: 'recovery-reader', readUncommitted: false, maxWaitTimeInMs: 100 });
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await waitFor(() => values.length >= 6, 'six committed records', 20_000);
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    expect(values.sort()).toEqual(['c-0-0', 'c-0-1', 'c-0-2', 'c-1-0', 'c-1-1', 'c-1-2']);
  });
});
