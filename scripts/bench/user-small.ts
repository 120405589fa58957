/**
 * The small-request phase of "produce as users see it" (user-produce.ts has the others): 64 and
 * 256 producers each sending one 200-byte record per request with acks=all (raw replayer and
 * kafkajs) against the hand-rolled queue (one row and one transaction per message, as many
 * connections), with MariaDB's commit latency both paced afterwards at the broker's commit rate
 * and measured during the run; the broker's group-commit phases from its /metrics; for 64, the
 * same producers open loop at 1/4, 1/2 and 3/4 of the closed-loop rate (latency against load).
 */
import { runClients } from './clients.js';
import { makeBatch, produceLoad, type ProduceLoadResult } from './replayer.js';
import { latencySummary, sleep } from './proc.js';
import { insertCeiling, naiveInsert, truncateRawTables } from './raw-mysql.js';
import { counted, insertFigure, type Counted, type UserPhaseContext } from './user-produce.js';

/** Many producers, one 200-byte record per request, against one transaction per message. */
export async function smallPhase(ctx: UserPhaseContext): Promise<void> {
  const { o, log } = ctx;
  const recordBytes = 200;
  const batch = makeBatch(1, recordBytes);
  const points: Record<string, unknown>[] = [];
  for (const producers of o.quick ? [64] : [64, 256]) {
    const topic = `bench-small-${producers}`;
    await ctx.createTopic(topic, 8);
    log(`small: ${producers} raw producers, one ${recordBytes}-byte record per request, acks=all`);
    let w = ctx.watch();
    const [[[raw, rawCounters], commitDuring], phases]: [[[ProduceLoadResult, Counted], { p50: number; p99: number; n: number }], Record<string, number>] = await withTimings(ctx, () => withCommitProbe(ctx, 20_000, () => counted(ctx, () => produceLoad({ host: ctx.host, port: ctx.port, topic, partitions: 8, connections: producers, inFlight: 1, durationMs: o.duration * 1000, batch, recordsPerBatch: 1 }))));
    const rawCpu = w.end();
    const rawLat = latencySummary(raw.latencyMs);
    const curve = producers === 64 ? await latencyCurve(ctx, topic, batch, producers, raw.records / raw.seconds) : [];
    log(`small: ${producers} kafkajs producers`);
    w = ctx.watch();
    const [js, jsCounters] = await counted(ctx, () => runClients({ mode: 'produce', brokers: [`${ctx.host}:${ctx.port}`], topic, partitions: 8, producers, batchRecords: 1, recordBytes, durationMs: o.duration * 1000 }, log));
    w.end();
    await ctx.deleteTopic(topic);
    log(`small: naive queue table, ${producers} connections, one row per transaction`);
    w = ctx.watch();
    const [naive, naiveCounters] = await counted(ctx, () => naiveInsert({ driver: 'mariadb', url: ctx.rawUrl, connections: producers, value: Buffer.alloc(recordBytes, 0x61), rowsPerTransaction: 1, durationMs: o.duration * 1000 }));
    const naiveFigure: Record<string, unknown> = { ...insertFigure(naive, w.end()), counters: naiveCounters };
    await truncateRawTables(ctx.rawUrl, ['bench_naive']);
    // MariaDB's commit latency at the broker's load: as many connections, at the rate the broker
    // committed (its COMMITs during the raw phase, Com_commit), one row per transaction.
    const [paced, pacedCounters] = await counted(ctx, () => insertCeiling({ driver: 'mariadb', url: ctx.rawUrl, connections: producers, batch, recordsPerBatch: 1, rowsPerTransaction: 1, rowsPerStatement: 1, durationMs: o.duration * 1000, transactionsPerSecond: Math.max(1, rawCounters.comCommit / raw.seconds) }));
    await truncateRawTables(ctx.rawUrl, ['bench_log']);
    const commit = latencySummary(paced.commitMs);
    const point = {
      producers,
      raw: { recordsPerSec: raw.records / raw.seconds, p50: rawLat.p50, p99: rawLat.p99, errors: raw.errors, brokerCpu: rawCpu.broker!.cpuSeconds / raw.seconds, brokerRunQueueWait: rawCpu.broker!.runQueueWaitSeconds / raw.seconds, mariadbCpu: rawCpu.mariadb!.cpuSeconds / raw.seconds, counters: rawCounters, recordsPerCommit: raw.records / Math.max(1, rawCounters.comCommit) },
      kafkajs: { recordsPerSec: js.records / js.seconds, clientCpu: js.cpuSeconds / js.seconds, counters: jsCounters },
      naive: naiveFigure,
      mariadbCommitAtLoad: { transactionsPerSec: paced.transactions / paced.seconds, p50: commit.p50, p99: commit.p99, counters: pacedCounters },
      mariadbCommitDuringLoad: commitDuring,
      phasesMs: phases,
      rawP99OverCommitDuringP99: rawLat.p99 / commitDuring.p99,
      rawOverNaive: raw.records / raw.seconds / (naiveFigure.recordsPerSec as number),
      kafkajsOverNaive: js.records / js.seconds / (naiveFigure.recordsPerSec as number),
      rawP99OverCommitP99: rawLat.p99 / commit.p99,
      curve,
    };
    log(`small ${producers}: raw ${Math.round(point.raw.recordsPerSec)} records/s (p99 ${rawLat.p99.toFixed(1)} ms), kafkajs ${Math.round(point.kafkajs.recordsPerSec)}, naive ${Math.round(naiveFigure.recordsPerSec as number)}; commit p99 at load ${commit.p99.toFixed(1)} ms`);
    points.push(point);
  }
  ctx.figure('user.small', { points });
}

