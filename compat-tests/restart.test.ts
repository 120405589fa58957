/**
 * Durability across broker restarts, with the built broker in a child process (dist/):
 * - SIGKILL mid-stream: a kafkajs producer (acks -1) sends 100,000 records (1,000 sends of 100,
 *   several in flight) and the broker is killed after about half were acknowledged. After a
 *   restart on the same database every acknowledged record is there exactly once, offsets
 *   are contiguous, no record appears twice, no batch is torn, and new appends continue at
 *   the recovered high watermark.
 * - SIGTERM while producing: the broker exits 0 and every acknowledged record is there after
 *   a restart.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { contiguousFrom, readPartition } from './support/clients.js';

const started: BrokerProcess[] = [];
const databases: string[] = [];

afterAll(async () => {
  for (const b of started) await b.kill();
  for (const url of databases) await dropTestDatabase(url);
});

async function spawn(url: string): Promise<BrokerProcess> {
  const b = await spawnBroker({ 'mysql.url': url, 'group.initial.rebalance.delay.ms': 0 });
  started.push(b);
  return b;
}

function client(bootstrap: string, id: string): Kafka {
  return new Kafka({ clientId: id, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000, requestTimeout: 30_000 });
}

interface Acked {
  send: number;
  partition: number;
  baseOffset: bigint;
}

/**
 * Runs `sends` sends of `perSend` records with `inFlight` concurrent senders over
 * `partitions` partitions; calls `onAck` after each acknowledgement. Stops issuing sends at
 * the first failure (the broker went away). Returns what was acknowledged and which sends
 * failed (their records may or may not have been committed).
 */
