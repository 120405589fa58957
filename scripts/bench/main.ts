/**
 * `npm run bench`: starts its own MariaDB (the managed one, durability on: the settings of
 * `npm start`) and a broker process, and measures in one run: the raw INSERT ceilings with
 * mysql2 and the mariadb connector, the naive row-per-message table, the broker loaded by a
 * raw-socket Produce replayer, kcat and kafkajs, consumption from backlog and tail against
 * the raw SELECT ceiling, latency at half the replayer's max rate against MariaDB's commit
 * latency at that rate, idempotent against plain produce and a transactional producer
 * committing every 100 ms, a partitions x producers sweep with broker RSS, and idle connections;
 * then produce as users see it (scripts/bench/user-produce.ts: kcat over TCP on 1 and 8
 * partitions, many single-record producers, 10,000 partitions).
 * The pairs a ratio is taken from (ceiling/naive/replayer, SELECT ceiling/raw backlog Fetch,
 * produce latency/commit latency) run interleaved in `--rounds` rounds (3; 1 with --quick), so
 * each ratio is taken within a round and reported as the median of the rounds with its range.
 * Prints a table and writes JSON (every sample) under bench/results/. `--quick` runs in under
 * a minute. See docs/benchmarks.md.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { startManagedMariadb } from '../../storage/managed-mariadb.js';
import { connectionOptions, parseMysqlUrl, withDatabase } from '../../storage/mysql.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { runClients } from './clients.js';
import { parseOptions, type BenchOptions } from './options.js';
import { ProcWatch, latencySummary, sleep } from './proc.js';
import { createLogShapedTable, createRawTables, dropRawTables, insertCeiling, naiveInsert, selectCeiling, truncateRawTables, type Driver, type InsertResult } from './raw-mysql.js';
import type { KafkaConnection } from '../../client/connection.js';
import { connectRaw, fetchLoad, makeBatch, produceLoad } from './replayer.js';
import { produceSequenced, transactionalLoad } from './exactly-once.js';
import { computeRatios, median, printReport, summarizeSamples, type Results, type Sample } from './report.js';
import { USER_MARIADB, USER_PHASES, printUserReport, scalePhase, tcpPhase, type UserPhaseContext } from './user-produce.js';
import { smallPhase } from './user-small.js';

const t0 = performance.now();
export function log(msg: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}

const MB = 1e6;

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const run = (phase: string) => o.only === null || o.only.has(phase);
  const results: Results = {
    startedAt: new Date().toISOString(),
    options: { ...o, only: o.only ? [...o.only] : null },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, loadAvgAtStart: os.loadavg() },
    figures: {},
  };
  const batch = makeBatch(o.batchRecords, o.recordBytes);
  const bytesPerRecord = batch.length / o.batchRecords;
  log(`batch: ${o.batchRecords} records of ${o.recordBytes} B = ${batch.length} B; ${o.duration} s per phase, ${o.rounds} round(s) of each pair${o.quick ? ' (quick)' : ''}`);

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-bench-'));
  log(`starting MariaDB in ${dataDir}`);
  // The user phases measure the deployment the docs recommend (2 GB buffer pool, 1 GB redo log).
  const userRun = USER_PHASES.some(run);
  const db = await startManagedMariadb({ dataDir, port: 0, ...(userRun ? USER_MARIADB : {}), extraArgs: ['--max-connections=2000', ...o.mariadbArgs] });
  results.machine.mariadbSettings = userRun ? USER_MARIADB : { bufferPoolSize: '512M', logFileSize: '128M' };
  let broker: BrokerProcess | undefined;
  try {
    const versionConn = await mysql.createConnection(connectionOptions(parseMysqlUrl(db.url)));
    const [vrows] = await versionConn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    results.machine.mysqlVersion = String(vrows[0]!.v);
    await versionConn.query('CREATE DATABASE IF NOT EXISTS bench_raw');
    await versionConn.end();
    const rawUrl = withDatabase(db.url, 'bench_raw');
    await createRawTables(rawUrl);
    const self = process.pid;

    // Which halves of the paired rounds run: a ratio needs both, so consume brings the ceilings along.
    const needCeiling = run('ceiling') || run('consume');
    const needReplayer = run('replayer') || run('consume') || (run('latency') && o.latencyRate === null);
    const phasesNeedingBroker = ['replayer', 'consume', 'kcat', 'kafkajs', 'idempotence', 'transactions', 'tail', 'latency', 'sweep', 'idle', ...USER_PHASES];
    const needBroker = phasesNeedingBroker.some(run);

    // The broker runs (idle) during the raw phases too, so the rounds can interleave them.
    if (needBroker) {
      if (o.profileDir) await mkdir(o.profileDir, { recursive: true });
      // The scale phase's 10,000 idle connections come on top of the bench's own, and the
      // broker's max.connections (10,000 by default) counts them all.
      const settings = run('scale') ? { 'max.connections': '10100', ...o.brokerSettings } : o.brokerSettings;
      broker = await startBrokerProcess({ mysqlUrl: db.url, settings, cpuProfileDir: o.profileDir ?? undefined, nodeArgs: o.brokerNodeArgs, log });
      log(`broker pid ${broker.pid} on 127.0.0.1:${broker.port}`);
    }
    const pids = () => ({ mariadb: db.pid, bench: self, ...(broker ? { broker: broker.pid } : {}) });
    const watch = () => new ProcWatch(pids()).begin();
    type Watched = ReturnType<ProcWatch['end']>;
    const cpuOf = (w: Watched, seconds: number): Record<string, number> =>
      Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.cpuSeconds / seconds]));
    const addSample = (name: string, sample: Sample) => {
      const f = (results.figures[name] ??= { samples: [] });
      (f.samples as Sample[]).push(sample);
      Object.assign(f, summarizeSamples(f.samples as Sample[]));
    };
    const insertSample = (name: string, round: number, r: InsertResult, w: Watched, recordBytes: number, extra: Record<string, unknown> = {}) => {
      const commit = latencySummary(r.commitMs);
      addSample(name, {
        round,
        mbps: r.bytes / MB / r.seconds,
        recordsPerSec: r.records / r.seconds,
        seconds: r.seconds,
        bytesPerRecord: recordBytes,
        transactions: r.transactions,
        commitMsP50: commit.p50,
        commitMsP99: commit.p99,
        cpu: cpuOf(w, r.seconds),
        ...extra,
      });
      log(`${name} (round ${round}): ${(r.bytes / MB / r.seconds).toFixed(1)} MB/s, ${Math.round(r.records / r.seconds)} records/s, commit p50 ${commit.p50.toFixed(1)} ms, MariaDB CPU ${(w.mariadb!.cpuSeconds / r.seconds).toFixed(2)}`);
    };
    const brokerSample = (name: string, round: number, seconds: number, bytes: number, records: number, w: Watched, extra: Record<string, unknown> = {}) => {
      addSample(name, {
        round,
        mbps: bytes / MB / seconds,
        recordsPerSec: records / seconds,
        seconds,
        cpu: cpuOf(w, seconds),
        brokerPeakRssMB: (w.broker?.peakRssBytes ?? 0) / MB,
        ...extra,
      });
      log(`${name}${round > 0 ? ` (round ${round})` : ''}: ${(bytes / MB / seconds).toFixed(1)} MB/s, ${Math.round(records / seconds)} records/s, broker CPU ${((w.broker?.cpuSeconds ?? 0) / seconds).toFixed(2)}, mariadb CPU ${(w.mariadb!.cpuSeconds / seconds).toFixed(2)}`);
    };

    const host = '127.0.0.1';
    const port = broker?.port ?? 0;
    const kafka = new Kafka({ clientId: 'bench-admin', brokers: [`${host}:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    if (broker) await admin.connect();
    const createTopic = async (topic: string, partitions: number) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    };
    const deleteTopic = async (topic: string) => {
      await admin.deleteTopics({ topics: [topic] }).catch((e: unknown) => log(`delete ${topic}: ${(e as Error).message}`));
    };

    // ---- 1. produce rounds: ceiling, naive and replayer, interleaved ---------------------------
    // Round 1 measures both drivers for the ceiling and the naive table; later rounds repeat the
    // better one. Odd rounds run the raw phases first, even rounds the replayer first, and each
    // round starts from an empty ceiling table and a fresh replayer topic, so neither side always
    // inherits the other's dirty pages.
    const rowsPerStatement = Math.max(1, Math.floor((8 << 20) / batch.length));
    const maxRequestsPerSec: number[] = [];
    let ceilingDrivers: Driver[] = ['mysql2', 'mariadb'];
    let naiveDrivers: Driver[] = ['mysql2', 'mariadb'];
    let replayTopic: string | null = null;
    const better = (a: string, b: string): Driver[] => {
      const ma = results.figures[a]?.mbps ?? 0;
      const mb = results.figures[b]?.mbps ?? 0;
      return [ma >= mb ? 'mysql2' : 'mariadb'];
    };
    if (needCeiling || run('naive') || needReplayer) {
      for (let round = 1; round <= o.rounds; round++) {
        if (needCeiling) await truncateRawTables(rawUrl, ['bench_log']);
        if (replayTopic) await deleteTopic(replayTopic);
        replayTopic = null;
        const ceilingStep = async () => {
          if (!needCeiling) return;
          for (const driver of ceilingDrivers) {
            await truncateRawTables(rawUrl, ['bench_log']);
            log(`ceiling (${driver}, round ${round}): ${o.mysqlConnections} connections, ${rowsPerStatement} batches per transaction`);
            const status0 = await serverStatus(db.url);
            const w = watch();
            const r = await insertCeiling({ driver, url: rawUrl, connections: o.mysqlConnections, batch, recordsPerBatch: o.batchRecords, rowsPerTransaction: rowsPerStatement, rowsPerStatement, durationMs: o.duration * 1000 });
            const we = w.end();
            insertSample(`ceiling.${driver}`, round, r, we, bytesPerRecord, { mariadbStatus: statusDelta(status0, await serverStatus(db.url)) });
          }
          ceilingDrivers = better('ceiling.mysql2', 'ceiling.mariadb');
        };
        const naiveStep = async () => {
          if (!run('naive')) return;
          const value = Buffer.alloc(o.recordBytes, 0x61);
          for (const driver of naiveDrivers) {
            log(`naive row-per-message (${driver}, round ${round}): ${o.mysqlConnections} connections, ${o.batchRecords} rows per transaction`);
            const w = watch();
            const r = await naiveInsert({ driver, url: rawUrl, connections: o.mysqlConnections, value, rowsPerTransaction: o.batchRecords, durationMs: o.duration * 1000 });
            insertSample(`naive.${driver}`, round, r, w.end(), o.recordBytes);
            await truncateRawTables(rawUrl, ['bench_naive']);
          }
          naiveDrivers = better('naive.mysql2', 'naive.mariadb');
        };
        const replayerStep = async () => {
          if (!needReplayer) return;
          replayTopic = `bench-replay-${round}`;
          await createTopic(replayTopic, o.partitions);
          log(`replayer (round ${round}): ${o.producers} connections x ${o.inFlight} in flight, ${o.partitions} partitions`);
          const status0 = await serverStatus(db.url);
          const w = watch();
          const r = await produceLoad({ host, port, topic: replayTopic, partitions: o.partitions, connections: o.producers, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, onProgress: (b, s) => log(`  replayer ${(b / MB / s).toFixed(1)} MB/s`) });
          const we = w.end();
          const lat = latencySummary(r.latencyMs);
          brokerSample('broker.replayer', round, r.seconds, r.bytes, r.records, we, { errors: r.errorCodes, produceMsP50: lat.p50, produceMsP99: lat.p99, mariadbStatus: statusDelta(status0, await serverStatus(db.url)) });
          maxRequestsPerSec.push(r.requests / r.seconds);
        };
        const steps = round % 2 === 1 ? [ceilingStep, naiveStep, replayerStep] : [replayerStep, naiveStep, ceilingStep];
        for (const step of steps) await step();
      }
    }

    // ---- 2. consume rounds: SELECT ceiling and raw backlog Fetch, interleaved --------------------
    // Both read what the last produce round wrote (the ceiling table, the replayer topic), from the
    // first row, starting again at the end, for the whole phase.
    if (needCeiling || run('consume')) {
      const rawConsume = run('consume') && replayTopic !== null;
      let ends: bigint[] = [];
      if (rawConsume) {
        const offsets = await admin.fetchTopicOffsets(replayTopic!);
        ends = offsets.sort((a, b) => a.partition - b.partition).map((x) => BigInt(x.high));
      }
      for (let round = 1; round <= o.rounds; round++) {
        const selectStep = async () => {
          log(`select ceiling (round ${round}): reading the stored batches back, ${o.mysqlConnections} connections`);
          const w = watch();
          const s = await selectCeiling(rawUrl, o.mysqlConnections, 8, o.duration * 1000);
          const we = w.end();
          addSample('ceiling.select', { round, mbps: s.bytes / MB / s.seconds, recordsPerSec: (s.rows * o.batchRecords) / s.seconds, seconds: s.seconds, cpu: cpuOf(we, s.seconds) });
          log(`select ceiling (round ${round}): ${(s.bytes / MB / s.seconds).toFixed(1)} MB/s`);
        };
        const fetchStep = async () => {
          if (!rawConsume) return;
          const parts = ends.map((_, i) => i);
          log(`consume backlog (raw Fetch, round ${round}): ${parts.length} partitions, ${ends.reduce((a, b) => a + b, 0n)} records, from offset 0 again at the end`);
          const w = watch();
          const f = await fetchLoad({ host, port, topic: replayTopic!, partitions: parts, from: parts.map(() => 0n), until: ends, wrap: true, durationMs: o.duration * 1000, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 100 });
          brokerSample('broker.consume.backlog.raw', round, f.seconds, f.bytes, f.records, w.end(), { errors: f.errors });
        };
        const steps = round % 2 === 1 ? [selectStep, fetchStep] : [fetchStep, selectStep];
        for (const step of steps) await step();
      }
      if (rawConsume) {
        const total = Number(ends.reduce((a, b) => a + b, 0n));
        log('consume backlog (kafkajs consumer group)');
        const w = watch();
        const k = await runClients({ mode: 'consume', brokers: [`${host}:${port}`], topic: replayTopic!, partitions: o.partitions, durationMs: o.duration * 1000 + 10_000, targetRecords: total, groupId: 'bench-backlog', fromBeginning: true }, log);
        brokerSample('broker.consume.backlog.kafkajs', 0, k.seconds, k.records * bytesPerRecord, k.records, w.end(), { clientCpu: k.cpuSeconds / k.seconds, joinSeconds: k.joinSeconds });
      }
    }
    if (replayTopic) await deleteTopic(replayTopic);
    if (needCeiling) await truncateRawTables(rawUrl, ['bench_log']);
    if (!needBroker) {
      await finish(results, o);
      return;
    }

    // ---- 3b. kcat -------------------------------------------------------------------------------
    if (run('kcat')) {
      await createTopic('bench-kcat', o.partitions);
      log(`kcat: ${o.kcatRecords} records of ${o.recordBytes} B from a file, ${o.kcatProcs} kcat processes`);
      const w = watch();
      const k = await runClients({ mode: 'kcat', brokers: [`${host}:${port}`], topic: 'bench-kcat', partitions: o.partitions, durationMs: 120_000, targetRecords: o.kcatRecords, recordBytes: o.recordBytes, batchRecords: o.batchRecords, procs: o.kcatProcs }, log);
      brokerSample('broker.kcat', 0, k.seconds, k.records * bytesPerRecord, k.records, w.end(), { clientCpu: k.cpuSeconds / k.seconds });
      await deleteTopic('bench-kcat');
    }

    // ---- 3c. kafkajs producers -------------------------------------------------------------------
    if (run('kafkajs')) {
      await createTopic('bench-kafkajs', o.partitions);
      log(`kafkajs: ${o.kafkajsProducers} producers, acks=-1, ${o.batchRecords} records per send`);
      const w = watch();
      const k = await runClients({ mode: 'produce', brokers: [`${host}:${port}`], topic: 'bench-kafkajs', partitions: o.partitions, producers: o.kafkajsProducers, batchRecords: o.batchRecords, recordBytes: o.recordBytes, durationMs: o.duration * 1000 }, log);
      brokerSample('broker.kafkajs', 0, k.seconds, k.records * bytesPerRecord, k.records, w.end(), { clientCpu: k.cpuSeconds / k.seconds });
      await deleteTopic('bench-kafkajs');
    }

    // ---- 3d. idempotent against plain produce, interleaved in rounds --------------------------
    // The same raw load both times (every request its own stamped batch copy with a fresh CRC);
    // only the producer id differs, so the ratio is the cost of the broker's sequence checks.
    if (run('idempotence')) {
      for (let round = 1; round <= o.rounds; round++) {
        const topic = `bench-idem-${round}`;
        await createTopic(topic, o.partitions);
        for (const idempotent of round % 2 === 1 ? [false, true] : [true, false]) {
          const w = watch();
          const r = await produceSequenced({ host, port, topic, partitions: o.partitions, connections: o.producers, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, idempotent });
          if (r.errors > 0) log(`  ${r.errors} errors: ${JSON.stringify(r.errorCodes)}`);
          brokerSample(idempotent ? 'broker.produce.idempotent' : 'broker.produce.plain', round, r.seconds, r.bytes, r.records, w.end(), { errors: r.errors });
        }
        await deleteTopic(topic);
      }
    }

    // ---- 3e. a transactional producer committing every 100 ms ---------------------------------
    if (run('transactions')) {
      await createTopic('bench-txn', o.partitions);
      const commitEveryMs = 100;
      const w = watch();
      const r = await transactionalLoad({ host, port, topic: 'bench-txn', partitions: o.partitions, connections: 1, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, commitEveryMs, transactionalId: 'bench-txn' });
      const c = latencySummary(r.commitMs);
      brokerSample('broker.produce.transactional', 0, r.seconds, r.bytes, r.records, w.end(), { commitEveryMs, commits: r.commits, commitMsP50: c.p50, commitMsP99: c.p99, errors: r.errors });
      log(`  ${r.commits} commits, EndTxn p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms, ${r.errors} errors`);
      await deleteTopic('bench-txn');
    }

    // ---- 4b. tail: consume while producing ------------------------------------------------------
    if (run('tail')) {
      await createTopic('bench-tail', o.partitions);
      log('tail: replayer producing while a raw Fetch follower reads the tail');
      const parts = Array.from({ length: o.partitions }, (_, i) => i);
      const w = watch();
      const [p, f] = await Promise.all([
        produceLoad({ host, port, topic: 'bench-tail', partitions: o.partitions, connections: o.producers, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords }),
        fetchLoad({ host, port, topic: 'bench-tail', partitions: parts, from: parts.map(() => 0n), durationMs: o.duration * 1000 + 500, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 100 }),
      ]);
      const we = w.end();
      brokerSample('broker.tail.produce', 0, p.seconds, p.bytes, p.records, we);
      brokerSample('broker.tail.consume', 0, f.seconds, f.bytes, f.records, we, { consumedOverProduced: f.records / Math.max(1, p.records) });
      await deleteTopic('bench-tail');
    }

    // ---- 5. latency rounds: produce at half the max rate, and MariaDB's commits at that rate -------
    if (run('latency')) {
      if (o.latencyRate === null && maxRequestsPerSec.length === 0) throw new Error('latency needs the replayer phase (or --latency-rate)');
      const rate = o.latencyRate !== null ? (o.latencyRate * MB) / batch.length : median(maxRequestsPerSec) / 2;
      const conns = o.producers;
      // MariaDB's commit latency at the same load: the same bytes per second, one batch per transaction,
      // through the better ceiling's driver (without the ceiling phase, the connector the broker uses).
      const driver: Driver = results.figures['ceiling.mariadb'] || results.figures['ceiling.mysql2']
        ? ceilingDrivers[0]!
        : /mariadb/i.test(String(results.machine.mysqlVersion)) ? 'mariadb' : 'mysql2';
      const samples: Record<string, unknown>[] = [];
      // Each half writes a table of its own, and all are dropped after the last round: dropping
      // or truncating 1.4 GB between halves stalled the disk for the half that came next.
      const latencyTopics: string[] = [];
      const latencyTables: string[] = [];
      for (let round = 1; round <= o.rounds; round++) {
        const sample: Record<string, unknown> = { round };
        const produceStep = async () => {
          const topic = `bench-latency-${round}`;
          await createTopic(topic, conns);
          log(`latency (round ${round}): ${rate.toFixed(0)} requests/s (${o.latencyRate !== null ? '--latency-rate' : 'half the median max'}), ${conns} connections, end-to-end via a Fetch follower`);
          const status0 = await serverStatus(db.url);
          const sent = new Map<string, number>();
          const received = new Map<string, number>();
          const e2e: number[] = [];
          const parts = Array.from({ length: conns }, (_, i) => i);
          const w = watch();
          const [p] = await Promise.all([
            produceLoad({
              host, port, topic, partitions: conns, connections: conns, inFlight: 1, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, requestsPerSecond: rate,
              onAck: (part, base, at) => {
                const key = `${part}:${base}`;
                const r = received.get(key);
                if (r !== undefined) {
                  e2e.push(r - at);
                  received.delete(key);
                } else sent.set(key, at);
              },
            }),
            fetchLoad({
              host, port, topic, partitions: parts, from: parts.map(() => 0n), durationMs: o.duration * 1000 + 1000, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 500,
              onBatch: (part, base, _n, at) => {
                const key = `${part}:${base}`;
                const s = sent.get(key);
                if (s !== undefined) {
                  e2e.push(at - s);
                  sent.delete(key);
                } else received.set(key, at);
              },
            }),
          ]);
          const pw = w.end();
          const produce = latencySummary(p.latencyMs);
          Object.assign(sample, {
            requestsPerSec: p.requests / p.seconds,
            mbps: p.bytes / MB / p.seconds,
            recordsPerSec: p.records / p.seconds,
            produceMs: produce,
            endToEndMs: latencySummary(e2e),
            // Produce p99 per second of the phase: whether slow requests cluster.
            produceP99BySecond: p99BySecond(p.latencyMs, p.sentAtMs),
            cpu: cpuOf(pw, p.seconds),
            mariadbStatusProduce: statusDelta(status0, await serverStatus(db.url)),
          });
          latencyTopics.push(topic);
          log(`latency (round ${round}): produce p50 ${produce.p50.toFixed(1)} p99 ${produce.p99.toFixed(1)} p999 ${produce.p999.toFixed(1)} ms at ${(p.bytes / MB / p.seconds).toFixed(1)} MB/s`);
        };
        const commitStep = async () => {
          log(`latency (round ${round}): MariaDB commit latency at the same load (${driver}, one batch per transaction)`);
          const table = `bench_log_latency_${round}`;
          await createLogShapedTable(rawUrl, table);
          latencyTables.push(table);
          const status1 = await serverStatus(db.url);
          const c = await insertCeiling({ driver, url: rawUrl, connections: conns, batch, recordsPerBatch: o.batchRecords, rowsPerTransaction: 1, rowsPerStatement: 1, durationMs: o.duration * 1000, transactionsPerSecond: rate, table });
          sample.mariadbStatusCommit = statusDelta(status1, await serverStatus(db.url));
          const commit = latencySummary(c.commitMs);
          sample.mariadbCommitMs = commit;
          sample.commitMbps = c.bytes / MB / c.seconds;
          log(`latency (round ${round}): MariaDB commit p50 ${commit.p50.toFixed(1)} p99 ${commit.p99.toFixed(1)} ms`);
        };
        sample.order = round % 2 === 1 ? 'produce, commit' : 'commit, produce';
        const steps = round % 2 === 1 ? [produceStep, commitStep] : [commitStep, produceStep];
        for (const step of steps) await step();
        const pp99 = (sample.produceMs as { p99: number }).p99;
        const cp99 = (sample.mariadbCommitMs as { p99: number }).p99;
        sample.p99OverCommitP99 = pp99 / cp99;
        samples.push(sample);
        log(`latency (round ${round}): produce p99 / commit p99 = ${(pp99 / cp99).toFixed(2)}; MariaDB during produce ${JSON.stringify(sample.mariadbStatusProduce)}; during raw commits ${JSON.stringify(sample.mariadbStatusCommit)}`);
      }
      for (const topic of latencyTopics) await deleteTopic(topic);
      await dropRawTables(rawUrl, latencyTables);
      results.figures['latency'] = { samples, fixedRate: o.latencyRate !== null, requestsPerSecTarget: rate, commitDriver: driver };
    }

    // ---- scale sweep --------------------------------------------------------------------------------
    if (run('sweep')) {
      const sweepBatch = makeBatch(o.sweepBatchRecords, o.recordBytes);
      const points: unknown[] = [];
      for (const partitions of o.sweepPartitions) {
        const topic = `bench-sweep-${partitions}`;
        await createTopic(topic, partitions);
        for (const producers of o.sweepProducers) {
          const w = watch();
          const r = await produceLoad({ host, port, topic, partitions, connections: producers, inFlight: 2, durationMs: o.sweepSeconds * 1000, batch: sweepBatch, recordsPerBatch: o.sweepBatchRecords });
          const we = w.end();
          const point = {
            partitions, producers,
            mbps: r.bytes / MB / r.seconds,
            recordsPerSec: r.records / r.seconds,
            produceMsP99: latencySummary(r.latencyMs).p99,
            brokerCpu: we.broker!.cpuSeconds / r.seconds,
            mariadbCpu: we.mariadb!.cpuSeconds / r.seconds,
            brokerRssMB: we.broker!.rssBytes / MB,
            brokerPeakRssMB: we.broker!.peakRssBytes / MB,
            errors: r.errors,
          };
          points.push(point);
          log(`sweep ${partitions} partitions x ${producers} producers: ${point.mbps.toFixed(1)} MB/s, broker RSS ${point.brokerRssMB.toFixed(0)} MB (peak ${point.brokerPeakRssMB.toFixed(0)})`);
        }
        await deleteTopic(topic);
      }
      results.figures['sweep'] = { points };
    }

    // ---- idle connections ----------------------------------------------------------------------------
    if (run('idle') && broker) {
      await sleep(500);
      const before = new ProcWatch({ broker: broker.pid }).begin().end().broker!.rssBytes;
      log(`idle: opening ${o.idleConnections} connections (each sends ApiVersions once)`);
      const conns: KafkaConnection[] = [];
      for (let i = 0; i < o.idleConnections; i++) {
        const c = await connectRaw(host, port);
        conns.push(c);
      }
      await Promise.all(conns.map((c) => c.request(18, 0, { clientSoftwareName: '', clientSoftwareVersion: '' })));
      await sleep(1000);
      const after = new ProcWatch({ broker: broker.pid }).begin().end().broker!.rssBytes;
      for (const c of conns) c.close();
      results.figures['idle'] = { connections: conns.length, brokerRssBeforeMB: before / MB, brokerRssAfterMB: after / MB, perConnectionKB: (after - before) / 1024 / conns.length };
      log(`idle: broker RSS ${(before / MB).toFixed(0)} MB -> ${(after / MB).toFixed(0)} MB with ${conns.length} connections`);
    }
    if (userRun && broker) {
      const ctx: UserPhaseContext = {
        o, host, port, rawUrl, brokerPid: broker.pid, metricsPort: broker.metricsPort, createTopic, deleteTopic, watch, log,
        status: async () => {
          const a = await serverStatus(db.url);
          return { end: async () => statusDelta(a, await serverStatus(db.url)) };
        },
        figure: (name, value) => {
          results.figures[name] = value;
        },
      };
      if (run('tcp')) await tcpPhase(ctx);
      if (run('small')) await smallPhase(ctx);
      if (run('scale')) await scalePhase(ctx);
    }
    await admin.disconnect();
    await finish(results, o);
  } finally {
    if (broker) await broker.stop();
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function p99BySecond(latencyMs: number[], sentAtMs: number[]): number[] {
  const buckets: number[][] = [];
  latencyMs.forEach((l, i) => (buckets[Math.floor(sentAtMs[i]! / 1000)] ??= []).push(l));
  return Array.from(buckets, (b) => +(b && b.length > 0 ? latencySummary(b).p99 : 0).toFixed(1));
}

/** MariaDB/MySQL global counters that explain commit latency: binlog group commit, row-lock waits, fsyncs. */
const STATUS_NAMES = [
  'Binlog_commits', 'Binlog_group_commits', 'Binlog_group_commit_trigger_count', 'Binlog_group_commit_trigger_lock_wait',
  'Binlog_group_commit_trigger_timeout', 'Binlog_cache_disk_use', 'Innodb_row_lock_waits', 'Innodb_row_lock_time',
  'Innodb_row_lock_time_max', 'Innodb_data_fsyncs', 'Innodb_os_log_fsyncs', 'Com_commit', 'Com_rollback',
  'Innodb_buffer_pool_pages_flushed', 'Innodb_data_written', 'Innodb_buffer_pool_pages_dirty', 'Innodb_checkpoint_age',
  'Binlog_bytes_written', 'Innodb_os_log_written', 'Handler_write',
];
/** Gauges: reported as the value at the start and at the end instead of a difference. */
const STATUS_GAUGES = new Set(['Innodb_buffer_pool_pages_dirty', 'Innodb_checkpoint_age']);

