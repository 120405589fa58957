import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { findExecutable, freePort } from '../managed-mariadb.js';
import { connect, formatMysqlUrl } from '../mysql.js';
import { serverAccount } from './access.js';
import { isAlive, sleep } from './process.js';
import { startDataDirWatchdog, stopWatchdog } from './watchdog.js';

/**
 * A private MariaDB primary and replicas with GTID replication, semi-synchronous (AFTER_SYNC),
 * for tests of shards with replicas and `kafka-mysql dev-cluster --replicas` (docs/operations.md
 * "Shards with replicas" lists the same settings for servers of one's own). Each server has its
 * own data directory under a fresh directory (in `parentDir`, default the OS temp directory) and
 * a free port on 127.0.0.1 (or the address of its `placement`); nothing restarts them: a test
 * kills, pauses and restarts them by pid (kill(), pause(), resume(), restart()), and stop()
 * ends them all and removes the directory.
 * A watchdog stops them if this process dies without stop().
 */

export interface ReplicatedServer {
  /** 1 = the first primary, then the replicas in order. */
  readonly serverId: number;
  readonly port: number;
  readonly dataDir: string;
  /** mysql://root:<password>@<host>:<port>/<database> (host 127.0.0.1 unless placed elsewhere) */
  readonly url: string;
  /** Pid of the running server; 0 when it is not running. */
  pid: number;
}

