import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startZookeeper, type ZookeeperProcess } from '../../server/cluster/zookeeper-process.js';
import { createTestDatabase, dropTestDatabase } from '../../testing/mysql.js';
import { spawnBroker, type BrokerProcess } from './broker.js';

/**
 * A cluster for tests: a private ZooKeeper (own data directory, free port on 127.0.0.1,
 * stopped by pid), one fresh database on the test MariaDB, and N broker processes of the
 * built broker (dist/) with broker.id 1..N, each restartable on its own port.
 */
export interface TestCluster {
  zk: ZookeeperProcess;
  mysqlUrl: string;
  brokers: Map<number, BrokerProcess>;
  ports: Map<number, number>;
  bootstrap(): string[];
  /** Starts (or restarts on its former port) broker `id`. */
  start(id: number, extra?: Record<string, string | number>): Promise<BrokerProcess>;
  restartZookeeper(): Promise<void>;
  stop(): Promise<void>;
}

export const CLUSTER_SETTINGS = {
  'zookeeper.session.timeout.ms': 4000,
  'group.initial.rebalance.delay.ms': 0,
  'log.level': 'info',
};

export async function startTestCluster(
  name: string,
  n: number,
  extra: Record<string, string | number> = {},
  /** Settings of one broker (broker.rack, ...), over `extra`. */
  perBroker: (id: number) => Record<string, string | number> = () => ({}),
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), `kmc-${name}-`));
  let zk = await startZookeeper({ dir });
  const mysqlUrl = await createTestDatabase(name);
  const brokers = new Map<number, BrokerProcess>();
  const ports = new Map<number, number>();
  const cluster: TestCluster = {
    zk,
    mysqlUrl,
    brokers,
    ports,
    bootstrap: () => [...brokers.values()].filter((b) => b.child.exitCode === null && b.child.signalCode === null).map((b) => b.bootstrap),
    async start(id, more = {}) {
      const port = ports.get(id) ?? 0;
      const b = await spawnBroker({
        'broker.id': id,
        'mysql.url': mysqlUrl,
        'zookeeper.connect': cluster.zk.connect,
        listeners: `PLAINTEXT://127.0.0.1:${port}`,
        ...CLUSTER_SETTINGS,
        ...extra,
        ...perBroker(id),
        ...more,
      });
      brokers.set(id, b);
      ports.set(id, b.port);
      return b;
    },
    async restartZookeeper() {
      zk = await startZookeeper({ dir, port: cluster.zk.port });
      cluster.zk = zk;
    },
    async stop() {
      for (const b of brokers.values()) await b.kill();
      await cluster.zk.stop();
      await dropTestDatabase(mysqlUrl);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let id = 1; id <= n; id++) await cluster.start(id);
  } catch (err) {
    // The caller never gets the cluster to stop: stop what started (ZooKeeper, brokers, database).
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
