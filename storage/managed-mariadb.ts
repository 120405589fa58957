import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { connect, formatMysqlUrl, quoteIdent, withDatabase } from './mysql.js';

/**
 * A MariaDB server that the broker runs itself, for single-machine use and for tests.
 *
 * - Finds `mariadbd` (or `mysqld`) on PATH, /usr/sbin, /usr/bin.
 * - Initialises an empty data directory with mariadb-install-db / mysql_install_db.
 * - Starts the server bound to 127.0.0.1 with a Unix socket, pid file and error log inside
 *   the data directory, durable settings (innodb_flush_log_at_trx_commit=1, binlog with
 *   sync_binlog=1), and creates the database.
 * - After a crash of the broker (SIGKILL) the server it started keeps running. The next start
 *   adopts it when the pid file names a live mariadbd whose command line uses this data
 *   directory (port from the state file written here); otherwise stale pid and socket files
 *   are removed and a fresh server is started. Two servers never share one data directory.
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
  /** mysql://root@127.0.0.1:<port>/<database> */
  url: string;
  pid: number;
  port: number;
  socketPath: string;
  /** True when an already running server (left behind by a previous broker) was reused. */
  adopted: boolean;
  stop(): Promise<void>;
}

interface StateFile {
  pid: number;
  port: number;
  socketPath: string;
  dataDir: string;
  startedAt: string;
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
  const database = options.database ?? 'kafka_mysql';
  const server = findExecutable(['mariadbd', 'mysqld']);
  if (!server) throw new Error(NOT_INSTALLED_MESSAGE);
  await fs.mkdir(dataDir, { recursive: true });
  const release = await takeStartLock(dataDir, options.startTimeoutMs ?? 60_000);
  try {
    return await startLocked(server, dataDir, database, options);
  } finally {
    await release();
  }
}

/**
 * URL of the managed MariaDB a broker is running on `dataDir`, if one is (for CLI commands
 * that work on MySQL directly, such as `retention run`, next to `npm start`). Never starts one.
 */
export async function findRunningManagedMariadb(dataDir: string, database = 'kafka_mysql'): Promise<string | undefined> {
  const resolved = path.resolve(dataDir);
  const state = await readState(resolved);
  if (!state || !(await isSameServer(state.pid, resolved))) return undefined;
  return formatMysqlUrl({ host: '127.0.0.1', port: state.port, user: 'root', password: '', database });
}

async function startLocked(
  server: string,
  dataDir: string,
  database: string,
  options: ManagedMariadbOptions,
): Promise<ManagedMariadb> {
  const logger = options.logger;
  // 1. A server left behind by a previous broker on this data directory?
  const leftover = await findLeftoverServer(dataDir);
  if (leftover !== undefined) {
    const state = await readState(dataDir);
    if (state && state.pid === leftover) {
      logger?.info({ pid: leftover, port: state.port, dataDir }, 'adopting running MariaDB');
      const url = formatMysqlUrl({ host: '127.0.0.1', port: state.port, user: 'root', password: '', database });
      await waitUntilReady(url, options.startTimeoutMs ?? 60_000, () => isSameServer(leftover, dataDir));
      await createDatabase(url, database);
      return handle(url, leftover, state.port, state.socketPath, true, undefined, dataDir, logger);
    }
    // Running, but we do not know its port: stop it and start our own (it is ours: same datadir).
    logger?.warn({ pid: leftover, dataDir }, 'MariaDB running on the data directory without a state file; restarting it');
    await terminate(leftover, dataDir, undefined, logger);
  }
  await removeStaleFiles(dataDir);

  // 2. Initialise an empty data directory.
  if (!existsSync(path.join(dataDir, 'mysql'))) {
    await initialiseDataDir(dataDir, options, logger);
  }

  // 3. Start.
  const socketPath = socketPathFor(dataDir);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port && options.port > 0 ? options.port : await freePort();
    try {
      return await launch(server, dataDir, port, socketPath, database, options, logger);
    } catch (err) {
      lastError = err;
      // A picked free port can be taken by someone else before the server binds it: retry.
      if (!(options.port && options.port > 0) && /already in use|Can't start server: Bind/i.test(String(err))) continue;
      throw err;
    }
  }
  throw lastError;
}

