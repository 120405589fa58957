/**
 * Exactly-once copy across SIGKILLs (after Kafka's transactions_test): a kafkajs
 * consume-transform-produce loop reads numbered records from an input topic (read_committed,
 * in a consumer group, no auto-commit) and, per fetched batch, writes them to an output topic
 * in one transaction together with the input offsets (sendOffsets), while the built broker
 * process is killed with SIGKILL and restarted on the same port and database.
 *
 * When a step fails (the broker died under it) the copier aborts if it can, throws away its
 * consumer and producer and starts over with the same group and transactional id, as Kafka's
 * copier does: the new producer fences the old epoch (its open transaction is aborted) and the
 * new consumer starts at the offsets the last committed transaction stored. The output, read
 * by a read_committed kafkajs consumer, must then hold every input number exactly once, in
 * input order per partition; the records of aborted transactions are in the log too (counted
 * with a read_uncommitted read) and must not reach read_committed.
 *
 * npm test runs 10,000 records and 2 kills; `npm run test:exactly-once-copy` runs the issue's
 * 100,000 (EOS_COPY_RECORDS, EOS_COPY_KILLS).
 */
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { readPartition } from './support/clients.js';
import { waitFor } from './support/wait.js';
import { freePort } from '../storage/managed-mariadb.js';

const RECORDS = Number(process.env.EOS_COPY_RECORDS ?? 10_000);
const KILLS = Number(process.env.EOS_COPY_KILLS ?? 2);
const PER_SEND = 100;
const PARTITIONS = 4;
const INPUT = 'eos-in';
const OUTPUT = 'eos-out';
const GROUP = 'eos-copier';
const TXN_ID = 'eos-copier-txn';

let broker: BrokerProcess | undefined;
let url: string | undefined;

afterAll(async () => {
  await broker?.kill();
  if (url) await dropTestDatabase(url);
});

/** One consumer + transactional producer pair; `failed` resolves when it must be replaced. */
interface Incarnation {
  consumer: Consumer;
  producer: Producer;
  failed: Promise<unknown>;
}

