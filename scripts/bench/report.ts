/**
 * The results object (written as JSON) and the table printed at the end of a run. Figures
 * measured in rounds keep every sample; the table shows the median and the min-max range, and
 * each ratio is taken within a round (broker and reference of the same round) and reported as
 * the median of the rounds' ratios with their range.
 */

/** One measurement of a figure (one phase of one round; round 0 = a phase run once). */
export interface Sample {
  round: number;
  mbps: number;
  recordsPerSec: number;
  cpu: Record<string, number>;
  brokerPeakRssMB?: number;
  [key: string]: unknown;
}

export interface Figure {
  mbps?: number;
  recordsPerSec?: number;
  samples?: unknown[];
  [key: string]: unknown;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Ratio extends Spread {
  /** What is divided by what. */
  of: string;
  /** Per round: [round, ratio] (a single-sample figure is held against the reference's median). */
  perRound: Array<[number, number]>;
}

export interface Results {
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  options: object;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; mysqlVersion?: string; mariadbSettings?: Record<string, string>; loadAvgAtStart: number[]; loadAvgAtEnd?: number[] };
  figures: Record<string, Figure>;
  ratios?: Record<string, Ratio>;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Summary fields of a figure from its samples: medians (CPU per process too), MB/s range, peak RSS over all. */
export function summarizeSamples(samples: Sample[]): Record<string, unknown> {
  const mbps = spread(samples.map((s) => s.mbps));
  const cpu: Record<string, number> = {};
  for (const k of new Set(samples.flatMap((s) => Object.keys(s.cpu)))) cpu[k] = median(samples.map((s) => s.cpu[k] ?? 0));
  const out: Record<string, unknown> = {
    n: samples.length,
    mbps: mbps.median,
    mbpsMin: mbps.min,
    mbpsMax: mbps.max,
    recordsPerSec: median(samples.map((s) => s.recordsPerSec)),
    cpu,
  };
  const rss = samples.map((s) => s.brokerPeakRssMB).filter((x): x is number => typeof x === 'number' && x > 0);
  if (rss.length > 0) out.brokerPeakRssMB = Math.max(...rss);
  const clientCpu = samples.map((s) => s.clientCpu).filter((x): x is number => typeof x === 'number');
  if (clientCpu.length > 0) out.clientCpu = median(clientCpu);
  return out;
}

const samplesOf = (r: Results, name: string): Sample[] => (r.figures[name]?.samples as Sample[] | undefined) ?? [];

/** The better driver's sample of each round (the ceiling of that round). */
function bestByRound(r: Results, names: string[], key: 'mbps' | 'recordsPerSec'): Map<number, number> {
  const out = new Map<number, number>();
  for (const n of names) for (const s of samplesOf(r, n)) out.set(s.round, Math.max(out.get(s.round) ?? 0, s[key]));
  return out;
}

function ratio(of: string, pairs: Array<[number, number]>): Ratio | undefined {
  const ok = pairs.filter(([, v]) => Number.isFinite(v));
  if (ok.length === 0) return undefined;
  return { of, ...spread(ok.map(([, v]) => v)), perRound: ok };
}

/** Every ratio of the report, per round where both sides were measured in the same round. */
export function computeRatios(r: Results): Record<string, Ratio> {
  const out: Record<string, Ratio | undefined> = {};
  const ceiling = bestByRound(r, ['ceiling.mysql2', 'ceiling.mariadb'], 'mbps');
  const naive = bestByRound(r, ['naive.mysql2', 'naive.mariadb'], 'recordsPerSec');
  const select = bestByRound(r, ['ceiling.select'], 'mbps');
  const ceilingMedian = median([...ceiling.values()]);
  const naiveMedian = median([...naive.values()]);
  const selectMedian = median([...select.values()]);
  const paired = (name: string, ref: Map<number, number>, key: 'mbps' | 'recordsPerSec', refMedian: number): Array<[number, number]> =>
    samplesOf(r, name).map((s) => [s.round, s[key] / (s.round > 0 && ref.has(s.round) ? ref.get(s.round)! : refMedian)]);
  for (const n of ['ceiling.mysql2', 'ceiling.mariadb', 'broker.replayer', 'broker.kcat', 'broker.kafkajs', 'broker.tail.produce', 'naive.mysql2', 'naive.mariadb']) {
    if (ceiling.size > 0) out[`${n}/ceiling`] = ratio(`${n} MB/s / the round's ceiling MB/s`, paired(n, ceiling, 'mbps', ceilingMedian));
    if (naive.size > 0 && !n.startsWith('naive')) out[`${n}/naive`] = ratio(`${n} records/s / the round's naive records/s`, paired(n, naive, 'recordsPerSec', naiveMedian));
  }
  for (const n of ['broker.consume.backlog.raw', 'broker.consume.backlog.kafkajs']) {
    if (select.size > 0) out[`${n}/select`] = ratio(`${n} MB/s / the round's SELECT ceiling MB/s`, paired(n, select, 'mbps', selectMedian));
  }
  const plain = bestByRound(r, ['broker.produce.plain'], 'mbps');
  if (plain.size > 0) {
    out['broker.produce.idempotent/plain'] = ratio("idempotent MB/s / the round's plain MB/s (same load, producer id -1)", paired('broker.produce.idempotent', plain, 'mbps', median([...plain.values()])));
  }
  const tail = samplesOf(r, 'broker.tail.consume')[0];
  if (tail) out['tail.consumed/produced'] = ratio('records consumed from the tail / records produced', [[0, tail.consumedOverProduced as number]]);
  const lat = (r.figures['latency']?.samples as Array<Record<string, unknown>> | undefined) ?? [];
  if (lat.length > 0) out['latency.p99/commitP99'] = ratio("produce p99 / the round's MariaDB commit p99 at the same rate", lat.map((s) => [s.round as number, s.p99OverCommitP99 as number]));
  return Object.fromEntries(Object.entries(out).filter((e): e is [string, Ratio] => e[1] !== undefined));
}

const f1 = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(2) : '-');
const int = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const range = (lo: unknown, hi: unknown, f: (n: unknown) => string) => (lo === hi ? '' : `${f(lo)}-${f(hi)}`);
const ratioCell = (x: Ratio | undefined, f: (n: unknown) => string) => (x ? `${f(x.median)}${x.n > 1 ? ` (${f(x.min)}-${f(x.max)})` : ''}` : '-');

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function printReport(r: Results): void {
  const fig = r.figures;
  const ratios = r.ratios ?? computeRatios(r);
  const rows: string[][] = [['figure', 'n', 'MB/s', 'range', 'records/s', 'vs ceiling', 'vs naive', 'broker CPU', 'MariaDB CPU', 'client CPU', 'broker RSS MB']];
  const order = [
    'ceiling.mysql2', 'ceiling.mariadb', 'naive.mysql2', 'naive.mariadb',
    'broker.replayer', 'broker.kcat', 'broker.kafkajs',
    'ceiling.select', 'broker.consume.backlog.raw', 'broker.consume.backlog.kafkajs', 'broker.tail.produce', 'broker.tail.consume',
    'broker.produce.plain', 'broker.produce.idempotent', 'broker.produce.transactional',
  ];
  for (const name of order) {
    const x = fig[name];
    if (!x) continue;
    const cpu = (x.cpu ?? {}) as Record<string, number>;
    const vsCeiling = name === 'ceiling.select' ? '1.00' : name === 'broker.tail.consume' ? `${ratioCell(ratios['tail.consumed/produced'], f2)} of produced` : ratioCell(ratios[`${name}/ceiling`] ?? ratios[`${name}/select`], f2);
    // The harness process is the client of the raw phases (ceilings, naive, replayer, raw Fetch).
    const harnessIsClient = name.startsWith('ceiling') || name.startsWith('naive') || name === 'broker.replayer' || name.endsWith('.raw') || name.startsWith('broker.tail') || name.startsWith('broker.produce.');
    const client = (x.clientCpu as number | undefined) ?? (harnessIsClient ? cpu.bench : undefined);
    rows.push([
      name,
      String(x.n ?? 1),
      f1(x.mbps),
      range(x.mbpsMin, x.mbpsMax, f1),
      int(x.recordsPerSec),
      vsCeiling,
      ratioCell(ratios[`${name}/naive`], f1),
      f2(cpu.broker),
      f2(cpu.mariadb),
      f2(client),
      f1(x.brokerPeakRssMB),
    ]);
  }
  console.log('\n(medians over n samples; range = min-max; vs ceiling / vs naive = median of the per-round ratios (range))\n' + pad(rows));
  const lat = fig['latency'] as { samples: Array<Record<string, unknown>>; fixedRate: boolean } | undefined;
  if (lat && lat.samples.length > 0) {
    const lrows = [['latency round', 'order', 'MB/s', 'produce p50', 'p99', 'p999', 'e2e p99', 'commit p50', 'commit p99', 'p99 / commit p99']];
    for (const s of lat.samples) {
      const p = s.produceMs as Record<string, number>;
      const e = s.endToEndMs as Record<string, number>;
      const c = s.mariadbCommitMs as Record<string, number>;
      lrows.push([String(s.round), String(s.order), f1(s.mbps), f1(p.p50), f1(p.p99), f1(p.p999), f1(e.p99), f1(c.p50), f1(c.p99), f2(s.p99OverCommitP99)]);
    }
    const med = (get: (s: Record<string, unknown>) => number) => median(lat.samples.map(get));
    const pm = (k: string, sub: string) => (s: Record<string, unknown>) => (s[k] as Record<string, number>)[sub]!;
    lrows.push(['median', '', f1(med((s) => s.mbps as number)), f1(med(pm('produceMs', 'p50'))), f1(med(pm('produceMs', 'p99'))), f1(med(pm('produceMs', 'p999'))), f1(med(pm('endToEndMs', 'p99'))), f1(med(pm('mariadbCommitMs', 'p50'))), f1(med(pm('mariadbCommitMs', 'p99'))), ratioCell(ratios['latency.p99/commitP99'], f2)]);
    console.log(`\nlatency (${lat.fixedRate ? '--latency-rate' : 'half the median replayer max'}, ms):\n` + pad(lrows));
  }
  const sweep = fig['sweep']?.points as Array<Record<string, number>> | undefined;
  if (sweep) {
    const srows = [['partitions', 'producers', 'MB/s', 'records/s', 'p99 ms', 'broker CPU', 'MariaDB CPU', 'broker RSS MB', 'peak RSS MB', 'errors']];
    for (const p of sweep) srows.push([String(p.partitions), String(p.producers), f1(p.mbps), int(p.recordsPerSec), f1(p.produceMsP99), f2(p.brokerCpu), f2(p.mariadbCpu), f1(p.brokerRssMB), f1(p.brokerPeakRssMB), String(p.errors)]);
    console.log('\n' + pad(srows));
  }
  const txn = (fig['broker.produce.transactional']?.samples as Array<Record<string, number>> | undefined)?.[0];
  if (txn) {
    console.log(`\ntransactional producer committing every ${f1(txn.commitEveryMs)} ms: ${f1(txn.mbps)} MB/s, ${int(txn.commits)} commits, EndTxn p50 ${f1(txn.commitMsP50)} ms, p99 ${f1(txn.commitMsP99)} ms, errors ${int(txn.errors)}`);
  }
  const idle = fig['idle'] as Record<string, number> | undefined;
  if (idle) console.log(`\nidle: ${idle.connections} connections, broker RSS ${f1(idle.brokerRssBeforeMB)} -> ${f1(idle.brokerRssAfterMB)} MB (${f1(idle.perConnectionKB)} KB each)`);

  // The issue's targets, by median ratio.
  const trows = [['target', 'median', 'range', 'rounds', 'met']];
  const target = (label: string, x: Ratio | undefined, ok: (v: number) => boolean, f: (n: unknown) => string) => {
    if (x) trows.push([label, f(x.median), x.n > 1 ? `${f(x.min)}-${f(x.max)}` : '', String(x.n), ok(x.median) ? 'yes' : 'no']);
  };
  target('produce: replayer / ceiling >= 0.8', ratios['broker.replayer/ceiling'], (v) => v >= 0.8, f2);
  target('produce: replayer / naive >= 10 (records/s)', ratios['broker.replayer/naive'], (v) => v >= 10, f1);
  target('consume: raw backlog / SELECT ceiling >= 0.8', ratios['broker.consume.backlog.raw/select'], (v) => v >= 0.8, f2);
  target('tail: consumed / produced >= 0.99 (records)', ratios['tail.consumed/produced'], (v) => v >= 0.99, f2);
  target('latency: produce p99 / commit p99 <= 2', ratios['latency.p99/commitP99'], (v) => v <= 2, f2);
  target('idempotent produce / plain >= 0.9', ratios['broker.produce.idempotent/plain'], (v) => v >= 0.9, f2);
  if (sweep && sweep.length > 0) {
    // What grows with partitions is the tail cache, capped as a whole (log.tail.cache.total.bytes,
    // 256 MiB): bounded means the peak at the most partitions exceeds the peak at the fewest by
    // less than that cap. The absolute figure is in the table and the sweep.
    const peakAt = (n: number) => Math.max(...sweep.filter((p) => p.partitions === n).map((p) => p.brokerPeakRssMB));
    const parts = sweep.map((p) => p.partitions);
    const lo = Math.min(...parts);
    const hi = Math.max(...parts);
    const growth = peakAt(hi) - peakAt(lo);
    trows.push([`RSS: ${hi} vs ${lo} partitions, growth < tail-cache cap 268 MB`, `+${f1(growth)} MB`, `peak ${f1(peakAt(hi))}`, '1', growth < 268 ? 'yes' : 'no']);
    if (idle) trows.push([`RSS: ${idle.connections} idle connections`, `+${f1(idle.brokerRssAfterMB - idle.brokerRssBeforeMB)} MB`, `${f1(idle.perConnectionKB)} KB each`, '1', '-']);
  }
  if (trows.length > 1) console.log('\n' + pad(trows));
  console.log(`\nmachine: ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, node ${r.machine.node}, ${r.machine.mysqlVersion ?? ''}; load average at start ${r.machine.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')}`);
}
