import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { freePort } from '../../storage/managed-mariadb.js';

/**
 * A private ZooKeeper server (standalone, Debian's zookeeper package: /usr/share/java) for
 * `kafka-mysql dev-cluster` and the tests: its own data directory, 127.0.0.1 only, no admin
 * server, stopped by its pid. The JVM is started directly (not zkServer.sh) so the pid is the
 * server's own.
 */

const CLASSPATH = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar'];

export interface ZookeeperProcess {
  pid: number;
  port: number;
  /** `127.0.0.1:<port>` for zookeeper.connect. */
  connect: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * True when ZooKeeper on 127.0.0.1:port answers `ruok` with `imok`: it serves requests (a port
 * that only accepts may belong to a server still loading its database).
 */
function accepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => s.destroy(), 2000);
    s.once('connect', () => s.write('ruok'));
    s.on('data', (d) => (answer += d.toString()));
    s.once('close', () => {
      clearTimeout(timer);
      res(answer.startsWith('imok'));
    });
    s.once('error', () => undefined);
  });
}

export function zookeeperInstalled(): boolean {
  return existsSync('/usr/share/java/zookeeper.jar') && existsSync('/usr/bin/java');
}

export async function startZookeeper(options: { dir: string; port?: number; tickTimeMs?: number; timeoutMs?: number }): Promise<ZookeeperProcess> {
  if (!zookeeperInstalled()) {
    throw new Error('ZooKeeper is not installed (/usr/share/java/zookeeper.jar and java): apt-get install zookeeper');
  }
  const dir = resolve(options.dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const tick = options.tickTimeMs ?? 500;
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      `tickTime=${tick}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      // Sessions from 2 to 60 s whatever the tick (brokers ask for zookeeper.session.timeout.ms).
      'minSessionTimeout=2000',
      'maxSessionTimeout=60000',
      'maxClientCnxns=0',
      '4lw.commands.whitelist=ruok,stat,srvr',
    ].join('\n') + '\n',
  );
  const log = openSync(join(dir, 'zookeeper.log'), 'a');
  const child = spawn(
    '/usr/bin/java',
    ['-Xmx256m', '-Dzookeeper.admin.enableServer=false', '-cp', CLASSPATH.join(':'), 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
    { stdio: ['ignore', log, log], detached: false },
  );
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ZooKeeper exited with code ${child.exitCode} at start (see ${join(dir, 'zookeeper.log')})`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ZooKeeper did not listen on 127.0.0.1:${port} in time (see ${join(dir, 'zookeeper.log')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    port,
    connect: `127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