async function serverStatus(url: string): Promise<Record<string, number>> {
  const conn = await mysql.createConnection(connectionOptions(parseMysqlUrl(url)));
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_NAMES.map(() => '?').join(',')})`, STATUS_NAMES);
    const out: Record<string, number> = {};
    for (const r of rows) out[String(r.Variable_name)] = Number(r.Value);
    return out;
  } finally {
    await conn.end();
  }
}

/** Differences of counters (Innodb_row_lock_time_max is a maximum: the later value is kept; gauges: start and end). */
function statusDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    if (STATUS_GAUGES.has(k)) {
      out[`${k}_start`] = a[k] ?? 0;
      out[`${k}_end`] = v;
    } else out[k] = k.endsWith('_max') ? v : v - (a[k] ?? 0);
  }
  return out;
}

async function finish(results: Results, o: BenchOptions): Promise<void> {
  results.finishedAt = new Date().toISOString();
  results.machine.loadAvgAtEnd = os.loadavg();
  results.seconds = (performance.now() - t0) / 1000;
  results.ratios = computeRatios(results);
  const dir = path.resolve('bench/results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `bench-${results.startedAt.replace(/[:.]/g, '-')}${o.quick ? '-quick' : ''}.json`);
  await writeFile(file, JSON.stringify(results, null, 2));
  printReport(results);
  printUserReport(results);
  log(`results written to ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
