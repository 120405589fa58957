/**
 * REST produce throughput as a ratio of the Kafka protocol's, in the same run (docs/http.md).
 *
 *   npm run bench:rest [-- --seconds 5 --rounds 3 --concurrency 8 --batch 100 --value-bytes 1024 --profile DIR]
 *
 * Starts a private MariaDB (or uses KAFKA_MYSQL_BENCH_URL) and the broker as its own process
 * (scripts/bench/broker-process.ts), then runs `--rounds` rounds of four phases of `--seconds`
 * each, alternating so load from elsewhere on the machine falls on both sides, on one topic of
 * 8 partitions, `--concurrency` requests in flight, 1 KiB values, acks=-1 everywhere:
 *   kafka single: kafkajs send() of one record;   rest single: POST of one record;
 *   kafka batched: send() of `--batch` records;   rest batched: POST of a stream of `--batch`.
 * Prints records/s for each and REST / Kafka for single and batched per round, then the medians. Both clients run in this
 * process, so each side pays its own client cost (kafkajs encoding vs JSON + base64 + HTTP).
 * `--profile DIR`: the broker runs with --cpu-prof and writes its V8 CPU profile into DIR.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { benchMysql } from './bench/bench-mysql.js';
import { freePort, startBrokerProcess } from './bench/broker-process.js';
import { numberArg } from './bench/cli-args.js';

const seconds = numberArg('seconds', '5');
const concurrency = numberArg('concurrency', '8');
const batch = numberArg('batch', '100');
const valueBytes = numberArg('value-bytes', '1024');
const rounds = numberArg('rounds', '3');
const PARTITIONS = 8;
const profileAt = process.argv.indexOf('--profile');
const profileDir = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;

let metricsUrl = '';

/** The broker's group-commit counters (transactions, appends), from /metrics. */
async function commitCounters(): Promise<{ transactions: number; appends: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { transactions: read('kafka_mysql_group_commit_transactions_total'), appends: read('kafka_mysql_group_commit_appends_total') };
}

async function phase(name: string, sendOne: () => Promise<number>): Promise<number> {
  const before = await commitCounters();
  const end = Date.now() + seconds * 1000;
  let records = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) records += await sendOne();
    }),
  );
  const rate = records / ((performance.now() - started) / 1000);
  const after = await commitCounters();
  const commits = after.transactions - before.transactions;
  // Appends per commit: how well concurrent requests share the group commit.
  const sharing = commits > 0 ? ((after.appends - before.appends) / commits).toFixed(2) : '-';
  console.log(`${name.padEnd(14)} ${Math.round(rate).toString().padStart(8)} records/s (${records} records, ${commits} commits, ${sharing} appends/commit)`);
  return rate;
}

async function main(): Promise<void> {
  const mysql = await benchMysql('rest', { bufferPoolSize: '512M', logFileSize: '256M' });
  const url = mysql.url;
  const httpPort = await freePort();
  const broker = await startBrokerProcess({ mysqlUrl: url, settings: { 'metrics.listener': `127.0.0.1:${httpPort}` }, ...(profileDir ? { cpuProfileDir: profileDir } : {}), log: (l) => console.error(l) });
  metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
  const kafka = new Kafka({ clientId: 'bench-rest', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await admin.connect();
    await producer.connect();
    const topic = `bench-rest-${Date.now()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const cluster = (await (await fetch(`http://127.0.0.1:${httpPort}/v3/clusters`)).json()) as { data: { cluster_id: string }[] };
    const produceUrl = `http://127.0.0.1:${httpPort}/v3/clusters/${cluster.data[0]!.cluster_id}/topics/${topic}/records`;
    const value = randomBytes(valueBytes);
    const valueB64 = value.toString('base64');
    let n = 0;
    const nextPartition = () => n++ % PARTITIONS;
    const restRecord = (p: number) => JSON.stringify({ partition_id: p, value: { type: 'BINARY', data: valueB64 } });
    // node:http with a keep-alive agent rather than fetch: less client CPU per request, which
    // counts on a loaded machine (kafkajs, on the other side, is a lean client too).
    // A fresh agent per REST phase: the server closes keep-alive connections idle for 5 s (the
    // Kafka phase between), and reusing one as it closes is an ECONNRESET.
    let agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const freshAgent = () => {
      agent.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    };
    const target = new URL(produceUrl);
    const post = (body: string, expected: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) return reject(new Error(`REST produce answered ${res.statusCode}: ${text.slice(0, 200)}`));
            const ok = text.split('\n').filter((l) => l.includes('"error_code":200')).length;
            if (ok !== expected) return reject(new Error(`REST produce: ${ok} of ${expected} records acknowledged`));
            resolve(expected);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    console.log(`${seconds} s per phase, ${concurrency} in flight, ${valueBytes}-byte values, batches of ${batch}, acks=-1`);
    const single: number[] = [];
    const batched: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round}`);
      const kafkaSingle = await phase('kafka single', async () => {
        await producer.send({ topic, acks: -1, messages: [{ partition: nextPartition(), value }] });
        return 1;
      });
      freshAgent();
      const restSingle = await phase('rest single', () => post(restRecord(nextPartition()), 1));
      const kafkaBatched = await phase('kafka batched', async () => {
        const p = nextPartition();
        await producer.send({ topic, acks: -1, messages: Array.from({ length: batch }, () => ({ partition: p, value })) });
        return batch;
      });
      freshAgent();
      const restBatched = await phase('rest batched', () => {
        const p = nextPartition();
        return post(Array.from({ length: batch }, () => restRecord(p)).join(''), batch);
      });
      single.push(restSingle / kafkaSingle);
      batched.push(restBatched / kafkaBatched);
      console.log(`REST / Kafka: single ${(restSingle / kafkaSingle).toFixed(2)}, batched ${(restBatched / kafkaBatched).toFixed(2)}`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
    agent.destroy();
    console.log(`median REST / Kafka over ${rounds} rounds: single ${median(single).toFixed(2)} (${range(single)}), batched ${median(batched).toFixed(2)} (${range(batched)})`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
    await mysql.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
