/**
 * Real clients as separate processes, with their own CPU use: kafkajs (kafkajs-worker.js) and
 * kcat (librdkafka) producing from a file. Each is bounded by a timeout and stopped by pid.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ClientJob {
  mode: 'produce' | 'consume' | 'kcat';
  brokers: string[];
  topic: string;
  partitions: number;
  durationMs: number;
  producers?: number;
  batchRecords?: number;
  recordBytes?: number;
  targetRecords?: number;
  groupId?: string;
  fromBeginning?: boolean;
  /** kcat: processes producing at once. */
  procs?: number;
  /** kcat: no log line (start-up probes). */
  quiet?: boolean;
}

export interface ClientResult {
  seconds: number;
  records: number;
  cpuSeconds: number;
  joinSeconds?: number | null;
  /** kcat: when its processes were started and when the last one exited (epoch ms). */
  startedAtMs?: number;
  endedAtMs?: number;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kafkajs-worker.js');
const KCAT = '/usr/bin/kcat';

function runProcess(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function runClients(job: ClientJob, log: (m: string) => void): Promise<ClientResult> {
  if (job.mode === 'kcat') return runKcat(job, log);
  const r = await runProcess(process.execPath, [WORKER, JSON.stringify(job)], job.durationMs + 60_000);
  if (r.code !== 0) throw new Error(`kafkajs worker exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as ClientResult;
  log(`  kafkajs ${job.mode}: ${out.records} records in ${out.seconds.toFixed(2)} s, client CPU ${out.cpuSeconds.toFixed(2)} s`);
  return out;
}

/**
 * kcat -P from a file of newline-separated records, `procs` processes at once (each its share of
 * the records, spread over all partitions by librdkafka's partitioner); CPU of all of them from
 * the shell's `times` (children). librdkafka 2.0 settings that let it batch hard: 1,000-record
 * (~1 MB, message.max.bytes) batches, 5 ms linger, a 1 GiB / 1M-message queue so reading the
 * file never waits for acks, and unlimited requests in flight per connection (the default).
 */
async function runKcat(job: ClientJob, log: (m: string) => void): Promise<ClientResult> {
  // The records file goes to tmpfs where there is one: a gigabyte of dirty page cache on disk
  // would be written back during the run, and on this kind of machine buffered writes (MariaDB's
  // binlog) cost an order of magnitude more CPU while writeback runs (docs/benchmarks.md).
  const dir = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bench-kcat-'));
  try {
    const procs = Math.max(1, job.procs ?? 1);
    const each = Math.ceil(job.targetRecords! / procs);
    const file = path.join(dir, 'records.txt');
    const line = Buffer.alloc(job.recordBytes!, 0x63);
    line[line.length - 1] = 0x0a; // the newline is the delimiter: records of recordBytes - 1 bytes
    await writeFile(file, Buffer.concat(Array.from({ length: each }, () => line)));
    const kcatArgs = [
      '-P', '-b', job.brokers[0]!, '-t', job.topic, '-l',
      '-X', 'acks=all',
      '-X', 'linger.ms=5',
      '-X', `batch.num.messages=${job.batchRecords}`,
      '-X', 'batch.size=1000000',
      '-X', 'message.max.bytes=1000000',
      '-X', 'queue.buffering.max.kbytes=1048576',
      '-X', 'queue.buffering.max.messages=1000000',
      '-X', 'compression.codec=none',
      '-X', 'api.version.request=true',
      file,
    ];
    const quoted = kcatArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const script =
      `s=$(date +%s.%N); pids=(); for i in $(seq ${procs}); do ${KCAT} ${quoted} & pids+=($!); done; ` +
      `rc=0; for p in "\${pids[@]}"; do wait $p || rc=$?; done; [ $rc = 0 ] || exit $rc; ` +
      `e=$(date +%s.%N); echo "elapsed $s $e"; times`;
    const r = await runProcess('/bin/bash', ['-c', script], job.durationMs);
    if (r.code !== 0) throw new Error(`kcat exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const m = /elapsed (\S+) (\S+)/.exec(r.stdout);
    const seconds = m ? Number(m[2]) - Number(m[1]) : NaN;
    // `times` prints the shell's user/sys, then its children's: "0m1.234s 0m0.567s".
    const timeLines = r.stdout.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
    const toSec = (t: string) => {
      const mm = /(\d+)m([\d.]+)s/.exec(t)!;
      return Number(mm[1]) * 60 + Number(mm[2]);
    };
    const children = timeLines[timeLines.length - 1]?.trim().split(' ') ?? ['0m0s', '0m0s'];
    const cpuSeconds = toSec(children[0]!) + toSec(children[1]!);
    if (!job.quiet) log(`  kcat: ${each * procs} records (${procs} processes) in ${seconds.toFixed(2)} s, kcat CPU ${cpuSeconds.toFixed(2)} s`);
    return { seconds, records: each * procs, cpuSeconds, startedAtMs: m ? Number(m[1]) * 1000 : NaN, endedAtMs: m ? Number(m[2]) * 1000 : NaN };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
