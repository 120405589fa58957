/**
 * The broker under test runs as its own process (scripts/bench/broker-entry.ts: what
` * `npm start` does), against the benchmark's managed MariaDB, so its CPU and RSS are measured
 * apart from the load generators. Stopped by pid (SIGTERM, then SIGKILL after 15 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './proc.js';
import { freePort } from '../../storage/managed-mariadb.js';

export { freePort };

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BrokerProcess {
  pid: number;
  port: number;
  /** The broker's /metrics listener (Prometheus text), on 127.0.0.1. */
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startBrokerProcess(opts: {
  mysqlUrl: string;
  settings: Record<string, string>;
  cpuProfileDir?: string;
  /** Extra node flags for the broker process (e.g. --max-semi-space-size=64). */
  nodeArgs?: string[];
  log: (line: string) => void;
}): Promise<BrokerProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const sets: Record<string, string> = {
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    // Scraped by the small phase for the group-commit phases (kafka_mysql_group_commit_seconds).
    'metrics.listener': `127.0.0.1:${metricsPort}`,
    'mysql.url': opts.mysqlUrl,
    'log.level': 'warn',
    'connections.max.idle.ms': '3600000',
    'group.initial.rebalance.delay.ms': '0',
    ...opts.settings,
  };
  const args: string[] = [...(opts.nodeArgs ?? [])];
  if (opts.cpuProfileDir) args.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
  args.push(path.join(DIST_ROOT, 'scripts/bench/broker-entry.js'));
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) opts.log(`broker: ${line.slice(0, 300)}`);
  });
  child.stderr!.on('data', (d: Buffer) => opts.log(`broker stderr: ${d.toString().trim().slice(0, 500)}`));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error('broker exited during start-up');
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('broker did not listen within 60 s');
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(100);
  }
  return {
    pid: child.pid!,
    port,
    metricsPort,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
