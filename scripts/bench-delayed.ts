/**
 * Figures of docs/delayed.md and docs/benchmarks.md: delayed delivery at scale.
 *
 *   npm run bench:delayed -- [--trial 100000 --cancels 1000 --spread 60 --rates 1000:20,10000:10 --pending 1000000]
 *
 * Starts a private MariaDB (or uses KAFKA_MYSQL_BENCH_URL) and the broker as its own process.
 * 1. The trial: `--trial` records held by kafkajs with random due times over `--spread`
 *    seconds on 8 partitions, then `--cancels` of them (still held, due at least 3 s later)
 *    cancelled with cancel-message-id records while the others fall due. A kafkajs consumer
 *    reads the topic: no cancelled id may appear, every other exactly once. Lateness: the
 *    record's timestamp (its append time) minus its deliver-at, and the consumer's receive time
 *    minus deliver-at; p50/p99/max.
 * 2. Rates: 1,000 and 10,000 records due per second (for 20 and 10 s), lateness as above.
 * 3. `--pending` records held an hour ahead on their own topic; the broker's RSS before and
 *    after, then a 1,000/s phase beside them (lateness with a million rows in the table).
 */
import { readFile } from 'node:fs/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { benchMysql } from './bench/bench-mysql.js';
import { startBrokerProcess } from './bench/broker-process.js';
import { numberArg } from './bench/cli-args.js';

const TRIAL = numberArg('trial', '100000');
const CANCELS = numberArg('cancels', '1000');
const SPREAD_S = numberArg('spread', '60');
const PENDING = numberArg('pending', '1000000');
/** Rate phases, `--rates 1000:20,10000:10`: records due per second and for how long. */
const RATES = (process.argv.includes('--rates') ? process.argv[process.argv.indexOf('--rates') + 1]! : '1000:20,10000:10').split(',').filter(Boolean).map((x) => x.split(':').map(Number) as [number, number]);
const PARTITIONS = 8;
/** Records/s assumed for holding when placing the first due time (a shared 2-core VM holds 1.5-6k/s). */
const HOLD_RATE_GUESS = numberArg('hold-rate', '2000');
const VALUE = Buffer.alloc(100, 'v');

const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!);
const fmt = (xs: number[]) => `p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${pct(xs, 100)} ms (${xs.length} records)`;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

interface Held {
  id: string;
  dueMs: number;
  partition: number;
}

/** Holds the records: batches of 500 per partition, 8 sends in flight. */
async function hold(producer: Producer, topic: string, records: Held[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < records.length) {
        const chunk = records.slice(next, next + 500);
        next += 500;
        await producer.send({
          topic,
          acks: -1,
          messages: chunk.map((r) => ({ partition: r.partition, value: VALUE, headers: { 'deliver-at': String(r.dueMs), 'message-id': r.id } })),
        });
      }
    }),
  );
  return Math.round(records.length / ((performance.now() - started) / 1000));
}

interface Seen {
  id: string;
  dueMs: number;
  appendMs: number;
  receivedMs: number;
}

/** Reads the topic from the start until `expected` records arrived or `idleMs` passed without one after `until`. */
async function consume(kafka: Kafka, topic: string, expected: number, until: number, idleMs = 5000): Promise<Seen[]> {
  const consumer = kafka.consumer({ groupId: `bench-${topic}`, maxWaitTimeInMs: 100 });
  const seen: Seen[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const h = (k: string) => m.headers?.[k]?.toString() ?? '';
        seen.push({ id: h('message-id'), dueMs: Number(h('deliver-at')), appendMs: Number(m.timestamp), receivedMs: now });
      }
      last = now;
    },
  });
  while (seen.length < expected || Date.now() < until) {
    if (Date.now() > until && Date.now() - last > idleMs) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await consumer.disconnect();
  return seen;
}

function lateness(seen: Seen[]): { append: number[]; visible: number[] } {
  return { append: seen.map((s) => s.appendMs - s.dueMs), visible: seen.map((s) => s.receivedMs - s.dueMs) };
}

