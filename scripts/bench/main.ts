/**
 * `npm run bench`: starts its own MariaDB (the managed one, durability on: the settings of
 * `npm start`) and a broker process, and measures in one run: the raw INSERT ceilings with
 * mysql2 and the mariadb connector, the naive row-per-message table, the broker loaded by a
 * raw-socket Produce replayer, kcat and kafkajs, consumption from backlog and tail against
 * the raw SELECT ceiling, latency at half the replayer's max rate, a partitions x producers
 * sweep with broker RSS, and idle connections. Prints a table and writes JSON under
 * bench/results/. `--quick` runs in under a minute. See docs/benchmarks.md.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { encodeRequestFrame } from '../../codec/client.js';
import { startManagedMariadb } from '../../storage/managed-mariadb.js';
import { connectionOptions, parseMysqlUrl, withDatabase } from '../../storage/mysql.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { runClients } from './clients.js';
import { parseOptions, type BenchOptions } from './options.js';
import { ProcWatch, latencySummary, sleep } from './proc.js';
import { createRawTables, insertCeiling, naiveInsert, selectCeiling, truncateRawTables, type Driver, type InsertResult } from './raw-mysql.js';
import { fetchLoad, makeBatch, produceLoad, RawConnection } from './replayer.js';
import { printReport, type Results } from './report.js';

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
  log(`batch: ${o.batchRecords} records of ${o.recordBytes} B = ${batch.length} B; ${o.duration} s per phase${o.quick ? ' (quick)' : ''}`);

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-bench-'));
  log(`starting MariaDB in ${dataDir}`);
  const db = await startManagedMariadb({ dataDir, port: 0, extraArgs: ['--max-connections=2000'] });
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

    // ---- 1. ceilings: raw inserts of the same batch bytes, both drivers -----------------------
    const watch = (extra: Record<string, number> = {}) => new ProcWatch({ mariadb: db.pid, bench: self, ...extra }).begin();
    const insertFigure = (name: string, r: InsertResult, w: ReturnType<ProcWatch['end']>, recordBytes: number) => {
      const commit = latencySummary(r.commitMs);
      results.figures[name] = {
        mbps: r.bytes / MB / r.seconds,
        recordsPerSec: r.records / r.seconds,
        bytesPerRecord: recordBytes,
        transactions: r.transactions,
        commitMsP50: commit.p50,
        commitMsP99: commit.p99,
        cpu: { mariadb: w.mariadb!.cpuSeconds / r.seconds, client: w.bench!.cpuSeconds / r.seconds },
      };
      log(`${name}: ${(r.bytes / MB / r.seconds).toFixed(1)} MB/s, ${Math.round(r.records / r.seconds)} records/s, commit p50 ${commit.p50.toFixed(1)} ms`);
    };
    const rowsPerStatement = Math.max(1, Math.floor((8 << 20) / batch.length));
    if (run('ceiling')) {
      for (const driver of ['mysql2', 'mariadb'] as Driver[]) {
        await truncateRawTables(rawUrl);
        log(`ceiling (${driver}): ${o.mysqlConnections} connections, ${rowsPerStatement} batches per transaction`);
        const w = watch();
        const r = await insertCeiling({ driver, url: rawUrl, connections: o.mysqlConnections, batch, recordsPerBatch: o.batchRecords, rowsPerTransaction: rowsPerStatement, rowsPerStatement, durationMs: o.duration * 1000 });
        insertFigure(`ceiling.${driver}`, r, w.end(), bytesPerRecord);
      }
      // What the mariadb pass left in bench_log is read back for the SELECT ceiling.
      log('select ceiling: reading the stored batches back');
      const w = watch();
      const s = await selectCeiling(rawUrl, o.mysqlConnections, 8, Number.MAX_SAFE_INTEGER, o.duration * 1000);
      const we = w.end();
      results.figures['ceiling.select'] = { mbps: s.bytes / MB / s.seconds, recordsPerSec: (s.rows * o.batchRecords) / s.seconds, cpu: { mariadb: we.mariadb!.cpuSeconds / s.seconds, client: we.bench!.cpuSeconds / s.seconds } };
      log(`select ceiling: ${(s.bytes / MB / s.seconds).toFixed(1)} MB/s`);
      await truncateRawTables(rawUrl);
    }
    if (run('naive')) {
      const value = Buffer.alloc(o.recordBytes, 0x61);
      for (const driver of ['mysql2', 'mariadb'] as Driver[]) {
        log(`naive row-per-message (${driver}): ${o.mysqlConnections} connections, ${o.batchRecords} rows per transaction`);
        const w = watch();
        const r = await naiveInsert({ driver, url: rawUrl, connections: o.mysqlConnections, value, rowsPerTransaction: o.batchRecords, durationMs: o.duration * 1000 });
        insertFigure(`naive.${driver}`, r, w.end(), o.recordBytes);
        await truncateRawTables(rawUrl);
      }
    }

    // ---- the broker ---------------------------------------------------------------------------
    const phasesNeedingBroker = ['replayer', 'consume', 'kcat', 'kafkajs', 'tail', 'latency', 'sweep', 'idle'];
    if (!phasesNeedingBroker.some(run)) return finish(results, o);
    if (o.profileDir) await mkdir(o.profileDir, { recursive: true });
    broker = await startBrokerProcess({ mysqlUrl: db.url, settings: o.brokerSettings, cpuProfileDir: o.profileDir ?? undefined, nodeArgs: o.brokerNodeArgs, log });
    log(`broker pid ${broker.pid} on 127.0.0.1:${broker.port}`);
    const host = '127.0.0.1';
    const port = broker.port;
    const kafka = new Kafka({ clientId: 'bench-admin', brokers: [`${host}:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const createTopic = async (topic: string, partitions: number) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    };
    const deleteTopic = async (topic: string) => {
      await admin.deleteTopics({ topics: [topic] }).catch((e: unknown) => log(`delete ${topic}: ${(e as Error).message}`));
    };
    const bwatch = () => watch({ broker: broker!.pid });
    const brokerFigure = (name: string, seconds: number, bytes: number, records: number, w: ReturnType<ProcWatch['end']>, extra: Record<string, unknown> = {}) => {
      results.figures[name] = {
        mbps: bytes / MB / seconds,
        recordsPerSec: records / seconds,
        cpu: { broker: w.broker!.cpuSeconds / seconds, mariadb: w.mariadb!.cpuSeconds / seconds, bench: w.bench!.cpuSeconds / seconds },
        brokerPeakRssMB: w.broker!.peakRssBytes / MB,
        ...extra,
      };
      log(`${name}: ${(bytes / MB / seconds).toFixed(1)} MB/s, ${Math.round(records / seconds)} records/s, broker CPU ${(w.broker!.cpuSeconds / seconds).toFixed(2)}, mariadb CPU ${(w.mariadb!.cpuSeconds / seconds).toFixed(2)}`);
    };

    // ---- 3a. replayer: the figure held against the ceiling ------------------------------------
    let maxRequestsPerSec = 0;
    const mainTopic = 'bench-replay';
    const needReplayer = run('replayer') || run('consume') || (run('latency') && o.latencyRate === null);
    if (needReplayer) {
      await createTopic(mainTopic, o.partitions);
      log(`replayer: ${o.producers} connections x ${o.inFlight} in flight, ${o.partitions} partitions`);
      const w = bwatch();
      const r = await produceLoad({ host, port, topic: mainTopic, partitions: o.partitions, connections: o.producers, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, onProgress: (b, s) => log(`  replayer ${(b / MB / s).toFixed(1)} MB/s`) });
      const lat = latencySummary(r.latencyMs);
      brokerFigure('broker.replayer', r.seconds, r.bytes, r.records, w.end(), { errors: r.errorCodes, produceMsP50: lat.p50, produceMsP99: lat.p99 });
      maxRequestsPerSec = r.requests / r.seconds;
    }

    // ---- 4. consume the backlog: raw Fetch and kafkajs ----------------------------------------
    if (run('consume')) {
      const offsets = await admin.fetchTopicOffsets(mainTopic);
      const ends = offsets.sort((a, b) => a.partition - b.partition).map((x) => BigInt(x.high));
      const parts = ends.map((_, i) => i);
      log(`consume backlog (raw Fetch): ${parts.length} partitions, ${ends.reduce((a, b) => a + b, 0n)} records`);
      let w = bwatch();
      const f = await fetchLoad({ host, port, topic: mainTopic, partitions: parts, from: parts.map(() => 0n), until: ends, durationMs: o.duration * 1000, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 100 });
      brokerFigure('broker.consume.backlog.raw', f.seconds, f.bytes, f.records, w.end(), { errors: f.errors });
      const total = Number(ends.reduce((a, b) => a + b, 0n));
      log('consume backlog (kafkajs consumer group)');
      w = bwatch();
      const k = await runClients({ mode: 'consume', brokers: [`${host}:${port}`], topic: mainTopic, partitions: o.partitions, durationMs: o.duration * 1000 + 10_000, targetRecords: total, groupId: 'bench-backlog', fromBeginning: true }, log);
      const kw = w.end();
      brokerFigure('broker.consume.backlog.kafkajs', k.seconds, k.records * bytesPerRecord, k.records, kw, { clientCpu: k.cpuSeconds / k.seconds, joinSeconds: k.joinSeconds });
    }
    if (needReplayer) await deleteTopic(mainTopic);

    // ---- 3b. kcat -------------------------------------------------------------------------------
    if (run('kcat')) {
      await createTopic('bench-kcat', o.partitions);
      log(`kcat: ${o.kcatRecords} records of ${o.recordBytes} B from a file, ${o.kcatProcs} kcat processes`);
      const w = bwatch();
      const k = await runClients({ mode: 'kcat', brokers: [`${host}:${port}`], topic: 'bench-kcat', partitions: o.partitions, durationMs: 120_000, targetRecords: o.kcatRecords, recordBytes: o.recordBytes, batchRecords: o.batchRecords, procs: o.kcatProcs }, log);
      brokerFigure('broker.kcat', k.seconds, k.records * bytesPerRecord, k.records, w.end(), { clientCpu: k.cpuSeconds / k.seconds });
      await deleteTopic('bench-kcat');
    }

    // ---- 3c. kafkajs producers -------------------------------------------------------------------
    if (run('kafkajs')) {
      await createTopic('bench-kafkajs', o.partitions);
      log(`kafkajs: ${o.kafkajsProducers} producers, acks=-1, ${o.batchRecords} records per send`);
      const w = bwatch();
      const k = await runClients({ mode: 'produce', brokers: [`${host}:${port}`], topic: 'bench-kafkajs', partitions: o.partitions, producers: o.kafkajsProducers, batchRecords: o.batchRecords, recordBytes: o.recordBytes, durationMs: o.duration * 1000 }, log);
      brokerFigure('broker.kafkajs', k.seconds, k.records * bytesPerRecord, k.records, w.end(), { clientCpu: k.cpuSeconds / k.seconds });
      await deleteTopic('bench-kafkajs');
    }

    // ---- 4b. tail: consume while producing ------------------------------------------------------
    if (run('tail')) {
      await createTopic('bench-tail', o.partitions);
      log('tail: replayer producing while a raw Fetch follower reads the tail');
      const parts = Array.from({ length: o.partitions }, (_, i) => i);
      const w = bwatch();
      const [p, f] = await Promise.all([
        produceLoad({ host, port, topic: 'bench-tail', partitions: o.partitions, connections: o.producers, inFlight: o.inFlight, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords }),
        fetchLoad({ host, port, topic: 'bench-tail', partitions: parts, from: parts.map(() => 0n), durationMs: o.duration * 1000 + 500, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 100 }),
      ]);
      const we = w.end();
      brokerFigure('broker.tail.produce', p.seconds, p.bytes, p.records, we);
      brokerFigure('broker.tail.consume', f.seconds, f.bytes, f.records, we, { consumedOverProduced: f.records / Math.max(1, p.records) });
      await deleteTopic('bench-tail');
    }

    // ---- 5. latency at half the max rate ----------------------------------------------------------
    if (run('latency')) {
      if (o.latencyRate === null && maxRequestsPerSec === 0) throw new Error('latency needs the replayer phase (or --latency-rate)');
      const rate = o.latencyRate !== null ? (o.latencyRate * MB) / batch.length : maxRequestsPerSec / 2;
      const conns = o.producers;
      await createTopic('bench-latency', conns);
      log(`latency: ${rate.toFixed(0)} requests/s (${o.latencyRate !== null ? '--latency-rate' : 'half the max'}), ${conns} connections, end-to-end via a Fetch follower`);
      const status0 = await serverStatus(db.url);
      const sent = new Map<string, number>();
      const received = new Map<string, number>();
      const e2e: number[] = [];
      const parts = Array.from({ length: conns }, (_, i) => i);
      const w = bwatch();
      const [p] = await Promise.all([
        produceLoad({
          host, port, topic: 'bench-latency', partitions: conns, connections: conns, inFlight: 1, durationMs: o.duration * 1000, batch, recordsPerBatch: o.batchRecords, requestsPerSecond: rate,
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
          host, port, topic: 'bench-latency', partitions: parts, from: parts.map(() => 0n), durationMs: o.duration * 1000 + 1000, maxBytes: 16 << 20, partitionMaxBytes: 8 << 20, maxWaitMs: 500,
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
      const brokerStatus = statusDelta(status0, await serverStatus(db.url));
      const produce = latencySummary(p.latencyMs);
      const endToEnd = latencySummary(e2e);
      await deleteTopic('bench-latency');
      // MariaDB's commit latency at the same load: the same bytes per second, one batch per transaction.
      // The better ceiling's driver; without the ceiling phase, the connector the broker uses on this server.
      const ceilings = results.figures['ceiling.mariadb'] && results.figures['ceiling.mysql2'];
      const driver: Driver = ceilings
        ? (results.figures['ceiling.mariadb']!.mbps ?? 0) > (results.figures['ceiling.mysql2']!.mbps ?? 0) ? 'mariadb' : 'mysql2'
        : /mariadb/i.test(String(results.machine.mysqlVersion)) ? 'mariadb' : 'mysql2';
      log(`latency: MariaDB commit latency at the same load (${driver}, one batch per transaction)`);
      await truncateRawTables(rawUrl);
      const status1 = await serverStatus(db.url);
      const c = await insertCeiling({ driver, url: rawUrl, connections: conns, batch, recordsPerBatch: o.batchRecords, rowsPerTransaction: 1, rowsPerStatement: 1, durationMs: o.duration * 1000, transactionsPerSecond: rate });
      const rawStatus = statusDelta(status1, await serverStatus(db.url));
      await truncateRawTables(rawUrl);
      const commit = latencySummary(c.commitMs);
      results.figures['latency'] = {
        requestsPerSec: p.requests / p.seconds,
        mbps: p.bytes / MB / p.seconds,
        recordsPerSec: p.records / p.seconds,
        produceMs: produce,
        endToEndMs: endToEnd,
        mariadbCommitMs: commit,
        p99OverCommitP99: produce.p99 / commit.p99,
        fixedRate: o.latencyRate !== null,
        // Produce p99 per second of the phase: whether slow requests cluster (e.g. right after the previous phase).
        produceP99BySecond: p99BySecond(p.latencyMs, p.sentAtMs),
        commitDriver: driver,
        cpu: { broker: pw.broker!.cpuSeconds / p.seconds, mariadb: pw.mariadb!.cpuSeconds / p.seconds },
        // MariaDB counters over each half: binlog group commits, row-lock waits, fsyncs.
        mariadbStatus: { broker: brokerStatus, rawCommit: rawStatus },
      };
      log(`latency: MariaDB during produce ${JSON.stringify(brokerStatus)}; during raw commits ${JSON.stringify(rawStatus)}`);
      log(`latency: produce p99 per second ${JSON.stringify(results.figures['latency'].produceP99BySecond)}`);
      log(`latency: produce p50 ${produce.p50.toFixed(1)} p99 ${produce.p99.toFixed(1)} p999 ${produce.p999.toFixed(1)} ms; e2e p99 ${endToEnd.p99.toFixed(1)} ms; MariaDB commit p99 ${commit.p99.toFixed(1)} ms`);
    }

    // ---- scale sweep --------------------------------------------------------------------------------
    if (run('sweep')) {
      const sweepBatch = makeBatch(o.sweepBatchRecords, o.recordBytes);
      const points: unknown[] = [];
      for (const partitions of o.sweepPartitions) {
        const topic = `bench-sweep-${partitions}`;
        await createTopic(topic, partitions);
        for (const producers of o.sweepProducers) {
          const w = bwatch();
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
    if (run('idle')) {
      await sleep(500);
      const before = new ProcWatch({ broker: broker.pid }).begin().end().broker!.rssBytes;
      log(`idle: opening ${o.idleConnections} connections (each sends ApiVersions once)`);
      const conns: RawConnection[] = [];
      const frame = encodeRequestFrame(18, 0, 1, 'bench', { clientSoftwareName: '', clientSoftwareVersion: '' });
      for (let i = 0; i < o.idleConnections; i++) {
        const c = await RawConnection.connect(host, port);
        conns.push(c);
      }
      await Promise.all(conns.map((c) => c.request([frame])));
      await sleep(1000);
      const after = new ProcWatch({ broker: broker.pid }).begin().end().broker!.rssBytes;
      for (const c of conns) c.close();
      results.figures['idle'] = { connections: conns.length, brokerRssBeforeMB: before / MB, brokerRssAfterMB: after / MB, perConnectionKB: (after - before) / 1024 / conns.length };
      log(`idle: broker RSS ${(before / MB).toFixed(0)} MB -> ${(after / MB).toFixed(0)} MB with ${conns.length} connections`);
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
  const dir = path.resolve('bench/results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `bench-${results.startedAt.replace(/[:.]/g, '-')}${o.quick ? '-quick' : ''}.json`);
  await writeFile(file, JSON.stringify(results, null, 2));
  printReport(results);
  log(`results written to ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
