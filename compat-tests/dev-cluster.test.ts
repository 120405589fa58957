/**
 * `kafka-mysql dev-cluster` end to end (docs/cluster.md, "A local cluster in one command"): the
 * built CLI starts ZooKeeper, a managed MariaDB and two brokers; the test reads cluster.json,
 * creates a topic with the CLI, produces and consumes with kcat (librdkafka) through both
 * brokers, runs `cluster status`, then SIGTERMs the dev-cluster and checks every process it
 * listed is gone. With --shards 2 --replicas 1: two shards, each a primary and a semi-sync
 * replica; a topic's two partitions land one per shard, kcat's acks=all records are read back,
 * and `shards status` shows each primary with its replica applying and acknowledging.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { GroupReport } from '../server/cli/shards.js';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { findExecutable } from '../storage/managed-mariadb.js';
import { kcat, requireKcat } from './support/clients.js';
import { waitFor } from './support/wait.js';

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

interface ClusterJson {
  zookeeper: { pid: number; port: number };
  mysql: { shard: number; role: string; pid: number; port: number }[];
  shards: { shard: number; url: string }[];
  brokers: { id: number; pid: number; port: number }[];
  bootstrap: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A base port with `n` free consecutive ports after it. */
async function freeRange(n: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!zookeeperInstalled() || !findExecutable(['mariadbd', 'mysqld']))('kafka-mysql dev-cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmc-dev-cluster-'));
  // Run as root, the managed MariaDB runs as the mysql user, which must pass through.
  chmodSync(dir, 0o711);
  let pid: number | undefined;

  afterAll(() => {
    // Only if the test failed half-way: the dev-cluster stops what it started on SIGTERM.
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts ZooKeeper, MariaDB and 2 brokers, serves kcat and cluster status, and stops every process on SIGTERM', async () => {
    requireKcat();
    const basePort = await freeRange(2);
    const child = spawn(
      process.execPath,
      [CLI, 'dev-cluster', '--brokers', '2', '--dir', dir, '--base-port', String(basePort), '--metrics-base-port', '0', '--set', 'zookeeper.session.timeout.ms=4000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pid = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    await waitFor(() => stdout.includes('\n') || child.exitCode !== null, 'the cluster.json line', 150_000);
    expect(child.exitCode, stderr).toBeNull();
    const startMs = Date.now() - started;

    const line = stdout.split('\n')[0]!;
    const state = JSON.parse(line) as ClusterJson;
    expect(JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'))).toEqual(state);
    expect(state.brokers.map((b) => [b.id, b.port])).toEqual([
      [1, basePort],
      [2, basePort + 1],
    ]);
    expect(state.mysql.map((m) => [m.shard, m.role])).toEqual([[0, 'primary']]);
    expect(state.shards.map((s) => [s.shard, new URL(s.url).port])).toEqual([[0, String(state.mysql[0]!.port)]]);
    const pids = [state.zookeeper.pid, ...state.mysql.map((m) => m.pid), ...state.brokers.map((b) => b.pid)];
    expect(pids.every(alive)).toBe(true);

    const bootstrap = state.bootstrap;
    const created = cli(['topics', 'create', '--topic', 'dev', '--partitions', '2', '--bootstrap-server', bootstrap]);
    expect(created.code, created.stderr).toBe(0);
    // Leaders are spread: each broker leads one partition; kcat sends each record to its leader.
    await waitFor(() => {
      const s = cli(['cluster', 'status', '--json', '--bootstrap-server', bootstrap]);
      if (s.code !== 0) return false;
      const leaders = (JSON.parse(s.stdout) as { partitions: { leader: number }[] }).partitions.map((p) => p.leader).sort();
      return leaders.join(',') === '1,2';
    }, 'a leader on each broker', 20_000);
    for (const partition of [0, 1]) {
      await kcat(['-P', '-b', bootstrap, '-t', 'dev', '-p', String(partition), '-X', 'acks=all'], { input: `a${partition}\nb${partition}\n` });
    }
    const read = (await kcat(['-C', '-b', `127.0.0.1:${basePort + 1}`, '-t', 'dev', '-o', 'beginning', '-e', '-f', '%p:%s\\n'], { timeoutMs: 30_000 })).toString();
    expect(read.trim().split('\n').sort()).toEqual(['0:a0', '0:b0', '1:a1', '1:b1']);
    // A consumer group, so that status names its coordinator.
    await kcat(['-b', bootstrap, '-G', 'dev-group', '-o', 'beginning', '-e', 'dev'], { timeoutMs: 60_000 });

    const status = cli(['cluster', 'status', '--json', '--bootstrap-server', bootstrap]);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as {
      controller: number;
      brokers: { id: number; port: number; leaderOf: number }[];
      partitions: { topic: string; partition: number; leader: number; leaderEpoch: number }[];
      coordinators: { group: string; coordinator: number }[];
    };
    expect(s.brokers.map((b) => [b.id, b.port, b.leaderOf])).toEqual([
      [1, basePort, 1],
      [2, basePort + 1, 1],
    ]);
    expect([1, 2]).toContain(s.controller);
    expect(s.partitions.map((p) => [p.topic, p.partition])).toEqual([
      ['dev', 0],
      ['dev', 1],
    ]);
    expect(s.coordinators.map((c) => c.group)).toEqual(['dev-group']);
    expect([1, 2]).toContain(s.coordinators[0]!.coordinator);
    const text = cli(['cluster', 'status', '--bootstrap-server', bootstrap]);
    expect(text.stdout).toMatch(new RegExp(`CONTROLLER ${s.controller}  BROKERS 2`));

    const stopAt = Date.now();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    const stopMs = Date.now() - stopAt;
    expect(code, stderr).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(join(dir, 'cluster.json'))).toBe(false);
    console.log(`dev-cluster with 2 brokers: up in ${startMs} ms, stopped in ${stopMs} ms`);
  }, 240_000);
  it('--shards 2 --replicas 1: a primary and a semi-sync replica per shard, records on both, shards status, everything stopped', async () => {
    requireKcat();
    const basePort = await freeRange(1);
    const shardDir = join(dir, 'sharded');
    mkdirSync(shardDir, { mode: 0o711 });
    const child = spawn(
      process.execPath,
      [CLI, 'dev-cluster', '--brokers', '1', '--shards', '2', '--replicas', '1', '--dir', shardDir, '--base-port', String(basePort), '--metrics-base-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pid = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    await waitFor(() => stdout.includes('\n') || child.exitCode !== null, 'the cluster.json line', 150_000);
    expect(child.exitCode, stderr).toBeNull();
    const startMs = Date.now() - started;
    const state = JSON.parse(stdout.split('\n')[0]!) as ClusterJson;
    expect(state.mysql.map((m) => [m.shard, m.role])).toEqual([
      [0, 'primary'],
      [0, 'replica'],
      [1, 'primary'],
      [1, 'replica'],
    ]);
    // Each shard URL names its primary and its replica.
    for (const s of state.shards) {
      const u = new URL(s.url);
      const ports = state.mysql.filter((m) => m.shard === s.shard).map((m) => m.port);
      expect([Number(u.port), u.searchParams.getAll('replica')]).toEqual([ports[0], [`127.0.0.1:${ports[1]}`]]);
    }
    const pids = [state.zookeeper.pid, ...state.mysql.map((m) => m.pid), ...state.brokers.map((b) => b.pid)];
    expect(pids.every(alive)).toBe(true);

    const bootstrap = state.bootstrap;
    const created = cli(['topics', 'create', '--topic', 'sharded', '--partitions', '2', '--topic-config', 'min.insync.replicas=2', '--bootstrap-server', bootstrap]);
    expect(created.code, created.stderr).toBe(0);
    for (const partition of [0, 1]) {
      await kcat(['-P', '-b', bootstrap, '-t', 'sharded', '-p', String(partition), '-X', 'acks=all'], { input: `a${partition}\nb${partition}\n` });
    }
    const read = (await kcat(['-C', '-b', bootstrap, '-t', 'sharded', '-o', 'beginning', '-e', '-f', '%p:%s\\n'], { timeoutMs: 30_000 })).toString();
    expect(read.trim().split('\n').sort()).toEqual(['0:a0', '0:b0', '1:a1', '1:b1']);

    const mysqlSettings = ['--set', `mysql.url=${state.shards[0]!.url}`, '--set', `mysql.shards=${state.shards.map((s) => s.url).join(',')}`, '--set', 'metrics.listener='];
    const status = cli(['shards', 'status', '--json', ...mysqlSettings]);
    expect(status.code, status.stderr).toBe(0);
    const groups = (JSON.parse(status.stdout) as { groups: GroupReport[] }).groups;
    expect(groups.map((g) => [g.name, g.shards, g.primary])).toEqual([
      ['metadata database', [0], `127.0.0.1:${state.mysql[0]!.port}`],
      ['shard 1', [1], `127.0.0.1:${state.mysql[2]!.port}`],
    ]);
    for (const g of groups) {
      const [primary, replica] = g.servers;
      expect([primary!.role, primary!.semiSync.masterStatus, primary!.semiSync.clients, replica!.role, replica!.replication?.sqlRunning]).toEqual(['primary', 'ON', 1, 'replica', 'Yes']);
      // Each shard's partition was written with a replica's acknowledgement.
      expect(primary!.semiSync.yesTx).toBeGreaterThan(0);
      expect(g.warnings).toEqual([]);
    }

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code, stderr).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    // The replicated servers' directories go with them.
    expect(readdirSync(shardDir).filter((f) => f.startsWith('kafka-mysql-repl-'))).toEqual([]);
    console.log(`dev-cluster with 2 shards of a primary and a replica: up in ${startMs} ms`);
  }, 240_000);
});
