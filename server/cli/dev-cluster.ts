import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startManagedMariadb, type ManagedMariadb } from '../../storage/managed-mariadb.js';
import { startReplicatedMariadb, type ReplicatedMariadb } from '../../storage/managed-mariadb/replicated.js';
import { startZookeeper, type ZookeeperProcess } from '../cluster/zookeeper-process.js';
import { parseArgs, parseInteger, parsePairs, UsageError } from './args.js';

/**
 * `kafka-mysql dev-cluster`: a cluster of several brokers on this machine in one command, for
 * development and tests (docs/cluster.md). It starts a private ZooKeeper, MariaDB and N broker
 * processes (broker.id 1..N) on consecutive ports, each logging to <dir>/broker-<id>.log; once
 * every broker listens it prints one JSON line (with each shard's URL) and writes it to
 * <dir>/cluster.json (0600: the URLs carry the servers' generated passwords). SIGINT/SIGTERM
 * stops the brokers one by one (controlled shutdown, highest id first), then ZooKeeper and
 * MariaDB, and removes cluster.json. Every process is signalled by the pid it was started with,
 * never by name.
 *
 * MariaDB: with --shards 1 and no replicas, the managed MariaDB under <dir>/mysql (kept between
 * runs); more shards without replicas, one managed MariaDB each (<dir>/mysql-shard-<i>); with
 * --replicas R, each shard is a primary and R semi-synchronous GTID replicas
 * (storage/managed-mariadb/replicated.ts, the topology of docs/operations.md "Shards with
 * replicas"), new on every run and removed at stop. Shard 0 holds the metadata database.
 */
export const DEV_CLUSTER_USAGE = `dev-cluster [--brokers N] [--shards N] [--replicas R] [--dir DIR] [--base-port PORT]
        [--zookeeper-port PORT] [--metrics-base-port PORT|0] [--set KEY=VALUE ...]
        ZooKeeper, MariaDB (N shards, default 1, each a primary and R semi-sync replicas, default 0)
        and N brokers (default 3, ./data/cluster, ports from 9092); prints and writes
        <dir>/cluster.json once all are up; Ctrl-C stops everything`;

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const BROKER_START_TIMEOUT_MS = 60_000;
const BROKER_STOP_TIMEOUT_MS = 45_000;

interface Broker {
  id: number;
  port: number;
  metricsPort: number | null;
  log: string;
  child: ChildProcess;
}

