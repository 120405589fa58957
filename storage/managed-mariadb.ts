import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import {
  INIT_FILE,
  PASSWORDLESS_ACCOUNTS_SQL,
  prepareDataDir,
  prepareSocketDir,
  readRootPassword,
  rootPassword,
  SECURE_FILES_DIR,
  SERVER_TMP_DIR,
  serverAccount,
  socketPathFor,
  writeInitFile,
  writePasswordFile,
  type ServerAccount,
} from './managed-mariadb/access.js';
import { isAlive, isSameServer, processUid, sleep, terminate, watchForExit, type ServerExit } from './managed-mariadb/process.js';
import { Supervisor, type ManagedMariadbStatus, type RunningServer } from './managed-mariadb/supervisor.js';
import { connect, formatMysqlUrl, quoteIdent, withDatabase } from './mysql.js';

export { isSameServer } from './managed-mariadb/process.js';
export { PASSWORD_FILE } from './managed-mariadb/access.js';
export type { ManagedMariadbState, ManagedMariadbStatus } from './managed-mariadb/supervisor.js';

/**
 * A MariaDB server that the broker runs itself, for single-machine use and for tests.
 *
 * - Finds `mariadbd` (or `mysqld`) on PATH, /usr/sbin, /usr/bin.
 * - Initialises an empty data directory with mariadb-install-db / mysql_install_db.
 * - Starts the server bound to 127.0.0.1 with a Unix socket, pid file and error log inside
 *   the data directory, durable settings (innodb_flush_log_at_trx_commit=1, binlog with
 *   sync_binlog=1), and creates the database.
 * - Only the broker can reach it (see managed-mariadb/access.ts): the server runs as the
 *   broker's user or, when the broker is root, as `mysql`; the data directory is 0700; root
 *   has a generated password kept in a 0600 file; secure_file_priv is an empty private directory.
 * - After a crash of the broker (SIGKILL) the server it started keeps running. The next start
 *   adopts it when the pid file names a live mariadbd whose command line uses this data
 *   directory, runs as the right user and the password file exists (port from the state file
 *   written here); otherwise it is stopped, stale pid and socket files are removed and a fresh
 *   server is started. Two servers never share one data directory.
 * - When the server dies, it is started again on the same port (see managed-mariadb/supervisor.ts);
 *   status() says what is happening meanwhile.
 * - stop() sends SIGTERM to the pid it started or adopted and waits for the exit. No other
 *   process is ever signalled.
 */

export interface ManagedMariadbOptions {
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 or undefined picks a free one. */
  port?: number;
  logger?: Logger;
  /** Database created and named in the URL (default kafka_mysql). */
  database?: string;
  /** innodb_buffer_pool_size (default 512M). */
  bufferPoolSize?: string;
  /** innodb_log_file_size used when initialising and starting (default 128M). */
  logFileSize?: string;
  /** Extra mariadbd arguments (e.g. ['--max-connections=2000']). */
  extraArgs?: string[];
  /** How long to wait for the server to accept connections (default 60 s). */
  startTimeoutMs?: number;
}

export interface ManagedMariadb {
  /** mysql://root:<generated password>@127.0.0.1:<port>/<database> */
  url: string;
  /** Pid of the server (of the latest one after a restart). */
  readonly pid: number;
  port: number;
  socketPath: string;
  /** True when an already running server (left behind by a previous broker) was reused. */
  adopted: boolean;
  /** Running, restarting after it died, or stopped. */
  status(): ManagedMariadbStatus;
  stop(): Promise<void>;
}

interface StateFile {
  pid: number;
  port: number;
  socketPath: string;
  dataDir: string;
  startedAt: string;
}

/** What one start (and every restart) of a data directory's server works with. */
interface Context {
  server: string;
  dataDir: string;
  database: string;
  options: ManagedMariadbOptions;
  logger: Logger | undefined;
  account: ServerAccount;
  password: string;
  socketPath: string;
}

export const PID_FILE = 'mariadbd.pid';
export const STATE_FILE = 'kafka-mysql-managed.json';
const ERROR_LOG = 'mariadbd.err';
const START_LOCK = 'kafka-mysql-start.lock';
const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec'];

export const NOT_INSTALLED_MESSAGE =
  'MariaDB server not found (looked for mariadbd/mysqld on PATH, /usr/sbin, /usr/bin): ' +
  'install MariaDB (`apt-get install mariadb-server`) or set KAFKA_MYSQL_URL / `mysql.url`';

