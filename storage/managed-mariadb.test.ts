import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { findRunningManagedMariadb, isSameServer, PID_FILE, startManagedMariadb, type ManagedMariadb } from './managed-mariadb.js';
import { connect } from './mysql.js';
import { openStorage } from './index.js';
import { buildTestBatch, concatBatches, testLogs } from './testing.js';

/**
 * Private MariaDB servers (small buffer pool), each in its own temp dir, stopped by pid.
 * Kept to a few starts: each costs about a second.
 */
const SMALL = { bufferPoolSize: '32M', logFileSize: '16M' };
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('managed MariaDB', () => {
  let root: string;
  const started: ManagedMariadb[] = [];
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-managed-'));
  });
  afterEach(async () => {
    while (started.length > 0) await started.pop()!.stop();
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('initialises, starts, adopts a left-behind server, stops, and restarts with data intact', async () => {
    const dataDir = path.join(root, 'lifecycle');
    const first = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(first);
    expect(first.adopted).toBe(false);
    expect(first.url).toBe(`mysql://root@127.0.0.1:${first.port}/kafka_mysql`);
    const conn = await connect(first.url);
    await conn.query('CREATE TABLE survivor (id INT PRIMARY KEY)');
    await conn.query('INSERT INTO survivor VALUES (42)');
    const [vars] = await conn.query("SHOW VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin', 'binlog_format')");
    await conn.end();
    expect(Object.fromEntries((vars as Array<{ Variable_name: string; Value: string }>).map((v) => [v.Variable_name, v.Value]))).toEqual({
      binlog_format: 'ROW',
      innodb_flush_log_at_trx_commit: '1',
      log_bin: 'ON',
      sync_binlog: '1',
    });
    expect(Number(await fs.readFile(path.join(dataDir, PID_FILE), 'utf8'))).toBe(first.pid);
    // CLI commands next to a running broker find its server without starting one.
    expect(await findRunningManagedMariadb(dataDir)).toBe(first.url);
    expect(await findRunningManagedMariadb(path.join(root, 'no-such-dir'))).toBeUndefined();

    // As after a broker crash: the server is still running; the next start adopts it.
    const second = await startManagedMariadb({ dataDir, ...SMALL });
    expect(second.adopted).toBe(true);
    expect(second.pid).toBe(first.pid);
    expect(second.port).toBe(first.port);
    started.pop();
    started.push(second);
    await second.stop();
    started.pop();
    expect(await isSameServer(first.pid, path.resolve(dataDir))).toBe(false);
    expect(await findRunningManagedMariadb(dataDir)).toBeUndefined();

    const third = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(third);
    expect(third.adopted).toBe(false);
    const c3 = await connect(third.url);
    const [rows] = await c3.query('SELECT id FROM survivor');
    await c3.end();
    expect(rows).toEqual([{ id: 42 }]);
  });

  it('runs one server when two start-ups race on one data directory', async () => {
    const dataDir = path.join(root, 'race');
    const [a, b] = await Promise.all([startManagedMariadb({ dataDir, ...SMALL }), startManagedMariadb({ dataDir, ...SMALL })]);
    started.push(a);
    expect(b.pid).toBe(a.pid);
    expect([a.adopted, b.adopted].sort()).toEqual([false, true]);
  });

  it('ignores a stale pid file naming a process that is not its server', async () => {
    const dataDir = path.join(root, 'stale');
    await fs.mkdir(dataDir, { recursive: true });
    // Our own pid: alive, but not a mariadbd on this data directory. It must not be signalled.
    await fs.writeFile(path.join(dataDir, PID_FILE), `${process.pid}\n`);
    const server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    expect(server.adopted).toBe(false);
    expect(server.pid).not.toBe(process.pid);
    expect(Number(await fs.readFile(path.join(dataDir, PID_FILE), 'utf8'))).toBe(server.pid);
  });

  it('survives a SIGKILL of the process that started it, and the next start adopts the server', async () => {
    const dataDir = path.join(root, 'killed');
    const script = path.join(root, 'start-and-wait.mts');
    await fs.writeFile(
      script,
      `import { startManagedMariadb } from ${JSON.stringify(path.join(repoRoot, 'storage/managed-mariadb.ts'))};
       const s = await startManagedMariadb({ dataDir: ${JSON.stringify(dataDir)}, bufferPoolSize: '32M', logFileSize: '16M' });
       console.log(JSON.stringify({ pid: s.pid, port: s.port }));
       setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before starting MariaDB`)));
    });
    const { pid, port } = JSON.parse(line) as { pid: number; port: number };
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await isSameServer(pid, dataDir)).toBe(true);

    const adopted = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(adopted);
    expect(adopted.adopted).toBe(true);
    expect(adopted.pid).toBe(pid);
    expect(adopted.port).toBe(port);
    await adopted.stop();
    started.pop();
    expect(await isSameServer(pid, dataDir)).toBe(false);
  });

  it('turns an unreachable MySQL into KAFKA_STORAGE_ERROR and works again once it is back', async () => {
    const dataDir = path.join(root, 'outage');
    let server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    const storage = await openStorage({ metadataUrl: server.url, groupCommitMaxDelayMs: 0 });
    try {
      const t = await storage.catalog.createTopic({ name: 'outage', partitions: 1, configs: {} });
      const log = await testLogs(storage).getLog(t.topicId, 0);
      const batch = () => concatBatches([buildTestBatch({ values: ['v'] })]);
      const append = () => {
        const { records, infos } = batch();
        return log.append(records, infos, { logAppendTime: false, leaderEpoch: 0 });
      };
      expect((await append()).baseOffset).toBe(0n);

      await server.stop();
      started.pop();
      const err = await append().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(KafkaError);
      expect((err as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect(log.highWatermark()).toBe(1n);
      expect(await storage.ping()).toBe(false);

      server = await startManagedMariadb({ dataDir, port: server.port, ...SMALL });
      started.push(server);
      expect((await append()).baseOffset).toBe(1n);
      expect(await storage.ping()).toBe(true);
      const read = await log.readFromMysql(0n, 1 << 20, 2n, true);
      expect(read.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 1n]);
    } finally {
      await storage.close();
    }
  });
});