async function launch(
  server: string,
  dataDir: string,
  port: number,
  socketPath: string,
  database: string,
  options: ManagedMariadbOptions,
  logger: Logger | undefined,
): Promise<ManagedMariadb> {
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--pid-file=${path.join(dataDir, PID_FILE)}`,
    `--socket=${socketPath}`,
    '--bind-address=127.0.0.1',
    `--port=${port}`,
    `--log-error=${path.join(dataDir, ERROR_LOG)}`,
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
    ...(isRoot() ? ['--user=root'] : []),
    ...(options.extraArgs ?? []),
  ];
  logger?.info({ server, dataDir, port }, 'starting managed MariaDB');
  const child = spawn(server, args, { detached: true, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();
  const pid = child.pid!;
  const url = formatMysqlUrl({ host: '127.0.0.1', port, user: 'root', password: '', database });
  try {
    await waitUntilReady(url, options.startTimeoutMs ?? 60_000, () => exitCode === undefined);
  } catch (err) {
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    const tail = await errorLogTail(dataDir);
    throw new Error(`managed MariaDB did not start (${(err as Error).message}); error log:\n${tail}`);
  }
  const state: StateFile = { pid, port, socketPath, dataDir, startedAt: new Date().toISOString() };
  await fs.writeFile(path.join(dataDir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  await createDatabase(url, database);
  logger?.info({ pid, port }, 'managed MariaDB ready');
  return handle(url, pid, port, socketPath, false, exited, dataDir, logger);
}

function handle(
  url: string,
  pid: number,
  port: number,
  socketPath: string,
  adopted: boolean,
  exited: Promise<unknown> | undefined,
  dataDir: string,
  logger: Logger | undefined,
): ManagedMariadb {
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid,
    port,
    socketPath,
    adopted,
    stop() {
      stopping ??= terminate(pid, dataDir, exited, logger).then(() =>
        fs.rm(path.join(dataDir, STATE_FILE), { force: true }),
      );
      return stopping;
    },
  };
}

/** SIGTERM, wait (up to 2 minutes: InnoDB shutdown flushes), then SIGKILL. Only if it is still our server. */
async function terminate(pid: number, dataDir: string, exited: Promise<unknown> | undefined, logger?: Logger): Promise<void> {
  if (!exited && !(await isSameServer(pid, dataDir))) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const gone = exited ? exited.then(() => true) : waitForExit(pid, dataDir, 120_000);
  // This timer stays referenced: the server child is unref'd, so without it Node could exit
  // (with stop() still pending) before the server's exit is observed.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 120_000);
  });
  const stopped = await Promise.race([gone, timeout]);
  clearTimeout(timer);
  if (!stopped) {
    logger?.warn({ pid }, 'managed MariaDB did not stop after SIGTERM; sending SIGKILL');
    if (exited || (await isSameServer(pid, dataDir))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (exited) await exited;
    else await waitForExit(pid, dataDir, 10_000);
  }
}

async function waitForExit(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isSameServer(pid, dataDir))) return true;
    await sleep(50);
  }
  return false;
}

/** Reads /proc: is `pid` a live mariadbd/mysqld started with --datadir=<dataDir>? */
export async function isSameServer(pid: number, dataDir: string): Promise<boolean> {
  let cmdline: string;
  let stat: string;
  try {
    cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) is not a running server.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const args = cmdline.split('\0');
  const exe = path.basename(args[0] ?? '');
  if (exe !== 'mariadbd' && exe !== 'mysqld') return false;
  return args.includes(`--datadir=${dataDir}`);
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

async function removeStaleFiles(dataDir: string): Promise<void> {
  const socketPath = socketPathFor(dataDir);
  for (const f of [path.join(dataDir, PID_FILE), path.join(dataDir, STATE_FILE), socketPath, `${socketPath}.lock`]) {
    await fs.rm(f, { force: true });
  }
}

async function initialiseDataDir(dataDir: string, options: ManagedMariadbOptions, logger?: Logger): Promise<void> {
  const installer = findExecutable(['mariadb-install-db', 'mysql_install_db']);
  if (!installer) throw new Error(NOT_INSTALLED_MESSAGE);
  logger?.info({ dataDir }, 'initialising MariaDB data directory');
  const args = [
    `--datadir=${dataDir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    `--innodb-log-file-size=${options.logFileSize ?? '128M'}`,
    ...(isRoot() ? ['--user=root'] : []),
  ];
  const output = await run(installer, args);
  if (output.code !== 0) {
    throw new Error(`${path.basename(installer)} failed (exit ${output.code}):\n${output.text.slice(-4000)}`);
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    if (!(await alive())) throw new Error('server process exited');
    try {
      const conn = await connect(withDatabase(url, ''));
      await conn.query('SELECT 1');
      await conn.end();
      return;
    } catch (err) {
      lastError = err;
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

async function errorLogTail(dataDir: string): Promise<string> {
  try {
    const text = await fs.readFile(path.join(dataDir, ERROR_LOG), 'utf8');
    return text.split('\n').slice(-20).join('\n');
  } catch {
    return '(no error log)';
  }
}

/** Unix socket paths are limited to ~107 bytes; fall back to the temp dir for long data dirs. */
function socketPathFor(dataDir: string): string {
  const inside = path.join(dataDir, 'mariadbd.sock');
  if (Buffer.byteLength(inside) < 100) return inside;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `kafka-mysql-${hash}.sock`);
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
 * dead, or older than the start timeout, is taken over.
 */
async function takeStartLock(dataDir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, START_LOCK);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await fs.open(lockPath, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => fs.rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