async function produceUntilFailure(
  producer: Producer,
  topic: string,
  opts: { sends: number; perSend: number; inFlight: number; partitions: number; onAck(count: number): void },
): Promise<{ acked: Acked[]; failed: number; failedSends: Set<number>; elapsedMs: number }> {
  const acked: Acked[] = [];
  let next = 0;
  const failedSends = new Set<number>();
  let stop = false;
  const startedAt = performance.now();
  const worker = async () => {
    while (!stop && next < opts.sends) {
      const send = next++;
      const partition = send % opts.partitions;
      const messages = Array.from({ length: opts.perSend }, (_, r) => ({ partition, key: `s${send}`, value: `s${send}-r${r}` }));
      try {
        const [result] = await producer.send({ topic, acks: -1, messages });
        if (result!.errorCode !== 0) throw new Error(`error ${result!.errorCode}`);
        acked.push({ send, partition, baseOffset: BigInt(result!.baseOffset!) });
        opts.onAck(acked.length);
      } catch {
        failedSends.add(send);
        stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, worker));
  return { acked, failed: failedSends.size, failedSends, elapsedMs: performance.now() - startedAt };
}

/** Reads every partition and checks what was acknowledged is there once and batches are whole. */
async function verify(port: number, topic: string, partitions: number, acked: Acked[], perSend: number) {
  const bySend = new Map<number, { partition: number; offsets: bigint[]; values: string[] }>();
  const allValues = new Set<string>();
  let total = 0;
  const highWatermarks: bigint[] = [];
  for (let p = 0; p < partitions; p++) {
    const { records, highWatermark } = await readPartition(port, topic, p, { stallMs: 30_000 });
    highWatermarks.push(highWatermark);
    expect({ p, contiguous: contiguousFrom(records), count: BigInt(records.length) }).toEqual({ p, contiguous: true, count: highWatermark });
    total += records.length;
    for (const r of records) {
      const value = r.value!.toString();
      allValues.add(value);
      const send = Number(/^s(\d+)-r\d+$/.exec(value)![1]);
      if (!bySend.has(send)) bySend.set(send, { partition: p, offsets: [], values: [] });
      const entry = bySend.get(send)!;
      entry.offsets.push(r.offset);
      entry.values.push(value);
    }
  }
  expect(allValues.size).toBe(total);
  // Every batch present is whole and in order (acknowledged or not: a batch is atomic).
  for (const [send, entry] of bySend) {
    expect(entry.values).toEqual(Array.from({ length: perSend }, (_, r) => `s${send}-r${r}`));
    expect(contiguousFrom(entry.offsets.map((offset) => ({ offset })), entry.offsets[0])).toBe(true);
  }
  // Every acknowledged send is there, at the offsets the producer was told.
  for (const a of acked) {
    const entry = bySend.get(a.send);
    expect({ send: a.send, present: entry !== undefined }).toEqual({ send: a.send, present: true });
    expect({ send: a.send, partition: entry!.partition, base: entry!.offsets[0] }).toEqual({ send: a.send, partition: a.partition, base: a.baseOffset });
  }
  return { total, highWatermarks, sendsPresent: bySend.size, presentSends: new Set(bySend.keys()) };
}

/**
 * What a restart must show given what the producer saw: every send stored is one that was
 * acknowledged or failed (none out of nowhere, none twice), and every stored batch is whole,
 * so the record count is exactly batches times records per send.
 */
function expectStoredMatchesProduced(
  stored: { total: number; presentSends: Set<number> },
  produced: { acked: Acked[]; failedSends: Set<number> },
  perSend: number,
): void {
  const ackedSends = new Set(produced.acked.map((a) => a.send));
  expect(ackedSends.size).toBe(produced.acked.length);
  const unexplained = [...stored.presentSends].filter((s) => !ackedSends.has(s) && !produced.failedSends.has(s));
  expect(unexplained).toEqual([]);
  expect(stored.total).toBe(stored.presentSends.size * perSend);
}

describe('restart', () => {
  it('SIGKILL mid-stream loses no acknowledged record and duplicates none', { timeout: 300_000 }, async () => {
    const url = await createTestDatabase('restart kill');
    databases.push(url);
    const topic = 'restart-kill';
    const partitions = 4;
    const perSend = 100;
    const sends = 1000;

    const first = await spawn(url);
    const kafka = client(first.bootstrap, 'compat-restart');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();

    let killing: Promise<void> | undefined;
    let ackedAtKill = 0;
    const result = await produceUntilFailure(producer, topic, {
      sends,
      perSend,
      inFlight: 6,
      partitions,
      onAck(count) {
        if (!killing && count >= sends / 2) {
          ackedAtKill = count;
          killing = first.kill();
        }
      },
    });
    await killing;
    await producer.disconnect().catch(() => undefined);
    // Acknowledgements are counted one at a time: the kill came at exactly half, and it cut the stream short.
    expect(ackedAtKill).toBe(sends / 2);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.acked.length).toBeLessThan(sends);
    const ackedRecords = result.acked.length * perSend;
    const seconds = result.elapsedMs / 1000;
    console.log(
      `restart (SIGKILL): ${ackedRecords} records acknowledged in ${seconds.toFixed(2)} s before the kill = ${Math.round(ackedRecords / seconds)} records/s ` +
        `(acks -1, ${perSend} records per send, 6 in flight, ${partitions} partitions); ${result.failed} sends failed at the kill`,
    );

    const second = await spawn(url);
    const readStart = performance.now();
    const stored = await verify(second.port, topic, partitions, result.acked, perSend);
    const { total, highWatermarks, sendsPresent } = stored;
    const readSeconds = (performance.now() - readStart) / 1000;
    console.log(
      `restart (SIGKILL): after restart ${total} records in ${sendsPresent} batches (${result.acked.length} acknowledged, ${sendsPresent - result.acked.length} committed but unacknowledged); ` +
        `read back with raw Fetch at ${Math.round(total / readSeconds)} records/s`,
    );
    expect(total).toBeGreaterThanOrEqual(ackedRecords);
    expectStoredMatchesProduced(stored, result, perSend);

    // Appends continue at the recovered high watermarks.
    const after = client(second.bootstrap, 'compat-restart-after').producer();
    await after.connect();
    try {
      for (let p = 0; p < partitions; p++) {
        const [r] = await after.send({ topic, acks: -1, messages: [{ partition: p, value: 'after restart' }] });
        expect({ p, base: BigInt(r!.baseOffset!) }).toEqual({ p, base: highWatermarks[p] });
      }
    } finally {
      await after.disconnect();
    }
    await second.kill();
  });

  it('SIGTERM while producing exits 0 and keeps every acknowledged record', { timeout: 180_000 }, async () => {
    const url = await createTestDatabase('restart term');
    databases.push(url);
    const topic = 'restart-term';
    const partitions = 2;
    const perSend = 50;

    const first = await spawn(url);
    const kafka = client(first.bootstrap, 'compat-term');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();

    let terminating: Promise<number | null> | undefined;
    let ackedAtTerm = 0;
    const result = await produceUntilFailure(producer, topic, {
      sends: 100_000,
      perSend,
      inFlight: 4,
      partitions,
      onAck(count) {
        if (!terminating && count >= 200) {
          ackedAtTerm = count;
          terminating = first.terminate();
        }
      },
    });
    const exitCode = await terminating;
    await producer.disconnect().catch(() => undefined);
    expect(exitCode).toBe(0);
    expect(first.output()).not.toMatch(/"level":(50|60)/);
    expect(ackedAtTerm).toBe(200);
    // The broker stopped taking sends: the stream ended in a failure, not by running out.
    expect(result.failed).toBeGreaterThan(0);

    const second = await spawn(url);
    const stored = await verify(second.port, topic, partitions, result.acked, perSend);
    expect(stored.total).toBeGreaterThanOrEqual(result.acked.length * perSend);
    expectStoredMatchesProduced(stored, result, perSend);
    expect(await second.terminate()).toBe(0);
  });
});