/** Locates an executable by name on PATH and the usual sbin/bin directories. */
export function findExecutable(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

export async function startManagedMariadb(options: ManagedMariadbOptions): Promise<ManagedMariadb> {
  const dataDir = path.resolve(options.dataDir);
  const server = findExecutable(['mariadbd', 'mysqld']);
  if (!server) throw new Error(NOT_INSTALLED_MESSAGE);
  const account = await serverAccount();
  await prepareDataDir(dataDir, account, options.logger);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const release = await takeStartLock(dataDir, timeoutMs);
  try {
    const { password, created } = await rootPassword(dataDir);
    const ctx: Context = {
      server,
      dataDir,
      database: options.database ?? 'kafka_mysql',
      options,
      logger: options.logger,
      account,
      password,
      socketPath: socketPathFor(dataDir),
    };
    const { running, port, adopted } = await startLocked(ctx, created);
    return handle(ctx, running, port, adopted);
  } finally {
    await release();
  }
}

/**
 * URL of the managed MariaDB a broker is running on `dataDir`, if one is (for CLI commands
 * that work on MySQL directly, such as `retention run`, next to `npm start`). Never starts one.
 * Needs to read the data directory's password file, so only the broker's user (or root) finds it.
 */
export async function findRunningManagedMariadb(dataDir: string, database = 'kafka_mysql'): Promise<string | undefined> {
  const resolved = path.resolve(dataDir);
  const state = await readState(resolved);
  if (!state || !(await isSameServer(state.pid, resolved))) return undefined;
  const password = await readRootPassword(resolved);
  if (password === undefined) return undefined;
  return urlFor(state.port, password, database);
}

function urlFor(port: number, password: string, database: string): string {
  return formatMysqlUrl({ host: '127.0.0.1', port, user: 'root', password, database });
}

async function startLocked(ctx: Context, passwordCreated: boolean): Promise<{ running: RunningServer; port: number; adopted: boolean }> {
  const { dataDir, logger } = ctx;
  // 1. A server left behind by a previous broker on this data directory?
  const leftover = await findLeftoverServer(dataDir);
  if (leftover !== undefined) {
    const state = await readState(dataDir);
    // A server of an older version (running as root, or root without a password) is not adopted.
    const secured = !passwordCreated && (await processUid(leftover)) === ctx.account.uid;
    if (state && state.pid === leftover && secured) {
      logger?.info({ pid: leftover, port: state.port, dataDir }, 'adopting running MariaDB');
      const url = urlFor(state.port, ctx.password, ctx.database);
      await waitUntilReady(url, ctx.options.startTimeoutMs ?? 60_000, () => isSameServer(leftover, dataDir));
      await createDatabase(url, ctx.database);
      const watch = watchForExit(leftover, dataDir);
      return { running: { pid: leftover, exited: watch.exited, child: false, cancel: watch.cancel }, port: state.port, adopted: true };
    }
    // Running, but unknown port or not secured: stop it and start our own (it is ours: same datadir).
    logger?.warn({ pid: leftover, dataDir, secured }, 'MariaDB running on the data directory without a state file or unsecured; restarting it');
    await terminate(leftover, dataDir, undefined, logger);
  }
  await removeStaleFiles(ctx, false);

  // 2. Initialise an empty data directory.
  if (!existsSync(path.join(dataDir, 'mysql'))) {
    await initialiseDataDir(ctx);
  }

  // 3. Start.
  let lastError: unknown;
  const fixed = ctx.options.port && ctx.options.port > 0 ? ctx.options.port : undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixed ?? (await freePort());
    try {
      return { running: await launch(ctx, port), port, adopted: false };
    } catch (err) {
      lastError = err;
      // A picked free port can be taken by someone else before the server binds it: retry.
      if (fixed === undefined && /already in use|Can't start server: Bind/i.test(String(err))) continue;
      throw err;
    }
  }
  throw lastError;
}

/**
 * Starts the server again after it died (called by the supervisor): on the same port, with
 * crash recovery done by InnoDB at start-up. Returns null when the server was stopped on
 * purpose (stop() removes the state file first), or the server another watcher already started.
 */
async function restartLocked(ctx: Context, port: number): Promise<RunningServer | null> {
  const release = await takeStartLock(ctx.dataDir, ctx.options.startTimeoutMs ?? 60_000);
  try {
    const state = await readState(ctx.dataDir);
    if (!state) return null;
    const leftover = await findLeftoverServer(ctx.dataDir);
    if (leftover !== undefined) {
      const watch = watchForExit(leftover, ctx.dataDir);
      return { pid: leftover, exited: watch.exited, child: false, cancel: watch.cancel };
    }
    await removeStaleFiles(ctx, true);
    // The password file is rewritten if it went missing: the pools hold this password.
    if ((await readRootPassword(ctx.dataDir)) !== ctx.password) await writePasswordFile(ctx.dataDir, ctx.password);
    return await launch(ctx, port);
  } finally {
    await release();
  }
}

async function launch(ctx: Context, port: number): Promise<RunningServer> {
  const { server, dataDir, socketPath, options, logger, account } = ctx;
  await prepareSocketDir(dataDir, socketPath, account);
  const initFile = await writeInitFile(dataDir, account, ctx.password);
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--pid-file=${path.join(dataDir, PID_FILE)}`,
    `--socket=${socketPath}`,
    '--bind-address=127.0.0.1',
    `--port=${port}`,
    `--log-error=${path.join(dataDir, ERROR_LOG)}`,
    `--init-file=${initFile}`,
    `--secure-file-priv=${path.join(dataDir, SECURE_FILES_DIR)}`,
    `--ignore-db-dirs=${SECURE_FILES_DIR}`,
    `--tmpdir=${path.join(dataDir, SERVER_TMP_DIR)}`,
    `--ignore-db-dirs=${SERVER_TMP_DIR}`,
    '--skip-name-resolve',
    '--innodb-flush-log-at-trx-commit=1',
    `--log-bin=${path.join(dataDir, 'binlog')}`,
    '--sync-binlog=1',
    '--server-id=1',
    '--binlog-format=ROW',
    // The binlog is only there for durability (and a future replica): keep three days of it.
    '--binlog-expire-logs-seconds=259200',
    '--max-allowed-packet=1G',
    `--innodb-buffer-pool-size=${options.bufferPoolSize ?? '512M'}`,
    `--innodb-log-file-size=${options.logFileSize ?? '128M'}`,
    '--max-connections=1000',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_bin',
    ...(options.extraArgs ?? []),
  ];
  logger?.info({ server, dataDir, port, user: account.name }, 'starting managed MariaDB');
  const logStart = await fileSize(path.join(dataDir, ERROR_LOG));
  // Started as the server's account from the first instruction on (uid/gid), never as root.
  const child = spawn(server, args, {
    detached: true,
    stdio: 'ignore',
    ...(account.switched ? { uid: account.uid, gid: account.gid } : {}),
  });
  const exited = new Promise<ServerExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitCode: ServerExit | undefined;
  void exited.then((exit) => (exitCode = exit));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();
  const pid = child.pid!;
  const url = urlFor(port, ctx.password, ctx.database);
  try {
    // A server that gave up (port taken, bad option) can take ~10 s to exit after logging it: stop waiting at once.
    const alive = async () => exitCode === undefined && !(await logSaysAborting(dataDir, logStart));
    await waitUntilReady(url, options.startTimeoutMs ?? 60_000, alive);
    await fs.rm(initFile, { force: true });
    const state: StateFile = { pid, port, socketPath, dataDir, startedAt: new Date().toISOString() };
    await fs.writeFile(path.join(dataDir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    await createDatabase(url, ctx.database);
    await dropPasswordlessAccounts(url, logger);
  } catch (err) {
    await fs.rm(initFile, { force: true });
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    const tail = await errorLogTail(dataDir);
    throw new Error(`managed MariaDB did not start (${(err as Error).message}); error log:\n${tail}`);
  }
  logger?.info({ pid, port }, 'managed MariaDB ready');
  return { pid, exited, child: true };
}

function handle(ctx: Context, first: RunningServer, port: number, adopted: boolean): ManagedMariadb {
  const { dataDir, logger } = ctx;
  const supervisor = new Supervisor(first, port, () => restartLocked(ctx, port), logger);
  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port, ctx.password, ctx.database),
    get pid() {
      return supervisor.pid;
    },
    port,
    socketPath: ctx.socketPath,
    adopted,
    status: () => supervisor.status(),
    stop() {
      stopping ??= (async () => {
        // First, so that no watcher of this data directory takes the exit for a crash.
        await fs.rm(path.join(dataDir, STATE_FILE), { force: true });
        const server = await supervisor.stop();
        if (server) await terminate(server.pid, dataDir, server.child ? server.exited : undefined, logger);
      })();
      return stopping;
    },
  };
}

/** The pid of a server already running on this data directory, via the pid file or state file. */
async function findLeftoverServer(dataDir: string): Promise<number | undefined> {
  for (const pid of [await readPidFile(dataDir), (await readState(dataDir))?.pid]) {
    if (pid !== undefined && (await isSameServer(pid, dataDir))) return pid;
  }
  return undefined;
}

async function readPidFile(dataDir: string): Promise<number | undefined> {
  try {
    const n = Number((await fs.readFile(path.join(dataDir, PID_FILE), 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function readState(dataDir: string): Promise<StateFile | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(path.join(dataDir, STATE_FILE), 'utf8')) as StateFile;
    return typeof s.pid === 'number' && typeof s.port === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Files of a server that is gone; a restart keeps the state file (it says the server should run). */
async function removeStaleFiles(ctx: Context, keepState: boolean): Promise<void> {
  const { dataDir, socketPath } = ctx;
  const files = [path.join(dataDir, PID_FILE), path.join(dataDir, INIT_FILE), socketPath, `${socketPath}.lock`];
  if (!keepState) files.push(path.join(dataDir, STATE_FILE));
  for (const f of files) await fs.rm(f, { force: true });
}

async function initialiseDataDir(ctx: Context): Promise<void> {
  const installer = findExecutable(['mariadb-install-db', 'mysql_install_db']);
  if (!installer) throw new Error(NOT_INSTALLED_MESSAGE);
  ctx.logger?.info({ dataDir: ctx.dataDir }, 'initialising MariaDB data directory');
  const args = [
    `--datadir=${ctx.dataDir}`,
    `--tmpdir=${path.join(ctx.dataDir, SERVER_TMP_DIR)}`,
    // Root gets its password from the --init-file of every start, before any connection.
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    `--innodb-log-file-size=${ctx.options.logFileSize ?? '128M'}`,
  ];
  const output = await run(installer, args, ctx.account);
  if (output.code !== 0) {
    throw new Error(`${path.basename(installer)} failed (exit ${output.code}):\n${output.text.slice(-4000)}`);
  }
}

function run(cmd: string, args: string[], account: ServerAccount): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(account.switched ? { uid: account.uid, gid: account.gid } : {}),
    });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, text }));
  });
}

async function waitUntilReady(url: string, timeoutMs: number, alive: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!(await alive())) throw new Error('server process exited or is aborting');
    const attempt = connect(withDatabase(url, '')).then(async (conn) => {
      try {
        await conn.query('SELECT 1');
      } finally {
        await conn.end().catch(() => undefined);
      }
    });
    // Something else on the port may accept and never answer: keep checking the server meanwhile.
    for (;;) {
      const outcome = await Promise.race([
        attempt.then(
          () => 'ready' as const,
          (err: unknown) => ((lastError = err), 'failed' as const),
        ),
        sleep(100).then(() => 'waiting' as const),
      ]);
      if (outcome === 'ready') return;
      if (outcome === 'failed') break;
      if (Date.now() > deadline) break;
      if (!(await alive())) {
        attempt.catch(() => undefined);
        throw new Error('server process exited or is aborting');
      }
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for connections: ${(lastError as Error | undefined)?.message ?? ''}`);
}

