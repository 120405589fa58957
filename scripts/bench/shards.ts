/**
 * Figures of shards with replicas (issue 12, docs/benchmarks.md "Shards with replicas"), on a
 * private primary and replicas (storage/managed-mariadb/replicated.ts) and a broker process:
 *
 *   npm run bench:shards  [-- --seconds S --rounds R]   cost of semi-synchronous replication
 *   npm run faults:shards [-- --trials N]               failover time and acknowledged records lost
 *
 * bench:shards: one primary with one replica and one broker (replica named, so the start-up
 * check passes). After a 3 s warm-up, each round (default 3, the order alternating) runs the
 * same raw-socket produce load (scripts/bench/replayer.ts, acks=-1, 4 connections x 2 in
 * flight, 100-record batches of 100 B) twice: without
 * (rpl_semi_sync_master_enabled=OFF, replication asynchronous, topic min.insync.replicas=1)
 * and with (ON, AFTER_SYNC, topic min.insync.replicas=2: every commit waits for the replica and
 * the broker reads the semi-sync counters around it). Prints records/s of each and the ratio of
 * the medians, with/without.
 *
 * faults:shards: N trials, each on a new primary and two replicas, with a broker on the
 * defaults (mysql.failover.timeout.ms 5000). A kafkajs idempotent producer sends 10 numbered
 * records at a time (acks=-1, min.insync.replicas=2, one send in flight); 3 s in, the primary is
 * SIGKILLed; the failover time is from the kill to the acknowledgement of the first send started
 * after it. Then the load stops and a consumer reads the topic from the start: every
 * acknowledged number must be there (lost = acknowledged and not read) and, with idempotence,
 * none twice. Prints each trial and the median / max; a trial with no acknowledgement within
 * 60 s of the kill counts as failed, and its broker's log (warnings and errors: the failover
 * steps) and each server's replication and semi-sync state at the end of the wait are written
 * to <tmpdir>/faults-shards-trial-N.log.
 */
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../../storage/managed-mariadb/replicated.js';
import { readServerStatus } from '../../storage/replication/status.js';
import { connect, withDatabase } from '../../storage/mysql.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { sleep } from './proc.js';
import { makeBatch, produceLoad } from './replayer.js';

