import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startBroker, type RunningBroker } from '../../server/broker.js';
import { loadConfig } from '../../server/config/index.js';
import { createTestDatabase, dropTestDatabase } from '../../testing/mysql.js';

export interface TestBroker {
  broker: RunningBroker;
  /** `127.0.0.1:<port>` for clients' bootstrap servers. */
  bootstrap: string;
  port: number;
  mysqlUrl: string;
  stop(): Promise<void>;
}

/**
 * A broker in this test process, on a free port, with its own fresh database on the test
 * MariaDB. Overrides use the broker's configuration keys.
 */
export async function startTestBroker(
  name: string,
  overrides: Record<string, string | number | boolean> = {},
  existingUrl?: string,
): Promise<TestBroker> {
  const mysqlUrl = existingUrl ?? (await createTestDatabase(name));
  const config = loadConfig({
    env: {},
    overrides: {
      'mysql.url': mysqlUrl,
      listeners: 'PLAINTEXT://127.0.0.1:0',
      'metrics.listener': '',
      'group.initial.rebalance.delay.ms': 0,
      ...overrides,
    },
  });
  const broker = await startBroker(config, { logger: pino({ level: process.env.KAFKA_MYSQL_TEST_LOG ?? 'warn' }) });
  return {
    broker,
    bootstrap: `127.0.0.1:${broker.port}`,
    port: broker.port,
    mysqlUrl,
    async stop() {
      await broker.stop();
      if (!existingUrl) await dropTestDatabase(mysqlUrl);
    },
  };
}

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  bootstrap: string;
  /** Everything the broker logged (JSON lines). */
  output(): string;
  /** SIGKILL, no shutdown: what a crash looks like. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  terminate(): Promise<number | null>;
}

/**
 * The built broker (dist/, made by `npm test`'s build step) in a child process, for tests
 * that kill it. Resolves once it logs that it is listening.
 */
export async function spawnBroker(settings: Record<string, string | number>, timeoutMs = 60_000): Promise<BrokerProcess> {
  const args = [CLI, 'start'];
  for (const [key, value] of Object.entries({ listeners: 'PLAINTEXT://127.0.0.1:0', 'metrics.listener': '', ...settings })) {
    args.push('--set', `${key}=${value}`);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_MYSQL_URL: undefined } });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*kafka-mysql broker listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    child,
    port,
    bootstrap: `127.0.0.1:${port}`,
    output: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async terminate() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