async function createDatabase(url: string, database: string): Promise<void> {
  const conn = await connect(withDatabase(url, ''));
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
}

/** Drops accounts that need no password (mariadb-install-db makes root@<hostname>; older data dirs may have more). */
async function dropPasswordlessAccounts(url: string, logger: Logger | undefined): Promise<void> {
  const conn = await connect(withDatabase(url, ''));
  try {
    const [rows] = await conn.query(PASSWORDLESS_ACCOUNTS_SQL);
    for (const { user, host } of rows as Array<{ user: string; host: string }>) {
      await conn.query('DROP USER ?@?', [user, host]);
      logger?.warn({ user, host }, 'dropped a MariaDB account without a password');
    }
  } finally {
    await conn.end();
  }
}

async function fileSize(file: string): Promise<number> {
  return fs.stat(file).then((st) => st.size, () => 0);
}

/** Has the server logged, since `from`, that it is aborting its start? */
async function logSaysAborting(dataDir: string, from: number): Promise<boolean> {
  try {
    const fh = await fs.open(path.join(dataDir, ERROR_LOG), 'r');
    try {
      const { size } = await fh.stat();
      const length = Math.min(size - from, 64 * 1024);
      if (length <= 0) return false;
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      return buf.toString('utf8').includes('[ERROR] Aborting');
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

async function errorLogTail(dataDir: string): Promise<string> {
  try {
    const text = await fs.readFile(path.join(dataDir, ERROR_LOG), 'utf8');
    return text.split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Serializes start-ups on one data directory (two brokers started at once must not both
 * launch a server): an exclusive lock file holding the starter's pid. A lock whose holder is
 * dead, or older than the start timeout, is taken over. The lock appears with its pid already
 * in it (written to a file of its own, then hard-linked, which fails if the lock exists):
 * created empty and written after, another starter could read it empty in between, judge it
 * stale and take it too (seen once in the suite: two installs in one directory).
 */
async function takeStartLock(dataDir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, START_LOCK);
  const deadline = Date.now() + timeoutMs;
  const mine = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  for (;;) {
    try {
      await fs.writeFile(mine, `${process.pid}\n`);
      await fs.link(mine, lockPath);
      return () => fs.rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await fs.rm(mine, { force: true });
    }
    let stale = false;
    try {
      const [text, st] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
      const holder = Number(text.trim());
      stale = !Number.isInteger(holder) || holder <= 0 || !isAlive(holder) || Date.now() - st.mtimeMs > timeoutMs;
    } catch {
      stale = false; // removed meanwhile: just retry
    }
    if (stale) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another process is starting MariaDB on ${dataDir} (lock ${lockPath})`);
    await sleep(100);
  }
}
