import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startManagedMariadb, type ManagedMariadb } from '../../storage/managed-mariadb.js';
import { startDataDirWatchdog, stopWatchdog } from '../../testing/watchdog.js';
import './vitest-context.js';

/**
 * vitest globalSetup: ONE private MariaDB for the whole test run, in a fresh temp directory on a
 * free port. Test files get its URL with `inject('mysqlUrl')` (or process.env.KAFKA_MYSQL_TEST_URL)
 * and make their own database with createTestDatabase() from ./mysql.ts.
 *
 * Set KAFKA_MYSQL_TEST_URL beforehand to run the suite against an existing server (e.g. MySQL 8)
 * instead; it must allow CREATE/DROP DATABASE.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KAFKA_MYSQL_TEST_URL;
  if (external) {
    project.provide('mysqlUrl', external);
    project.provide('mysqlSocketPath', null);
    return async () => {};
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-test-'));
  let server: ManagedMariadb;
  try {
    server = await startManagedMariadb({
      dataDir,
      port: 0,
      bufferPoolSize: '256M',
      logFileSize: '64M',
    });
  } catch (err) {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const watchdog = startDataDirWatchdog([dataDir], dataDir);
  process.env.KAFKA_MYSQL_TEST_URL = server.url;
  project.provide('mysqlUrl', server.url);
  project.provide('mysqlSocketPath', server.socketPath);
  return async () => {
    try {
      await server.stop();
    } finally {
      stopWatchdog(watchdog);
      await fs.rm(dataDir, { recursive: true, force: true });
      delete process.env.KAFKA_MYSQL_TEST_URL;
    }
  };
}

