import { execFileSync, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { findRunningManagedMariadb, freePort, isSameServer, PASSWORD_FILE, PID_FILE, startManagedMariadb, type ManagedMariadb } from './managed-mariadb.js';
import { connect } from './mysql.js';
import { openStorage } from './index.js';
import { buildTestBatch, concatBatches, testLogs } from './testing.js';

/**
 * Private MariaDB servers (small buffer pool), each in its own temp dir, stopped by pid.
 * Kept to a few starts: each costs about a second.
 */
const SMALL = { bufferPoolSize: '32M', logFileSize: '16M' };
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function mysqlUid(): number {
  return Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim());
}

/** Runs a command as `uid` (this user when undefined); resolves with its exit code and output. */
function runAs(uid: number | undefined, cmd: string, args: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }) });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, text }));
  });
}

async function retry<T>(attempt: () => Promise<T>, tries = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Listens on 127.0.0.1:port as soon as the port is free (a killed server's socket closes with it). */
async function bindWhenFree(port: number): Promise<net.Server> {
  for (;;) {
    // Connections are closed at once, as a dead port refuses them (rather than left unanswered).
    const srv = net.createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return srv;
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('managed MariaDB', () => {
  let root: string;
  const started: ManagedMariadb[] = [];
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-managed-'));
    // mkdtemp makes it 0700; a server running as `mysql` (the broker is root) must pass through it.
    await fs.chmod(root, 0o711);
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
    const password = (await fs.readFile(path.join(dataDir, PASSWORD_FILE), 'utf8')).trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(first.url).toBe(`mysql://root:${password}@127.0.0.1:${first.port}/kafka_mysql`);
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
  it('lets only the broker in: private data directory, a password for root, no file access outside an empty directory', async () => {
    const dataDir = path.join(root, 'access');
    const server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    const serverUid = asRoot ? mysqlUid() : process.getuid!();
    const dir = await fs.stat(dataDir);
    expect({ mode: (dir.mode & 0o777).toString(8), uid: dir.uid }).toEqual({ mode: '700', uid: serverUid });
    const pwFile = await fs.stat(path.join(dataDir, PASSWORD_FILE));
    expect({ mode: (pwFile.mode & 0o777).toString(8), uid: pwFile.uid }).toEqual({ mode: '600', uid: process.getuid!() });
    expect(path.dirname(server.socketPath)).toBe(dataDir);

    // root over TCP without the password, or with a wrong one, is refused.
    for (const auth of ['root', 'root:wrong']) {
      const err = await connect(`mysql://${auth}@127.0.0.1:${server.port}/`).then(
        (c) => c.end().then(() => 'connected'),
        (e: { code?: string }) => e.code,
      );
      expect({ auth, err }).toEqual({ auth, err: 'ER_ACCESS_DENIED_ERROR' });
    }

    const conn = await connect(server.url);
    try {
      const [accounts] = await conn.query("SELECT CONCAT(User, '@', Host) AS a, Password = '' AND authentication_string = '' AS open FROM mysql.user WHERE is_role = 'N' ORDER BY a");
      // mariadb-install-db's root@<hostname> had no password: it is gone; mariadb.sys is locked.
      expect(accounts).toEqual([
        { a: 'mariadb.sys@localhost', open: 1 },
        { a: 'root@127.0.0.1', open: 0 },
        { a: 'root@::1', open: 0 },
        { a: 'root@localhost', open: 0 },
      ]);
      const [[locked]] = (await conn.query("SELECT JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = 'mariadb.sys'")) as unknown as [[{ l: string }]];
      expect(locked!.l).toBe('1');
      const [[priv]] = (await conn.query('SELECT @@secure_file_priv AS dir, LOAD_FILE(\'/etc/passwd\') AS passwd')) as unknown as [[{ dir: string; passwd: unknown }]];
      expect(priv).toEqual({ dir: `${dataDir}/secure-file-priv/`, passwd: null });
      expect(await fs.readdir(path.join(dataDir, 'secure-file-priv'))).toEqual([]);
      const outfile = await conn.query(`SELECT 1 INTO OUTFILE '${root}/written-by-mariadb.txt'`).then(() => 0, (e: { errno?: number }) => e.errno);
      expect(outfile).toBe(1290); // ER_OPTION_PREVENTS_STATEMENT (--secure-file-priv)
      const [dbs] = await conn.query('SHOW DATABASES');
      expect((dbs as Array<{ Database: string }>).map((d) => d.Database)).not.toContain('#mysql50#secure-file-priv');
    } finally {
      await conn.end();
    }
  });

  it.skipIf(!asRoot)('runs the server as mysql and keeps another local user out (needs root: it switches users)', async () => {
    const dataDir = path.join(root, 'other-user');
    const server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    const status = await fs.readFile(`/proc/${server.pid}/status`, 'utf8');
    const uids = /^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number);
    expect(uids).toEqual([mysqlUid(), mysqlUid(), mysqlUid(), mysqlUid()]);
    // nobody: cannot reach the socket (the directory is closed to it), and TCP wants the password.
    const bySocket = await runAs(NOBODY, 'mariadb', ['--no-defaults', `--socket=${server.socketPath}`, '-uroot', '-e', 'SELECT 1']);
    expect(bySocket.code).not.toBe(0);
    expect(bySocket.text).toMatch(/\(13\)|Permission denied/);
    const byTcp = await runAs(NOBODY, 'mariadb', ['--no-defaults', '-h127.0.0.1', `-P${server.port}`, '-uroot', '-e', 'SELECT 1']);
    expect(byTcp.code).not.toBe(0);
    expect(byTcp.text).toMatch(/Access denied for user 'root'@'127.0.0.1' \(using password: NO\)/);
    const listing = await runAs(NOBODY, 'ls', [dataDir]);
    expect(listing.code).not.toBe(0);
  });

  it.skipIf(!asRoot)('names a parent directory the mysql user cannot pass through (needs root: only then does the server change user)', async () => {
    const closed = path.join(root, 'closed');
    await fs.mkdir(closed, { mode: 0o700 });
    const err = await startManagedMariadb({ dataDir: path.join(closed, 'data'), ...SMALL }).then(
      (s) => (started.push(s), 'started'),
      (e: Error) => e.message,
    );
    expect(err).toContain(`the managed MariaDB runs as the mysql user, which cannot enter ${closed} on the way to ${path.join(closed, 'data')}`);
    expect(await fs.readdir(path.join(closed, 'data'))).toEqual([]);
  });

  it('takes over a data directory of an older version: stops its password-less server, secures it, keeps the data', async () => {
    const dataDir = path.join(root, 'older');
    await fs.mkdir(dataDir, { mode: 0o755 });
    // What the previous version left: initialised as this user (root: --user=root), root
    // without a password, a server running with a state file.
    const own = asRoot ? ['--user=root'] : [];
    const install = await runAs(undefined, 'mariadb-install-db', [`--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--innodb-log-file-size=16M', ...own]);
    expect(install.code).toBe(0);
    const port = await freePort();
    const old = spawn('/usr/sbin/mariadbd', [
      '--no-defaults', `--datadir=${dataDir}`, `--pid-file=${dataDir}/mariadbd.pid`, `--socket=${dataDir}/mariadbd.sock`,
      '--bind-address=127.0.0.1', `--port=${port}`, `--log-error=${dataDir}/mariadbd.err`, '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', ...own,
    ], { detached: true, stdio: 'ignore' });
    const oldExit = new Promise((resolve) => old.once('exit', resolve));
    const openUrl = `mysql://root@127.0.0.1:${port}/`;
    let c = await retry(() => connect(openUrl));
    await c.query('CREATE DATABASE kafka_mysql');
    await c.query('CREATE TABLE kafka_mysql.survivor (id INT PRIMARY KEY)');
    await c.query('INSERT INTO kafka_mysql.survivor VALUES (7)');
    await c.end();
    await fs.writeFile(path.join(dataDir, 'kafka-mysql-managed.json'), JSON.stringify({ pid: old.pid, port, socketPath: `${dataDir}/mariadbd.sock`, dataDir, startedAt: '' }));

    const server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    expect(server.adopted).toBe(false);
    await oldExit;
    expect(await isSameServer(old.pid!, dataDir)).toBe(false);
    const dir = await fs.stat(dataDir);
    expect({ mode: (dir.mode & 0o777).toString(8), uid: dir.uid }).toEqual({ mode: '700', uid: asRoot ? mysqlUid() : process.getuid!() });
    expect((await fs.stat(path.join(dataDir, 'mysql', 'db.frm'))).uid).toBe(asRoot ? mysqlUid() : process.getuid!());
    const refused = await connect(`mysql://root@127.0.0.1:${server.port}/`).then((x) => x.end().then(() => 'connected'), (e: { code?: string }) => e.code);
    expect(refused).toBe('ER_ACCESS_DENIED_ERROR');
    c = await connect(server.url);
    const [rows] = await c.query('SELECT id FROM survivor');
    await c.end();
    expect(rows).toEqual([{ id: 7 }]);
  });

  it('starts the server again when it dies, on the same port, and says so meanwhile', async () => {
    const dataDir = path.join(root, 'restarts');
    const server = await startManagedMariadb({ dataDir, ...SMALL });
    started.push(server);
    const c = await connect(server.url);
    await c.query('CREATE TABLE survivor (id INT PRIMARY KEY)');
    await c.query('INSERT INTO survivor VALUES (1)');
    await c.end();
    const firstPid = server.pid;
    expect(server.status()).toMatchObject({ state: 'running', pid: firstPid, restarts: 0, lastExit: null });

    // Killed; its port is taken before the restart binds it, so the first attempts fail.
    process.kill(firstPid, 'SIGKILL');
    const blocker = await bindWhenFree(server.port);
    await until(() => server.status().lastError !== null);
    expect(server.status()).toMatchObject({ state: 'restarting', pid: null, restarts: 0, lastExit: { pid: firstPid, code: null, signal: 'SIGKILL' } });
    expect(server.status().lastError).toMatch(/did not start/);
    await new Promise((resolve) => blocker.close(resolve));

    await until(() => server.status().state === 'running');
    const after = server.status();
    expect(after).toMatchObject({ state: 'running', restarts: 1, port: server.port, lastError: null });
    expect(after.pid).not.toBe(firstPid);
    expect(server.pid).toBe(after.pid);
    expect(await isSameServer(after.pid!, dataDir)).toBe(true);
    const c2 = await connect(server.url);
    const [rows] = await c2.query('SELECT id FROM survivor');
    await c2.end();
    expect(rows).toEqual([{ id: 1 }]);

    // A stop is not a death: nothing is restarted after it.
    await server.stop();
    started.pop();
    expect(server.status().state).toBe('stopped');
    expect(await isSameServer(after.pid!, dataDir)).toBe(false);
    expect(await findRunningManagedMariadb(dataDir)).toBeUndefined();
  });
});
