/**
 * `kafka-mysql transactions` (server/cli/transactions.ts) against a broker with kafkajs
 * transactional producers: list and describe show an open transaction with its partitions,
 * describe-producers shows where it starts in a partition, abort (Kafka's
 * --topic --partition --start-offset form and --transactional-id) aborts it through the
 * coordinator: its records never reach a read_committed consumer, the last stable offset moves
 * past it and the producer is fenced. Refusals: unknown id, no open transaction, no
 * transaction at that offset, bad flags.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { pollUntil } from './support/clients.js';
import { runCli } from './retention-support.js';

let tb: TestBroker;
let kafka: Kafka;
const producers: Producer[] = [];

beforeAll(async () => {
  tb = await startTestBroker('cli_txn', { 'num.partitions': 2 });
  kafka = new Kafka({ clientId: 'cli-txn-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'ct', numPartitions: 2 }, { topic: 'ct-done', numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
});

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => undefined);
  await tb?.stop();
});

const cli = (...args: string[]) => runCli([...args, '--bootstrap-server', tb.bootstrap]);
const json = <T = any>(stdout: string): T => JSON.parse(stdout) as T;

async function transactional(id: string): Promise<Producer> {
  const p = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 50 } });
  producers.push(p);
  await p.connect();
  return p;
}

async function committedValues(topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `cli-txn-reader-${Math.random()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
  await pollUntil(async () => values.length >= count, 20_000);
  await new Promise((r) => setTimeout(r, 300));
  await consumer.disconnect();
  return values;
}

describe('kafka-mysql transactions', () => {
  it('lists, describes and aborts open transactions', async () => {
    const done = await transactional('cli-done');
    const t0 = await done.transaction();
    await t0.send({ topic: 'ct-done', messages: [{ value: 'done' }] });
    await t0.commit();

    const open = await transactional('cli-open');
    const t1 = await open.transaction();
    await t1.send({ topic: 'ct', messages: [{ partition: 0, value: 'open-0' }, { partition: 1, value: 'open-1' }] });

    const list = await cli('transactions', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    const listed = json<{ transactions: Array<{ transactionalId: string; producerId: string; state: string; coordinator: number }> }>(list.stdout).transactions;
    expect(listed.map((t) => [t.transactionalId, t.state, t.coordinator])).toEqual([
      ['cli-done', 'CompleteCommit', 0],
      ['cli-open', 'Ongoing', 0],
    ]);
    const onlyOpen = await cli('transactions', 'list', '--state', 'Ongoing');
    expect(onlyOpen.stdout.split('\n')[0]).toMatch(/^TRANSACTIONAL-ID\s+COORDINATOR\s+PRODUCER-ID\s+STATE$/);
    expect(onlyOpen.stdout).toContain('cli-open');
    expect(onlyOpen.stdout).not.toContain('cli-done');

    const described = await cli('transactions', 'describe', '--transactional-id', 'cli-open', '--json');
    expect(described.code, described.stderr).toBe(0);
    const d = json(described.stdout);
    expect(d).toMatchObject({ transactionalId: 'cli-open', state: 'Ongoing', producerEpoch: 0, timeoutMs: 60_000, partitions: [{ topic: 'ct', partition: 0 }, { topic: 'ct', partition: 1 }] });
    const openPid = d.producerId as string;
    expect(openPid).toBe(listed[1]!.producerId);
    expect(Number(d.startTimeMs)).toBeGreaterThan(Date.now() - 60_000);

    const producersOut = await cli('transactions', 'describe-producers', '--topic', 'ct', '--partition', '0', '--json');
    expect(producersOut.code, producersOut.stderr).toBe(0);
    expect(json(producersOut.stdout).producers).toEqual([expect.objectContaining({ producerId: openPid, producerEpoch: 0, lastSequence: 0, currentTxnStartOffset: '0' })]);

    // Kafka's form: the transaction that starts at offset 0 of ct-0.
    const nothingThere = await cli('transactions', 'abort', '--topic', 'ct', '--partition', '0', '--start-offset', '5');
    expect(nothingThere.code).toBe(1);
    expect(nothingThere.stderr).toContain('no open transaction starts at offset 5 in ct-0');
    const aborted = await cli('transactions', 'abort', '--topic', 'ct', '--partition', '0', '--start-offset', '0');
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toBe(`Aborted the transaction of cli-open (producer id ${openPid}, epoch 0) in 2 partition(s): ct-0, ct-1. Its producer is fenced (epoch now 2, state Empty).\n`);
    // The producer is fenced: its commit fails.
    expect(await t1.commit().then(() => 'committed', () => 'refused')).toBe('refused');
    // No transaction open any more in either partition.
    for (const partition of ['0', '1']) {
      const after = await cli('transactions', 'describe-producers', '--topic', 'ct', '--partition', partition, '--json');
      expect(json(after.stdout).producers.map((p: { currentTxnStartOffset: string }) => p.currentTxnStartOffset)).toEqual(['-1']);
    }

    // --transactional-id form.
    const second = await transactional('cli-open-2');
    const t2 = await second.transaction();
    await t2.send({ topic: 'ct', messages: [{ partition: 1, value: 'open-2' }] });
    const abortedById = await cli('transactions', 'abort', '--transactional-id', 'cli-open-2', '--json');
    expect(abortedById.code, abortedById.stderr).toBe(0);
    expect(json(abortedById.stdout)).toMatchObject({ transactionalId: 'cli-open-2', aborted: { producerEpoch: 0, partitions: [{ topic: 'ct', partition: 1 }] }, now: { state: 'Empty', producerEpoch: 2 } });
    expect(await t2.commit().then(() => 'committed', () => 'refused')).toBe('refused');

    // Only committed records reach read_committed.
    const after = await transactional('cli-after');
    const t3 = await after.transaction();
    await t3.send({ topic: 'ct', messages: [{ partition: 0, value: 'after-0' }, { partition: 1, value: 'after-1' }] });
    await t3.commit();
    expect((await committedValues('ct', 2)).sort()).toEqual(['after-0', 'after-1']);
  });

  it('refuses what it cannot do', async () => {
    const unknown = await cli('transactions', 'describe', '--transactional-id', 'no-such-id');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('TRANSACTIONAL_ID_NOT_FOUND');
    const notOpen = await cli('transactions', 'abort', '--transactional-id', 'cli-done');
    expect(notOpen.code).toBe(1);
    expect(notOpen.stderr).toContain('cli-done has no open transaction (state CompleteCommit)');
    expect((await cli('transactions', 'abort')).code).toBe(2);
    expect((await cli('transactions', 'abort', '--transactional-id', 'x', '--topic', 'ct', '--partition', '0', '--start-offset', '0')).code).toBe(2);
    expect((await cli('transactions', 'abort', '--topic', 'ct', '--partition', '0', '--start-offset', '-1')).code).toBe(2);
    expect((await cli('transactions', 'frobnicate')).code).toBe(2);
  });
});