const log = (m: string) => process.stdout.write(`${m}\n`);
const quiet = () => undefined;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function sql(url: string, q: string): Promise<Array<Record<string, unknown>>> {
  const c = await connect(withDatabase(url, ''));
  try {
    return (await c.query(q))[0] as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
}

async function createTopic(bootstrap: string, topic: string, partitions: number, minInsync: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-shards', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'min.insync.replicas', value: String(minInsync) }] }] });
  await admin.disconnect();
}

async function semiSyncCost(): Promise<void> {
  const seconds = flag('--seconds', 10);
  const rounds = flag('--rounds', 3);
  const servers = await startReplicatedMariadb({ replicas: 1, semiSyncTimeoutMs: 10_000, bufferPoolSize: '256M' });
  let broker: BrokerProcess | undefined;
  try {
    const primary = servers.servers[0]!.url;
    broker = await startBrokerProcess({ mysqlUrl: servers.shardUrl(), settings: { 'mysql.failover.timeout.ms': '0' }, log: quiet });
    const bootstrap = `127.0.0.1:${broker.port}`;
    await createTopic(bootstrap, 'without', 4, 1);
    await createTopic(bootstrap, 'with', 4, 2);
    const batch = makeBatch(100, 100);
    log(`semi-sync cost: primary + 1 replica, ${seconds} s per run, ${rounds} round(s), acks=-1, 4 connections x 2 in flight, 100 x 100 B batches`);
    const rates: Record<'without' | 'with', number[]> = { without: [], with: [] };
    // Warm-up (tables, pools, buffer pool), not counted.
    await produceLoad({ host: '127.0.0.1', port: broker.port, topic: 'without', partitions: 4, connections: 4, inFlight: 2, durationMs: 3000, batch, recordsPerBatch: 100 });
    for (let round = 1; round <= rounds; round++) {
      // Alternate which goes first, so a trend of the machine (others' load, caches) does not favour one.
      for (const mode of round % 2 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        await sql(primary, `SET GLOBAL rpl_semi_sync_master_enabled = ${mode === 'with' ? 'ON' : 'OFF'}`);
        if (mode === 'with') {
          for (let i = 0; i < 100; i++) {
            const [s] = await sql(primary, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'");
            if (s?.Value === 'ON') break;
            await sleep(100);
          }
        }
        const r = await produceLoad({ host: '127.0.0.1', port: broker.port, topic: mode, partitions: 4, connections: 4, inFlight: 2, durationMs: seconds * 1000, batch, recordsPerBatch: 100 });
        const rate = r.records / r.seconds;
        rates[mode].push(rate);
        const [yes] = await sql(primary, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'");
        log(`  round ${round} ${mode.padEnd(7)} semi-sync: ${Math.round(rate)} records/s, ${r.errors} errors ${JSON.stringify(r.errorCodes)}, p50 ${median(r.latencyMs).toFixed(1)} ms (primary yes_tx so far ${String(yes?.Value)})`);
      }
    }
    const ratio = median(rates.with) / median(rates.without);
    log(`semi-sync / async produce throughput: ${ratio.toFixed(2)} (median ${Math.round(median(rates.with))} vs ${Math.round(median(rates.without))} records/s)`);
  } finally {
    await broker?.stop();
    await servers.stop();
  }
}

interface Trial {
  failoverMs: number | null;
  acked: number;
  lost: number;
  duplicates: number;
}

async function failoverTrial(n: number): Promise<Trial> {
  let servers: ReplicatedMariadb | undefined;
  let broker: BrokerProcess | undefined;
  // The broker's warnings and errors (failover steps), written out when the trial fails.
  const brokerLog: string[] = [];
  let failed = true;
  try {
    servers = await startReplicatedMariadb({ replicas: 2, semiSyncTimeoutMs: 1000 });
    broker = await startBrokerProcess({ mysqlUrl: servers.shardUrl(), settings: {}, log: (line) => brokerLog.push(`${new Date().toISOString()} ${line}`) });
    const bootstrap = `127.0.0.1:${broker.port}`;
    await createTopic(bootstrap, 'ha', 2, 2);
    const kafka = new Kafka({
      clientId: 'faults-shards', brokers: [bootstrap], logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 10_000,
      retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const acked = new Set<number>();
    const acks: Array<{ sentAt: number; at: number }> = [];
    let running = true;
    let next = 0;
    const loop = (async () => {
      while (running) {
        const values = Array.from({ length: 10 }, () => next++);
        const sentAt = Date.now();
        try {
          await producer.send({ topic: 'ha', acks: -1, messages: values.map((v) => ({ value: String(v), partition: v % 2 })) });
          for (const v of values) acked.add(v);
          acks.push({ sentAt, at: Date.now() });
        } catch {
          /* retriable errors past kafkajs's retries: the next send tries again */
        }
      }
    })();
    await sleep(3000);
    const killedAt = Date.now();
    await servers.kill(servers.servers[0]!);
    let failoverMs: number | null = null;
    while (Date.now() - killedAt < 60_000) {
      const first = acks.find((a) => a.sentAt >= killedAt);
      if (first) {
        failoverMs = first.at - killedAt;
        break;
      }
      await sleep(50);
    }
    if (failoverMs !== null) await sleep(2000);
    else {
      // What each server says (replication threads and errors, semi-sync clients), for the log.
      for (const s of servers.servers) brokerLog.push(`${new Date().toISOString()} server ${s.serverId}: ${JSON.stringify(await readServerStatus(s.url))}`);
    }
    running = false;
    await Promise.race([loop, sleep(30_000)]);
    await producer.disconnect().catch(() => undefined);
    // Every acknowledged number read back, none twice.
    const seen = new Map<number, number>();
    const consumer = kafka.consumer({ groupId: `verify-${n}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ha', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.set(Number(message.value!.toString()), (seen.get(Number(message.value!.toString())) ?? 0) + 1) });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && ![...acked].every((v) => seen.has(v))) await sleep(200);
    await sleep(1000);
    await consumer.disconnect().catch(() => undefined);
    const lost = [...acked].filter((v) => !seen.has(v)).length;
    failed = failoverMs === null || lost > 0;
    return {
      failoverMs,
      acked: acked.size,
      lost,
      duplicates: [...seen.values()].filter((c) => c > 1).length,
    };
  } finally {
    await broker?.stop();
    await servers?.stop();
    if (failed) {
      const file = path.join(os.tmpdir(), `faults-shards-trial-${n}.log`);
      await writeFile(file, brokerLog.join('\n') + '\n');
      log(`  trial ${n}: broker log in ${file}`);
    }
  }
}

async function failover(): Promise<void> {
  const trials = flag('--trials', 10);
  log(`failover: ${trials} trial(s), primary + 2 replicas, mysql.failover.timeout.ms default (5000), kafkajs idempotent acks=-1, min.insync.replicas=2`);
  const results: Trial[] = [];
  for (let n = 1; n <= trials; n++) {
    const t = await failoverTrial(n);
    results.push(t);
    log(`  trial ${n}: ${t.failoverMs === null ? 'no acknowledgement within 60 s of the kill' : `first acknowledgement ${t.failoverMs} ms after the kill`}; ${t.acked} acknowledged, ${t.lost} lost, ${t.duplicates} duplicated`);
  }
  const times = results.flatMap((t) => (t.failoverMs === null ? [] : [t.failoverMs]));
  const sum = (k: 'acked' | 'lost' | 'duplicates') => results.reduce((a, t) => a + t[k], 0);
  log(
    `failover time: median ${times.length ? median(times) : '-'} ms, max ${times.length ? Math.max(...times) : '-'} ms over ${times.length} of ${trials} trials` +
      `${times.length < trials ? ` (${trials - times.length} without an acknowledgement within 60 s)` : ''}; acknowledged ${sum('acked')}, lost ${sum('lost')}, duplicated ${sum('duplicates')}`,
  );
  if (sum('lost') > 0 || sum('duplicates') > 0 || times.length < trials) process.exitCode = 1;
}

const mode = process.argv[2];
if (mode === 'semi-sync') await semiSyncCost();
else if (mode === 'failover') await failover();
else {
  process.stderr.write('usage: shards.js semi-sync [--seconds S] [--rounds R] | failover [--trials N]\n');
  process.exitCode = 2;
}