async function ratePhase(kafka: Kafka, producer: Producer, admin: ReturnType<Kafka['admin']>, name: string, perSecond: number, seconds: number): Promise<void> {
  const topic = `bench-delayed-${name}-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] }], waitForLeaders: true });
  const n = perSecond * seconds;
  // Due times start after the holding is surely done (HOLD_RATE_GUESS records/s; the figures print the margin).
  const start = Date.now() + 5000 + Math.ceil(n / HOLD_RATE_GUESS) * 1000;
  const records: Held[] = Array.from({ length: n }, (_, i) => ({ id: `${name}-${i}`, dueMs: start + Math.floor((i * 1000) / perSecond), partition: i % PARTITIONS }));
  const rate = await hold(producer, topic, records);
  const holdDone = Date.now();
  const seen = await consume(kafka, topic, n, start + seconds * 1000 + 2000);
  const ids = new Set(seen.map((s) => s.id));
  const l = lateness(seen);
  console.log(`${name}: ${perSecond}/s due for ${seconds} s (${n} held at ${rate}/s, done ${start - holdDone} ms before the first due time): ${seen.length} read, ${ids.size} distinct`);
  console.log(`  lateness at append:  ${fmt(l.append)}`);
  console.log(`  lateness at consumer: ${fmt(l.visible)}`);
}

async function main(): Promise<void> {
  const mysql = await benchMysql('delayed', { bufferPoolSize: '1G', logFileSize: '512M' });
  const url = mysql.url;
  console.error(`MariaDB: ${url}`);
  // --page and --concurrency override the broker's delayed.delivery.page.size / .concurrency.
  const settings: Record<string, string> = {};
  if (process.argv.includes('--page')) settings['delayed.delivery.page.size'] = String(numberArg('page', '1000'));
  if (process.argv.includes('--concurrency')) settings['delayed.delivery.concurrency'] = String(numberArg('concurrency', '4'));
  // --debug: the broker logs at debug, among it the scheduler's mean time per page by step every 10 s.
  if (process.argv.includes('--debug')) settings['log.level'] = 'debug';
  const broker = await startBrokerProcess({ mysqlUrl: url, settings, log: (l) => console.error(l) });
  const kafka = new Kafka({ clientId: 'bench-delayed', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await producer.connect();
    console.log(`broker RSS at start: ${await rssMb(broker.pid)} MB`);

    // 1. The trial: random due times over the spread, cancellations while they fall due.
    if (TRIAL > 0) {
      const topic = `bench-delayed-trial-${Date.now()}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] }], waitForLeaders: true });
      const start = Date.now() + 5000 + Math.ceil(TRIAL / HOLD_RATE_GUESS) * 1000;
      const records: Held[] = Array.from({ length: TRIAL }, (_, i) => ({ id: `t-${i}`, dueMs: start + Math.floor(Math.random() * SPREAD_S * 1000), partition: i % PARTITIONS }));
      const rate = await hold(producer, topic, records);
      console.log(`trial: ${TRIAL} records held at ${rate}/s, done ${start - Date.now()} ms before the first due time; due over ${SPREAD_S} s`);
      const consumed = consume(kafka, topic, TRIAL - CANCELS, start + SPREAD_S * 1000 + 3000);
      // Cancels in 20 rounds over the first half of the spread, each of a record due at least 3 s later.
      const cancelled = new Set<string>();
      let refused = 0;
      const rounds = 20;
      for (let k = 0; k < rounds; k++) {
        await new Promise((r) => setTimeout(r, Math.max(0, start + (k * SPREAD_S * 500) / rounds - Date.now())));
        const now = Date.now();
        const candidates = records.filter((r) => r.dueMs > now + 3000 && !cancelled.has(r.id));
        const picked: Held[] = [];
        const want = Math.ceil((CANCELS - cancelled.size) / (rounds - k));
        while (picked.length < want && candidates.length > 0) picked.push(candidates.splice(Math.floor(Math.random() * candidates.length), 1)[0]!);
        if (picked.length === 0) continue;
        try {
          await producer.send({ topic, acks: -1, messages: picked.map((r) => ({ partition: r.partition, value: null, headers: { 'cancel-message-id': r.id } })) });
          for (const r of picked) cancelled.add(r.id);
        } catch {
          refused++;
        }
      }
      const seen = await consumed;
      const counts = new Map<string, number>();
      for (const s of seen) counts.set(s.id, (counts.get(s.id) ?? 0) + 1);
      const cancelledSeen = [...cancelled].filter((id) => counts.has(id)).length;
      const twice = [...counts.values()].filter((c) => c > 1).length;
      const missing = records.filter((r) => !cancelled.has(r.id) && !counts.has(r.id)).length;
      const l = lateness(seen);
      console.log(`trial: ${cancelled.size} cancelled (${refused} cancel sends refused), ${seen.length} read; cancelled ones read: ${cancelledSeen}; read twice: ${twice}; missing: ${missing}`);
      console.log(`  lateness at append:   ${fmt(l.append)}`);
      console.log(`  lateness at consumer: ${fmt(l.visible)}`);
      console.log(`broker RSS after the trial: ${await rssMb(broker.pid)} MB`);
    }

    // 2. Rates.
    for (const [perSecond, seconds] of RATES) await ratePhase(kafka, producer, admin, `r${perSecond}`, perSecond, seconds);

    // 3. A million pending, an hour ahead; then a 1k/s phase beside them.
    if (PENDING > 0) {
      const far = `bench-delayed-pending-${Date.now()}`;
      await admin.createTopics({ topics: [{ topic: far, numPartitions: PARTITIONS, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] }], waitForLeaders: true });
      const before = await rssMb(broker.pid);
      const dueAt = Date.now() + 3_600_000;
      let peak = before;
      const sampler = setInterval(() => void rssMb(broker.pid).then((r) => (peak = Math.max(peak, r))), 500);
      const pendingRate = await hold(producer, far, Array.from({ length: PENDING }, (_, i) => ({ id: `p-${i}`, dueMs: dueAt + (i % 1000), partition: i % PARTITIONS })));
      clearInterval(sampler);
      console.log(`pending: ${PENDING} held an hour ahead at ${pendingRate}/s; broker RSS before ${before} MB, peak while holding ${peak} MB, after ${await rssMb(broker.pid)} MB`);
      await new Promise((r) => setTimeout(r, 5000));
      console.log(`broker RSS 5 s later (rescans of ${PENDING} pending): ${await rssMb(broker.pid)} MB`);
      await ratePhase(kafka, producer, admin, 'r1k-beside-pending', 1000, 20);
      console.log(`broker RSS at the end: ${await rssMb(broker.pid)} MB`);
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
    await mysql.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