describe('exactly-once copy across SIGKILL and restart', () => {
  it(`copies ${RECORDS} records exactly once over ${KILLS} kills`, { timeout: 900_000 }, async () => {
    url = await createTestDatabase('eos_copy');
    const port = await freePort();
    const settings = {
      'mysql.url': url,
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      'num.partitions': PARTITIONS,
      'group.initial.rebalance.delay.ms': 0,
      // A member left behind by a killed incarnation goes quickly.
      'group.min.session.timeout.ms': 1000,
    };
    broker = await spawnBroker(settings);
    const kafka = new Kafka({
      clientId: 'eos-copy',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 10_000,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [INPUT, OUTPUT].map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
    await admin.disconnect();

    // The input: numbers in sends of 100 per partition (so a small fetch is one stored batch,
    // about 100 records: many transactions).
    const loader = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await loader.connect();
    for (let s = 0; s < RECORDS / PER_SEND; s++) {
      const messages = Array.from({ length: PER_SEND }, (_, r) => ({ partition: s % PARTITIONS, value: String(s * PER_SEND + r) }));
      await loader.send({ topic: INPUT, acks: -1, messages });
    }
    await loader.disconnect();

    let committed = 0; // records of committed transactions (as the copier saw them)
    let aborts = 0;
    let incarnations = 0;
    let done = false;

    async function startIncarnation(): Promise<Incarnation> {
      incarnations++;
      const producer = kafka.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1 });
      const consumer = kafka.consumer({
        groupId: GROUP,
        readUncommitted: false,
        maxBytesPerPartition: 2048,
        maxWaitTimeInMs: 100,
        sessionTimeout: 3000,
        rebalanceTimeout: 5000,
        heartbeatInterval: 300,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      let fail!: (e: unknown) => void;
      const failed = new Promise((resolve) => {
        fail = resolve;
      });
      consumer.on(consumer.events.CRASH, (event) => {
        // A crash kafkajs does not restart from, or any crash: start over either way.
        fail(event.payload.error);
      });
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: INPUT, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          const txn = await producer.transaction();
          try {
            await txn.send({ topic: OUTPUT, acks: -1, messages: batch.messages.map((m) => ({ partition: batch.partition, value: m.value })) });
            const next = (BigInt(batch.lastOffset()) + 1n).toString();
            await txn.sendOffsets({ consumerGroupId: GROUP, topics: [{ topic: INPUT, partitions: [{ partition: batch.partition, offset: next }] }] });
            await txn.commit();
          } catch (e) {
            aborts++;
            await txn.abort().catch(() => undefined);
            fail(e);
            // Stop this consumer here: its position is ahead of the committed offsets.
            throw Object.assign(new Error(`copy step failed: ${(e as Error).message}`), { retriable: false });
          }
          committed += batch.messages.length;
          // Only now may the consumer move past the batch (it is resolved when this returns).
        },
      });
      return { consumer, producer, failed };
    }

    async function stopIncarnation(inc: Incarnation): Promise<void> {
      await Promise.race([
        Promise.allSettled([inc.consumer.disconnect(), inc.producer.disconnect()]),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
    }

    // The copier: replaces its incarnation whenever one fails, until told to stop.
    const copier = (async () => {
      while (!done) {
        let inc: Incarnation;
        try {
          inc = await startIncarnation();
        } catch {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const stop = new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (done) {
              clearInterval(poll);
              resolve();
            }
          }, 50);
          void inc.failed.then(() => {
            clearInterval(poll);
            resolve();
          });
        });
        await stop;
        await stopIncarnation(inc);
      }
    })();

    const progress = process.env.EOS_COPY_DEBUG ? setInterval(() => console.log(`committed ${committed}, incarnations ${incarnations}, failed ${aborts}`), 2000) : undefined;
    // Kill and restart the broker as the copy passes each threshold.
    let kills = 0;
    for (let k = 1; k <= KILLS; k++) {
      await waitFor(() => committed >= (k * RECORDS) / (KILLS + 1), `copy progress past ${k}/${KILLS + 1}`, 600_000);
      await broker!.kill();
      kills++;
      broker = await spawnBroker(settings);
    }

    // Done when the group's committed offsets reach the end of the input.
    const checker = new Kafka({ clientId: 'eos-check', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });
    const checkAdmin = checker.admin();
    await checkAdmin.connect();
    const ends = await checkAdmin.fetchTopicOffsets(INPUT);
    await waitFor(async () => {
      const offsets = await checkAdmin.fetchOffsets({ groupId: GROUP, topics: [INPUT] }).catch(() => null);
      if (!offsets) return false;
      return offsets[0]!.partitions.every((p) => p.offset === ends.find((e) => e.partition === p.partition)!.offset);
    }, 'the copier to commit the end of the input', 600_000);
    done = true;
    await copier;
    clearInterval(progress);
    expect(kills).toBe(KILLS);

    // The output as a read_committed consumer sees it.
    const outEnds = await checkAdmin.fetchTopicOffsets(OUTPUT);
    await checkAdmin.disconnect();
    const reader = checker.consumer({ groupId: 'eos-reader', readUncommitted: false, maxWaitTimeInMs: 100 });
    const perPartition: number[][] = Array.from({ length: PARTITIONS }, () => []);
    const reached = new Set<number>();
    await reader.connect();
    await reader.subscribe({ topic: OUTPUT, fromBeginning: true });
    await reader.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) perPartition[batch.partition]!.push(Number(m.value!.toString()));
        // The last data record of a partition sits just before its last commit marker.
        const end = BigInt(outEnds.find((e) => e.partition === batch.partition)!.offset);
        if (batch.messages.length > 0 && BigInt(batch.lastOffset()) + 2n >= end) reached.add(batch.partition);
      },
    });
    await waitFor(() => reached.size === PARTITIONS, 'the read_committed reader to reach the end of the output', 120_000);
    await reader.disconnect();

    const seen = new Set<number>();
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const numbers = perPartition[p]!;
      total += numbers.length;
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
      for (const n of numbers) {
        expect(Math.floor(n / PER_SEND) % PARTITIONS).toBe(p);
        seen.add(n);
      }
    }
    expect(total).toBe(RECORDS);
    expect(seen.size).toBe(RECORDS);

    // What the log holds besides: records of aborted transactions (read_uncommitted; the
    // copier's records have no key, markers do).
    let uncommitted = 0;
    for (let p = 0; p < PARTITIONS; p++) uncommitted += (await readPartition(broker!.port, OUTPUT, p)).records.filter((r) => r.key === null).length;
    expect(uncommitted).toBeGreaterThanOrEqual(RECORDS);
    console.log(
      `exactly-once copy: ${RECORDS} records, ${kills} kills, ${incarnations} copier incarnations, ` +
        `${aborts} failed transactions, ${uncommitted - RECORDS} aborted records in the output log`,
    );
  });
});
