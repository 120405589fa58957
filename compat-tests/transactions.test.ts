/**
 * Transactions (docs/transactions.md), real clients on a real MariaDB:
 * - kafkajs: send + sendOffsets + commit, then send + abort; a read_committed consumer gets the
 *   committed records only, a read_uncommitted one all of them; the group's committed offset
 *   moves only with the commit;
 * - raw: the last stable offset stops at an open transaction (Fetch and ListOffsets
 *   read_committed), Fetch lists the aborted transaction, the markers are control batches as
 *   Kafka writes them;
 * - confluent-kafka-python: a transactional producer (commit and abort) and an
 *   isolation.level=read_committed consumer;
 * - fencing: a second kafkajs producer with the same transactional id aborts the first one's
 *   open transaction; the zombie cannot commit and its records never reach read_committed;
 * - bad input: EndTxn for an unknown transactional id, an over-long transactional id, a
 *   transactional batch for a partition not in the transaction; nothing is written;
 * - timeout: a transaction open longer than its timeout is aborted by the broker.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndTxnRequest } from '../codec/generated/end-txn.js';
import { createFetchRequest } from '../codec/generated/fetch.js';
import { createInitProducerIdRequest } from '../codec/generated/init-producer-id.js';
import { createListOffsetsRequest } from '../codec/generated/list-offsets.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { createAddPartitionsToTxnRequest } from '../codec/generated/add-partitions-to-txn.js';
import { controlType } from '../codec/records/control-batch.js';
import { buildRecordBatch, decodeBatchRecords } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, pollUntil, requirePython, runPython, splitBatches } from './support/clients.js';

let tb: TestBroker;
let kafka: Kafka;

beforeAll(async () => {
  tb = await startTestBroker('transactions', {
    'num.partitions': 1,
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': 200,
  });
  kafka = new Kafka({ clientId: 'txn-tests', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: ['txn-in', 'txn-out', 'txn-raw', 'txn-py', 'txn-fence', 'txn-bad', 'txn-timeout'].map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
});

afterAll(async () => {
  await tb?.stop();
});

/** Reads a topic from the beginning with a kafkajs consumer until `count` records arrived. */
async function consumeValues(topic: string, readUncommitted: boolean, count: number): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${topic}-${readUncommitted}-${Math.random()}`, readUncommitted, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
    await pollUntil(async () => values.length >= count, 20_000);
    // A little longer, to see anything that should not be there.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('transactions with kafkajs', () => {
  it('commits records and offsets together; aborted records reach read_uncommitted consumers only', async () => {
    const producer = kafka.producer({ transactionalId: 'kafkajs-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const t1 = await producer.transaction();
      await t1.send({ topic: 'txn-out', messages: [{ value: 'c1' }, { value: 'c2' }] });
      await t1.sendOffsets({ consumerGroupId: 'copier', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '7' }] }] });
      // Offsets are not visible before the commit.
      expect((await admin.fetchOffsets({ groupId: 'copier', topics: ['txn-in'] }))[0]!.partitions[0]!.offset).toBe('-1');
      await t1.commit();
      expect((await admin.fetchOffsets({ groupId: 'copier', topics: ['txn-in'] }))[0]!.partitions[0]!.offset).toBe('7');

      const t2 = await producer.transaction();
      await t2.send({ topic: 'txn-out', messages: [{ value: 'a1' }, { value: 'a2' }] });
      await t2.sendOffsets({ consumerGroupId: 'copier', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '9' }] }] });
      await t2.abort();
      expect((await admin.fetchOffsets({ groupId: 'copier', topics: ['txn-in'] }))[0]!.partitions[0]!.offset).toBe('7');

      const t3 = await producer.transaction();
      await t3.send({ topic: 'txn-out', messages: [{ value: 'c3' }] });
      await t3.commit();
    } finally {
      await admin.disconnect();
      await producer.disconnect();
    }
    expect(await consumeValues('txn-out', false, 3)).toEqual(['c1', 'c2', 'c3']);
    expect(await consumeValues('txn-out', true, 5)).toEqual(['c1', 'c2', 'a1', 'a2', 'c3']);
  });

  it('fences a zombie: its open transaction is aborted and never visible to read_committed', async () => {
    const zombie = kafka.producer({ transactionalId: 'fenced-id', idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 50 } });
    await zombie.connect();
    const zt = await zombie.transaction();
    await zt.send({ topic: 'txn-fence', messages: [{ value: 'zombie-1' }] });

    const successor = kafka.producer({ transactionalId: 'fenced-id', idempotent: true, maxInFlightRequests: 1 });
    await successor.connect();
    const st = await successor.transaction();
    await st.send({ topic: 'txn-fence', messages: [{ value: 'new-1' }] });
    await st.commit();

    const late = await zt.send({ topic: 'txn-fence', messages: [{ value: 'zombie-2' }] }).then(() => null, (e: unknown) => e);
    expect(late).not.toBeNull();
    const commit = await zt.commit().then(() => null, (e: unknown) => e);
    expect(commit).not.toBeNull();
    await zombie.disconnect().catch(() => undefined);
    await successor.disconnect();

    expect(await consumeValues('txn-fence', false, 1)).toEqual(['new-1']);
    expect(await consumeValues('txn-fence', true, 1)).toEqual(['zombie-1', 'new-1']);
  });
});

describe('transactions on the wire', () => {
  let raw: RawClient;
  beforeAll(async () => {
    raw = await RawClient.connect(tb.port);
  });
  afterAll(() => raw?.close());

  async function init(id: string, timeoutMs = 60_000) {
    const r = await raw.request(22, 4, createInitProducerIdRequest({ transactionalId: id, transactionTimeoutMs: timeoutMs }));
    expect(r.errorCode).toBe(0);
    return { producerId: r.producerId, producerEpoch: r.producerEpoch };
  }
  async function addPartition(id: string, p: { producerId: bigint; producerEpoch: number }, topic: string) {
    const r = await raw.request(24, 3, createAddPartitionsToTxnRequest({ v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] }));
    return r.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode;
  }
  async function produceTxn(p: { producerId: bigint; producerEpoch: number }, topic: string, seq: number, values: string[]) {
    const records = buildRecordBatch({ ...p, baseSequence: seq, transactional: true, records: values.map((value) => ({ value })) });
    const r = await raw.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 30_000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }));
    return r.responses[0]!.partitionResponses[0]!;
  }
  async function endTxn(id: string, p: { producerId: bigint; producerEpoch: number }, committed: boolean) {
    return (await raw.request(26, 3, createEndTxnRequest({ transactionalId: id, ...p, committed }))).errorCode;
  }
  async function fetchCommitted(topic: string) {
    const r = await raw.request(1, 12, createFetchRequest({ maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }] }));
    return r.responses[0]!.partitions[0]!;
  }
  async function latest(topic: string, isolationLevel: number) {
    const r = await raw.request(2, 5, createListOffsetsRequest({ replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] }));
    return r.topics[0]!.partitions[0]!.offset;
  }

  it('keeps the last stable offset at an open transaction and lists aborted ones', async () => {
    const id = 'raw-lso';
    const p = await init(id);
    expect(await addPartition(id, p, 'txn-raw')).toBe(0);
    expect((await produceTxn(p, 'txn-raw', 0, ['t0', 't1'])).errorCode).toBe(0);
    // Open transaction at offset 0: LSO 0, HW 2.
    expect(await latest('txn-raw', 1)).toBe(0n);
    expect(await latest('txn-raw', 0)).toBe(2n);
    const open = await fetchCommitted('txn-raw');
    expect(open).toMatchObject({ highWatermark: 2n, lastStableOffset: 0n });
    expect(splitBatches(open.records)).toHaveLength(0);

    expect(await endTxn(id, p, false)).toBe(0);
    // Abort marker at offset 2: LSO = HW = 3; the aborted transaction is listed.
    const done = await fetchCommitted('txn-raw');
    expect(done).toMatchObject({ highWatermark: 3n, lastStableOffset: 3n, abortedTransactions: [{ producerId: p.producerId, firstOffset: 0n }] });
    const batches = splitBatches(done.records);
    expect(batches).toHaveLength(2);
    const marker = batches[1]!;
    expect(marker.readInt16BE(21) & 0x30).toBe(0x30); // transactional + control attributes
    expect(marker.readBigInt64BE(43)).toBe(p.producerId);
    expect(marker.readInt32BE(53)).toBe(-1); // base sequence
    const [markerRecord] = decodeBatchRecords(marker);
    expect(controlType(markerRecord!.key)).toBe(0); // abort
    expect(markerRecord!.value!.readInt16BE(0)).toBe(0);
    // A retried EndTxn of the completed transaction is fine; the opposite outcome is not.
    expect(await endTxn(id, p, false)).toBe(0);
    expect(await endTxn(id, p, true)).toBe(48); // INVALID_TXN_STATE
  });

  it('refuses bad input with Kafka errors and writes nothing', async () => {
    // EndTxn for a transactional id that does not exist.
    expect(await endTxn('no-such-txn', { producerId: 12345n, producerEpoch: 0 }, true)).toBe(49); // INVALID_PRODUCER_ID_MAPPING
    // A transactional id over 1024 bytes.
    const huge = await raw.request(22, 4, createInitProducerIdRequest({ transactionalId: 'x'.repeat(5000), transactionTimeoutMs: 1000 }));
    expect(huge.errorCode).toBe(42); // INVALID_REQUEST
    // A timeout over transaction.max.timeout.ms.
    expect((await raw.request(22, 4, createInitProducerIdRequest({ transactionalId: 'too-long', transactionTimeoutMs: 10_000_000 }))).errorCode).toBe(50);
    // Transactional records for a partition never added to the transaction, or with no transaction.
    const p = await init('bad-input');
    expect((await produceTxn(p, 'txn-bad', 0, ['not-added'])).errorCode).toBe(48);
    // A client's control batch.
    const control = buildRecordBatch({ ...p, baseSequence: -1, transactional: true, control: true, records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
    const r = await raw.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 30_000, topicData: [{ name: 'txn-bad', partitionData: [{ index: 0, records: control }] }] }));
    expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(87); // INVALID_RECORD
    // AddPartitions with a stale epoch (v2+: PRODUCER_FENCED) and for an unknown partition.
    expect(await addPartition('bad-input', { producerId: p.producerId, producerEpoch: p.producerEpoch - 1 }, 'txn-bad')).toBe(90);
    expect(await addPartition('bad-input', p, 'txn-no-such-topic')).toBe(3);
    expect(await latest('txn-bad', 0)).toBe(0n);
  });

  it('aborts a transaction open longer than its timeout and fences its producer', async () => {
    const id = 'raw-timeout';
    const p = await init(id, 1000);
    expect(await addPartition(id, p, 'txn-timeout')).toBe(0);
    expect((await produceTxn(p, 'txn-timeout', 0, ['late'])).errorCode).toBe(0);
    expect(await pollUntil(async () => (await latest('txn-timeout', 1)) === 2n, 10_000)).toBe(true);
    const done = await fetchCommitted('txn-timeout');
    expect(done.abortedTransactions).toEqual([{ producerId: p.producerId, firstOffset: 0n }]);
    // The producer was fenced (its epoch bumped by the abort).
    expect(await endTxn(id, p, true)).toBe(90); // PRODUCER_FENCED
  });
});

describe('transactions with confluent-kafka-python', () => {
  it('a transactional producer and a read_committed consumer', async () => {
    requirePython(['confluent_kafka']);
    const script = String.raw`