/** Sum and count of each group-commit phase and of the Produce request (key `produce`), from the broker's /metrics. */
async function scrapeTimings(ctx: UserPhaseContext): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${ctx.metricsPort}/metrics`)).text();
  const out = new Map<string, { sum: number; count: number }>();
  const re = /^(?:kafka_mysql_group_commit_seconds_(sum|count)\{phase="([^"]+)"\}|kafka_mysql_request_duration_seconds_(sum|count)\{api="Produce"\}) (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const key = m[2] ?? 'produce';
    const e = out.get(key) ?? { sum: 0, count: 0 };
    e[(m[1] ?? m[3]) as 'sum' | 'count'] = Number(m[4]);
    out.set(key, e);
  }
  return out;
}

/**
 * Where a produce's time went during `run`: the mean of each group-commit phase per transaction
 * and of the Produce request, in ms (kafka_mysql_group_commit_seconds, docs/operations.md).
 */
async function withTimings<T>(ctx: UserPhaseContext, run: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const before = await scrapeTimings(ctx);
  const value = await run();
  const after = await scrapeTimings(ctx);
  const means: Record<string, number> = {};
  for (const [key, a] of after) {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const n = a.count - b.count;
    if (n > 0) means[key] = ((a.sum - b.sum) / n) * 1000;
  }
  return [value, means];
}

/**
 * MariaDB's commit latency during a broker run: 4 connections of the bench commit one-row
 * transactions at 100/s in all into the raw log table (partition ids from `partitionBase`) while
 * `run` lasts. They share the machine's CPU and MariaDB's binlog group commit with the broker at
 * that moment, stalls included, which the paced replay of the broker's commit rate afterwards
 * (on a machine the broker and the producers no longer load) does not.
 */
async function withCommitProbe<T>(ctx: UserPhaseContext, partitionBase: number, run: () => Promise<T>): Promise<[T, { p50: number; p99: number; n: number }]> {
  const stop = new AbortController();
  const probe = insertCeiling({ driver: 'mariadb', url: ctx.rawUrl, connections: 4, batch: PROBE_ROW, recordsPerBatch: 1, rowsPerTransaction: 1, rowsPerStatement: 1, durationMs: 3_600_000, transactionsPerSecond: 100, partitionBase, signal: stop.signal });
  try {
    const value = await run();
    stop.abort();
    const { commitMs } = await probe;
    const s = latencySummary(commitMs);
    return [value, { p50: s.p50, p99: s.p99, n: commitMs.length }];
  } finally {
    stop.abort();
    await probe.catch(() => undefined);
  }
}

const PROBE_ROW = Buffer.alloc(200, 0x70);

/**
 * The same producers open loop (each sends on a schedule, answered or not) at fractions of the
 * closed-loop rate: latency as a function of load, each level with MariaDB's commit latency at
 * the commit rate the broker had at that level. The closed-loop run saturates the machine's two
 * cores (the replayer, the broker and MariaDB share them), so its latency is mostly waiting for
 * a CPU; these show the broker's latency where it is not.
 */
async function latencyCurve(ctx: UserPhaseContext, topic: string, batch: Buffer, producers: number, closedLoopRate: number): Promise<Record<string, number>[]> {
  const { o, log } = ctx;
  const points: Record<string, number>[] = [];
  for (const fraction of [0.25, 0.5, 0.75]) {
    const requestsPerSecond = fraction * closedLoopRate;
    const w = ctx.watch();
    const [[r, counters], during] = await withCommitProbe(ctx, 10_000, () => counted(ctx, () => produceLoad({ host: ctx.host, port: ctx.port, topic, partitions: 8, connections: producers, inFlight: 1, durationMs: o.duration * 1000, batch, recordsPerBatch: 1, requestsPerSecond })));
    const cpu = w.end();
    const lat = latencySummary(r.latencyMs);
    const [paced] = await counted(ctx, () => insertCeiling({ driver: 'mariadb', url: ctx.rawUrl, connections: producers, batch, recordsPerBatch: 1, rowsPerTransaction: 1, rowsPerStatement: 1, durationMs: o.duration * 1000, transactionsPerSecond: Math.max(1, counters.comCommit / r.seconds) }));
    await truncateRawTables(ctx.rawUrl, ['bench_log']);
    // Right after a TRUNCATE, MariaDB's commits stalled for up to 150 ms (every producer's
    // latency jumped at once at the start of the next level): the next level starts 1 s later.
    await sleep(1000);
    const commit = latencySummary(paced.commitMs);
    const point = { fraction, recordsPerSec: r.records / r.seconds, errors: r.errors, p50: lat.p50, p99: lat.p99, commitP50: commit.p50, commitP99: commit.p99, p99OverCommitP99: lat.p99 / commit.p99, commitDuringP99: during.p99, p99OverCommitDuringP99: lat.p99 / during.p99, brokerCpu: cpu.broker!.cpuSeconds / r.seconds, brokerRunQueueWait: cpu.broker!.runQueueWaitSeconds / r.seconds, recordsPerCommit: r.records / Math.max(1, counters.comCommit) };
    log(`small ${producers} open loop at ${fraction} of the closed-loop rate: ${Math.round(point.recordsPerSec)} records/s, p50 ${lat.p50.toFixed(1)} p99 ${lat.p99.toFixed(1)} ms; commit p99 at that load ${commit.p99.toFixed(1)} ms (${point.p99OverCommitP99.toFixed(2)}x), during the run ${during.p99.toFixed(1)} ms (${point.p99OverCommitDuringP99.toFixed(2)}x)`);
    points.push(point);
  }
  return points;
}
