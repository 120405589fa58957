/**
 * The MySQL a bench script runs against: KAFKA_MYSQL_BENCH_URL when set, otherwise a managed
 * MariaDB of its own in a temporary directory, stopped and removed by stop().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startManagedMariadb } from '../../storage/managed-mariadb.js';

export interface BenchMysql {
  url: string;
  stop(): Promise<void>;
}

export async function benchMysql(name: string, sizes: { bufferPoolSize: string; logFileSize: string }): Promise<BenchMysql> {
  const given = process.env.KAFKA_MYSQL_BENCH_URL;
  if (given) return { url: given, stop: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), `kafka-mysql-bench-${name}-`));
  const managed = await startManagedMariadb({ dataDir: dir, port: 0, ...sizes });
  return {
    url: managed.url,
    async stop() {
      await managed.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