export interface ReplicatedMariadb {
  servers: ReplicatedServer[];
  /** The shard's configuration value: the primary's URL with `replica=host:port` parameters. */
  shardUrl(): string;
  /** SIGKILL (default) or SIGTERM the server, by pid; waits until it is gone. */
  kill(server: ReplicatedServer, signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  pause(server: ReplicatedServer): void;
  resume(server: ReplicatedServer): void;
  /** Starts a stopped server again on its port and data directory. */
  restart(server: ReplicatedServer): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicatedMariadbOptions {
  replicas?: number;
  database?: string;
  /** rpl_semi_sync_master_timeout in ms (default 1000: a dead replica costs one second, then the primary commits alone). */
  semiSyncTimeoutMs?: number;
  /** Directory the servers' directory is made in (default the OS temp directory). */
  parentDir?: string;
  /** innodb_buffer_pool_size of each server (default 64M). */
  bufferPoolSize?: string;
  /**
   * Where each server runs, by index (0 = the first primary); unset ones listen on 127.0.0.1.
   * compat-tests/mysql-failover-netcut.test.ts puts the primary in a network namespace.
   */
  placement?: Array<ServerPlacement | undefined>;
}

export interface ServerPlacement {
  /** Address the server binds to and is reached at (its URL, the replicas' MASTER_HOST). */
  host: string;
  /**
   * Command the server command line is appended to, e.g. ['ip', 'netns', 'exec', 'ns1']. It
   * must exec the server (not fork it): its pid is the server's, which is signalled by pid.
   */
  commandPrefix?: string[];
  /** Addresses other than 127.0.0.1 the broker and replicas connect from: root gets an account for each. */
  clientHosts?: string[];
}

export async function startReplicatedMariadb(options: ReplicatedMariadbOptions = {}): Promise<ReplicatedMariadb> {
  const server = findExecutable(['mariadbd', 'mysqld']);
  const installer = findExecutable(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installer) throw new Error('MariaDB server not found');
  const account = await serverAccount();
  const database = options.database ?? 'kafka_mysql';
  const password = randomBytes(16).toString('hex');
  const root = await fs.mkdtemp(path.join(options.parentDir ?? os.tmpdir(), 'kafka-mysql-repl-'));
  const servers: ReplicatedServer[] = [];
  const count = 1 + (options.replicas ?? 1);
  const hostOf = (i: number) => options.placement?.[i]?.host ?? '127.0.0.1';

  const argsOf = (s: ReplicatedServer) => [
    '--no-defaults',
    `--datadir=${s.dataDir}`,
    // Its own tmpdir: with the shared /tmp, servers started side by side lose each other's temporary files.
    `--tmpdir=${s.dataDir}-tmp`,
    `--pid-file=${path.join(s.dataDir, 'mariadbd.pid')}`,
    `--socket=${path.join(s.dataDir, 'mariadbd.sock')}`,
    `--bind-address=${hostOf(s.serverId - 1)}`,
    `--port=${s.port}`,
    `--log-error=${path.join(s.dataDir, 'mariadbd.err')}`,
    `--init-file=${path.join(s.dataDir, 'init.sql')}`,
    ...(account.switched ? [`--user=${account.name}`] : []),
    '--skip-name-resolve',
    `--server-id=${s.serverId}`,
    `--log-bin=${path.join(s.dataDir, 'binlog')}`,
    '--log-slave-updates=ON',
    '--binlog-format=ROW',
    '--gtid-strict-mode=ON',
    // After a crash, fetch again from the GTID position instead of trusting the relay log.
    '--relay-log-recovery=ON',
    '--sync-binlog=1',
    '--innodb-flush-log-at-trx-commit=1',
    '--rpl-semi-sync-master-enabled=ON',
    '--rpl-semi-sync-slave-enabled=ON',
    '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
    `--rpl-semi-sync-master-timeout=${options.semiSyncTimeoutMs ?? 1000}`,
    `--innodb-buffer-pool-size=${options.bufferPoolSize ?? '64M'}`,
    '--innodb-log-file-size=48M',
    '--max-allowed-packet=256M',
    '--max-connections=300',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_bin',
    // The first server is the primary; replicas start read-only (the broker checks it).
    ...(s.serverId === 1 ? [] : ['--read-only=ON', '--skip-slave-start']),
  ];

  const launch = async (s: ReplicatedServer) => {
    const prefix = options.placement?.[s.serverId - 1]?.commandPrefix ?? [];
    const [cmd, ...args] = [...prefix, server, ...argsOf(s)];
    const child = spawn(cmd!, args, { detached: true, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    s.pid = child.pid!;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const c = await connect(s.url.replace(`/${database}`, '/'));
        await c.end();
        return;
      } catch (err) {
        if (!isAlive(s.pid) || Date.now() > deadline) {
          const log = await fs.readFile(path.join(s.dataDir, 'mariadbd.err'), 'utf8').catch(() => '');
          throw new Error(`replicated MariaDB ${s.serverId} did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
        }
        await sleep(100);
      }
    }
  };

  // Started detached: if the test process dies without stop(), the watchdog stops them.
  const watchdog = startDataDirWatchdog(
    Array.from({ length: count }, (_, i) => path.join(root, `server-${i + 1}`)),
    root,
  );
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = path.join(root, `server-${i + 1}`);
      await fs.mkdir(dataDir, { recursive: true });
      await fs.mkdir(`${dataDir}-tmp`, { mode: 0o700 });
      if (account.switched) {
        await fs.chown(root, account.uid, account.gid);
        await fs.chown(`${dataDir}-tmp`, account.uid, account.gid);
      }
      const port = await freePort();
      const s: ReplicatedServer = {
        serverId: i + 1,
        port,
        dataDir,
        url: formatMysqlUrl({ host: hostOf(i), port, user: 'root', password, database }),
        pid: 0,
      };
      const out = await runInstaller(installer, [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--tmpdir=${dataDir}-tmp`,
        ...(account.switched ? [`--user=${account.name}`] : []),
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--innodb-log-file-size=48M',
      ]);
      if (out.code !== 0) throw new Error(`mariadb-install-db failed: ${out.text.slice(-2000)}`);
      // Root over TCP with a password; replicas get the database through replication.
      const init = [
        // Not in the binlog: each server makes its own account, replicas must not replay it.
        'SET sql_log_bin = 0;',
        ...['127.0.0.1', ...(options.placement?.[i]?.clientHosts ?? [])].flatMap((from) => [
          `CREATE USER IF NOT EXISTS 'root'@'${from}' IDENTIFIED BY '${password}';`,
          `ALTER USER 'root'@'${from}' IDENTIFIED BY '${password}';`,
          `GRANT ALL PRIVILEGES ON *.* TO 'root'@'${from}' WITH GRANT OPTION;`,
        ]),
      ].join('\n');
      await fs.writeFile(path.join(dataDir, 'init.sql'), init + '\n');
      if (account.switched) {
        await fs.chown(dataDir, account.uid, account.gid);
        await fs.chown(path.join(dataDir, 'init.sql'), account.uid, account.gid);
      }
      servers.push(s);
      await launch(s);
    }
    const primary = servers[0]!;
    const pc = await connect(primary.url.replace(`/${database}`, '/'));
    try {
      await pc.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await pc.end();
    }
    for (const r of servers.slice(1)) {
      const rc = await connect(r.url.replace(`/${database}`, '/'));
      try {
        await rc.query(
          `CHANGE MASTER TO MASTER_HOST='${hostOf(0)}', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='${password}', MASTER_USE_GTID=current_pos, MASTER_CONNECT_RETRY=1`,
        );
        await rc.query('START SLAVE');
      } finally {
        await rc.end();
      }
    }
    // Wait until every replica has the database and semi-sync is on at the primary.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = await connect(primary.url.replace(`/${database}`, '/'));
      try {
        const [rows] = await c.query("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'");
        const clients = Number((rows as Array<{ Value: string }>)[0]?.Value ?? 0);
        if (clients >= count - 1) break;
      } finally {
        await c.end();
      }
      if (Date.now() > deadline) throw new Error('replicas did not connect to the primary as semi-sync clients');
      await sleep(100);
    }
  } catch (err) {
    for (const s of servers) if (s.pid && isAlive(s.pid)) process.kill(s.pid, 'SIGKILL');
    await fs.rm(root, { recursive: true, force: true });
    stopWatchdog(watchdog);
    throw err;
  }

  const waitGone = async (s: ReplicatedServer) => {
    const deadline = Date.now() + 60_000;
    while (s.pid && isAlive(s.pid) && Date.now() < deadline) await sleep(50);
    s.pid = 0;
  };

  return {
    servers,
    shardUrl() {
      const [p, ...replicas] = servers;
      const u = new URL(p!.url);
      for (const r of replicas) u.searchParams.append('replica', `${new URL(r.url).hostname}:${r.port}`);
      return u.toString();
    },
    async kill(s, signal = 'SIGKILL') {
      if (s.pid && isAlive(s.pid)) {
        try {
          process.kill(s.pid, 'SIGCONT');
        } catch {
          /* gone */
        }
        process.kill(s.pid, signal);
      }
      await waitGone(s);
    },
    pause(s) {
      if (s.pid) process.kill(s.pid, 'SIGSTOP');
    },
    resume(s) {
      if (s.pid) process.kill(s.pid, 'SIGCONT');
    },
    async restart(s) {
      if (s.pid && isAlive(s.pid)) throw new Error(`server ${s.serverId} is running (pid ${s.pid})`);
      await fs.rm(path.join(s.dataDir, 'mariadbd.pid'), { force: true });
      await launch(s);
      if (s.serverId === 1) return;
      // A replica resumes from what its own binlog holds: after a SIGKILL, gtid_slave_pos can lag
      // it (DDL records its position outside the statement), and replaying a GTID the binlog
      // already has stops the applier under gtid_strict_mode.
      const c = await connect(s.url.replace(`/${database}`, '/'));
      try {
        await c.query('SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos');
        await c.query('START SLAVE');
      } finally {
        await c.end();
      }
    },
    async stop() {
      for (const s of servers) {
        if (s.pid && isAlive(s.pid)) {
          try {
            process.kill(s.pid, 'SIGCONT');
            process.kill(s.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      for (const s of servers) await waitGone(s);
      await fs.rm(root, { recursive: true, force: true });
      stopWatchdog(watchdog);
    },
  };
}

function runInstaller(cmd: string, args: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, text }));
  });
}