export async function devClusterCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['--brokers', '--shards', '--replicas', '--dir', '--base-port', '--zookeeper-port', '--metrics-base-port'] });
  const count = parseInteger(args.get('--brokers') ?? '3', '--brokers');
  if (count < 1 || count > 32) throw new UsageError('--brokers must be between 1 and 32');
  const shardCount = parseInteger(args.get('--shards') ?? '1', '--shards');
  if (shardCount < 1 || shardCount > 16) throw new UsageError('--shards must be between 1 and 16');
  const replicaCount = parseInteger(args.get('--replicas') ?? '0', '--replicas');
  if (replicaCount < 0 || replicaCount > 4) throw new UsageError('--replicas must be between 0 and 4');
  const basePort = parseInteger(args.get('--base-port') ?? '9092', '--base-port');
  const metricsBase = parseInteger(args.get('--metrics-base-port') ?? '9404', '--metrics-base-port');
  const zkPort = args.get('--zookeeper-port') !== undefined ? parseInteger(args.get('--zookeeper-port')!, '--zookeeper-port') : undefined;
  for (const [flag, port] of [['--base-port', basePort + count - 1], ['--metrics-base-port', metricsBase + count - 1]] as const) {
    if (port > 65535 || (port - count + 1 < 1 && !(flag === '--metrics-base-port' && metricsBase === 0))) throw new UsageError(`${flag}: ports out of range`);
  }
  const extra = parsePairs(args.all('--set'), '--set');
  const dir = resolve(args.get('--dir') ?? './data/cluster');
  mkdirSync(dir, { recursive: true });
  const stateFile = join(dir, 'cluster.json');

  let zk: ZookeeperProcess | null = null;
  const managed: ManagedMariadb[] = [];
  const replicated: ReplicatedMariadb[] = [];
  const brokers: Broker[] = [];
  const shardUrls: string[] = [];
  let stopping: Promise<void> | null = null;

  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      rmSync(stateFile, { force: true });
      for (const b of [...brokers].reverse()) await stopBroker(b);
      await zk?.stop();
      for (const m of managed) await m.stop();
      for (const r of replicated) await r.stop();
    })());

  const onSignal = (signal: string) => {
    process.stderr.write(`dev-cluster: ${signal}, stopping the brokers, ZooKeeper and MariaDB\n`);
    stopAll().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`dev-cluster: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    zk = await startZookeeper({ dir: join(dir, 'zookeeper'), port: zkPort });
    for (let i = 0; i < shardCount && stopping === null; i++) {
      if (replicaCount > 0) replicated.push(await startReplicatedMariadb({ replicas: replicaCount, parentDir: dir, bufferPoolSize: '128M' }));
      else managed.push(await startManagedMariadb({ dataDir: join(dir, i === 0 ? 'mysql' : `mysql-shard-${i}`), bufferPoolSize: '128M' }));
    }
    shardUrls.push(...(replicaCount > 0 ? replicated.map((r) => r.shardUrl()) : managed.map((m) => m.url)));
    for (let id = 1; id <= count && stopping === null; id++) {
      brokers.push(
        await startBrokerProcess(id, dir, {
          'broker.id': String(id),
          listeners: `PLAINTEXT://127.0.0.1:${basePort + id - 1}`,
          'metrics.listener': metricsBase === 0 ? '' : `127.0.0.1:${metricsBase + id - 1}`,
          'mysql.url': shardUrls[0]!,
          ...(shardCount > 1 ? { 'mysql.shards': shardUrls.join(',') } : {}),
          'zookeeper.connect': zk.connect,
          'retention.archive.dir': join(dir, `archive-${id}`),
          ...extra,
        }),
      );
    }
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  if (stopping !== null) return;
  const state = {
    zookeeper: { pid: zk.pid, port: zk.port },
    mysql:
      replicaCount > 0
        ? replicated.flatMap((r, shard) => r.servers.map((s, i) => ({ shard, role: i === 0 ? 'primary' : 'replica', pid: s.pid, port: s.port })))
        : managed.map((m, shard) => ({ shard, role: 'primary', pid: m.pid, port: m.port })),
    shards: shardUrls.map((url, shard) => ({ shard, url })),
    brokers: brokers.map((b) => ({ id: b.id, pid: b.child.pid!, port: b.port, host: '127.0.0.1', metricsPort: b.metricsPort, log: b.log })),
    bootstrap: brokers.map((b) => `127.0.0.1:${b.port}`).join(','),
    dir,
  };
  const line = JSON.stringify(state);
  writeFileSync(stateFile, line + '\n', { mode: 0o600 });
  process.stdout.write(line + '\n');
  for (const b of brokers) {
    b.child.once('exit', (code, signal) => {
      if (stopping === null) process.stderr.write(`dev-cluster: broker ${b.id} (pid ${b.child.pid}) exited (${signal ?? code}); the others keep running\n`);
    });
  }
  // Runs until a signal; the signal handlers exit.
  await new Promise<never>(() => {});
}

async function startBrokerProcess(id: number, dir: string, settings: Record<string, string>): Promise<Broker> {
  const args = [CLI, 'start'];
  for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`);
  const log = join(dir, `broker-${id}.log`);
  const out = createWriteStream(log, { flags: 'a' });
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_MYSQL_URL: undefined } });
  let seen = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker ${id} did not listen within ${BROKER_START_TIMEOUT_MS} ms (see ${log})`)), BROKER_START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      out.write(chunk);
      if (seen === null) return;
      seen = (seen + chunk.toString()).slice(-65536);
      const m = /"port":(\d+)[^\n]*kafka-mysql broker listening/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker ${id} exited with ${code} before listening (see ${log})`));
    });
  }).catch(async (err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    throw err;
  });
  const metrics = /^127\.0\.0\.1:(\d+)$/.exec(settings['metrics.listener'] ?? '');
  return { id, port, metricsPort: metrics ? Number(metrics[1]) : null, log, child };
}

/** SIGTERM (controlled shutdown), SIGKILL if it has not exited in time. */
async function stopBroker(b: Broker): Promise<void> {
  if (b.child.exitCode !== null || b.child.signalCode !== null) return;
  const exited = once(b.child, 'exit');
  b.child.kill('SIGTERM');
  const timer = setTimeout(() => b.child.kill('SIGKILL'), BROKER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