import sys, json, time
from confluent_kafka import Producer, Consumer
bootstrap, topic = sys.argv[1], sys.argv[2]
p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': 'py-txn', 'enable.idempotence': True})
p.init_transactions(30)
p.begin_transaction()
for i in range(100):
    p.produce(topic, value=('c%d' % i).encode(), partition=0)
p.commit_transaction(30)
p.begin_transaction()
for i in range(50):
    p.produce(topic, value=('a%d' % i).encode(), partition=0)
p.flush(30)
p.abort_transaction(30)
p.begin_transaction()
p.produce(topic, value=b'last', partition=0)
p.commit_transaction(30)
def read(level):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'py-' + level, 'auto.offset.reset': 'earliest', 'isolation.level': level, 'enable.auto.commit': False})
    c.subscribe([topic])
    got = []
    deadline = time.time() + 20
    idle = 0
    while time.time() < deadline and idle < 10:
        m = c.poll(0.2)
        if m is None or m.error():
            idle += 1 if got else 0
            continue
        idle = 0
        got.append(m.value().decode())
    c.close()
    return got
print(json.dumps({'committed': read('read_committed'), 'uncommitted': read('read_uncommitted')}))
`;
    const result = await runPython(script, [tb.bootstrap, 'txn-py'], { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.toString().trim().split('\n').pop()!) as { committed: string[]; uncommitted: string[] };
    const committed = [...Array.from({ length: 100 }, (_, i) => `c${i}`), 'last'];
    expect(out.committed).toEqual(committed);
    expect(out.uncommitted).toEqual([...committed.slice(0, 100), ...Array.from({ length: 50 }, (_, i) => `a${i}`), 'last']);
  });
});
