/** The results object (written as JSON) and the table printed at the end of a run. */

export interface Figure {
  mbps?: number;
  recordsPerSec?: number;
  [key: string]: unknown;
}

export interface Results {
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  options: object;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; mysqlVersion?: string; loadAvgAtStart: number[]; loadAvgAtEnd?: number[] };
  figures: Record<string, Figure>;
}

const f1 = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(1) : '-');
const f2 = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(2) : '-');
const int = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function printReport(r: Results): void {
  const fig = r.figures;
  const ceiling = Math.max(fig['ceiling.mysql2']?.mbps ?? 0, fig['ceiling.mariadb']?.mbps ?? 0);
  const naiveRecords = Math.max(fig['naive.mysql2']?.recordsPerSec ?? 0, fig['naive.mariadb']?.recordsPerSec ?? 0);
  const selectCeiling = fig['ceiling.select']?.mbps ?? 0;
  const rows: string[][] = [['figure', 'MB/s', 'records/s', 'vs ceiling', 'vs naive', 'broker CPU', 'MariaDB CPU', 'client CPU', 'broker RSS MB']];
  const order = [
    'ceiling.mysql2', 'ceiling.mariadb', 'naive.mysql2', 'naive.mariadb',
    'broker.replayer', 'broker.kcat', 'broker.kafkajs',
    'ceiling.select', 'broker.consume.backlog.raw', 'broker.consume.backlog.kafkajs', 'broker.tail.produce', 'broker.tail.consume',
  ];
  for (const name of order) {
    const x = fig[name];
    if (!x) continue;
    const cpu = (x.cpu ?? {}) as Record<string, number>;
    const isConsume = name.includes('consume') || name === 'ceiling.select';
    const base = isConsume ? selectCeiling : ceiling;
    rows.push([
      name,
      f1(x.mbps),
      int(x.recordsPerSec),
      base > 0 && x.mbps !== undefined ? f2(x.mbps / base) : '-',
      naiveRecords > 0 && x.recordsPerSec !== undefined && !isConsume ? f1(x.recordsPerSec / naiveRecords) : '-',
      f2(cpu.broker),
      f2(cpu.mariadb),
      f2((x.clientCpu as number | undefined) ?? cpu.client),
      f1(x.brokerPeakRssMB),
    ]);
  }
  console.log('\n' + pad(rows));
  const lat = fig['latency'] as Record<string, Record<string, number> | number> | undefined;
  if (lat) {
    const p = lat.produceMs as Record<string, number>;
    const e = lat.endToEndMs as Record<string, number>;
    const c = lat.mariadbCommitMs as Record<string, number>;
    console.log(
      `\nlatency at ${f1(lat.mbps)} MB/s (${int(lat.requestsPerSec)} requests/s, ${lat.fixedRate ? '--latency-rate' : 'half the max'}): produce p50 ${f1(p.p50)} / p99 ${f1(p.p99)} / p999 ${f1(p.p999)} ms;` +
        ` end-to-end p50 ${f1(e.p50)} / p99 ${f1(e.p99)} ms; MariaDB commit at that load p50 ${f1(c.p50)} / p99 ${f1(c.p99)} ms; produce p99 / commit p99 = ${f2(lat.p99OverCommitP99)}`,
    );
  }
  const sweep = fig['sweep']?.points as Array<Record<string, number>> | undefined;
  if (sweep) {
    const srows = [['partitions', 'producers', 'MB/s', 'records/s', 'p99 ms', 'broker CPU', 'MariaDB CPU', 'broker RSS MB', 'peak RSS MB', 'errors']];
    for (const p of sweep) srows.push([String(p.partitions), String(p.producers), f1(p.mbps), int(p.recordsPerSec), f1(p.produceMsP99), f2(p.brokerCpu), f2(p.mariadbCpu), f1(p.brokerRssMB), f1(p.brokerPeakRssMB), String(p.errors)]);
    console.log('\n' + pad(srows));
  }
  const idle = fig['idle'] as Record<string, number> | undefined;
  if (idle) console.log(`\nidle: ${idle.connections} connections, broker RSS ${f1(idle.brokerRssBeforeMB)} -> ${f1(idle.brokerRssAfterMB)} MB (${f1(idle.perConnectionKB)} KB each)`);
  console.log(`\nmachine: ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, node ${r.machine.node}, ${r.machine.mysqlVersion ?? ''}; load average at start ${r.machine.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')}`);
}
