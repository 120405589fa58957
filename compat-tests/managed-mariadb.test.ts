/**
 * The broker on its own managed MariaDB (no mysql.url), whose server the test SIGKILLs: the
 * broker starts it again by itself and serves again without a restart of its own. To see the
 * in-between state for certain, the test takes the server's port as soon as the killed server
 * frees it, so the first restart attempts fail; meanwhile /health answers 503 with the
 * MariaDB's state ('restarting', the exit, the last error) and Produce answers
 * KAFKA_STORAGE_ERROR; once the port is released the server comes back on it, /health answers
 * 200 and what was acknowledged before the kill is still there.
 */
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../codec/records/records.js';
import { startBroker, type RunningBroker } from '../server/broker.js';
import { loadConfig } from '../server/config/index.js';
import { RawClient, readPartition } from './support/clients.js';
import { waitFor } from './support/wait.js';

const KAFKA_STORAGE_ERROR = 56;

let dir: string;
let broker: RunningBroker;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-managed-broker-'));
  // A server running as `mysql` (the broker is root) must pass through the 0700 temp directory.
  await fs.chmod(dir, 0o711);
  const config = loadConfig({
    env: {},
    overrides: {
      'mysql.data.dir': path.join(dir, 'data'),
      listeners: 'PLAINTEXT://127.0.0.1:0',
      'metrics.listener': '127.0.0.1:0',
      'num.partitions': 1,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  broker = await startBroker(config, { logger: pino({ level: process.env.KAFKA_MYSQL_TEST_LOG ?? 'warn' }) });
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

interface Health {
  status: string;
  mysql: { reachable: boolean };
  managedMariadb: { state: string; pid: number | null; port: number; restarts: number; lastExit: { pid: number; signal: string | null } | null; lastError: string | null };
}

async function health(): Promise<{ code: number; body: Health }> {
  const response = await fetch(`http://127.0.0.1:${broker.metricsPort}/health`);
  return { code: response.status, body: (await response.json()) as Health };
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

async function produceRaw(client: RawClient, value: string): Promise<number> {
  const response = await client.request(0, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 'managed', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }],
  });
  return response.responses[0]!.partitionResponses[0]!.errorCode as number;
}

describe('managed MariaDB under the broker', () => {
  it('is restarted after a SIGKILL, /health says what is happening meanwhile, and the broker serves again', { timeout: 120_000 }, async () => {
    const kafka = new Kafka({ clientId: 'managed', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'managed', acks: -1, messages: [{ value: 'before' }] });

    const before = await health();
    expect(before.code).toBe(200);
    expect(before.body).toMatchObject({ status: 'ok', mysql: { reachable: true }, managedMariadb: { state: 'running', restarts: 0, lastExit: null } });
    const { pid, port } = before.body.managedMariadb;
    expect(Number(await fs.readFile(path.join(dir, 'data', 'mariadbd.pid'), 'utf8'))).toBe(pid);

    const client = await RawClient.connect(broker.port);
    try {
      process.kill(pid!, 'SIGKILL');
      const blocker = await bindWhenFree(port);
      await waitFor(async () => (await health()).body.managedMariadb.lastError !== null, 'a failed restart attempt', 30_000);
      const during = await health();
      expect(during.code).toBe(503);
      expect(during.body).toMatchObject({
        status: 'unavailable',
        mysql: { reachable: false },
        managedMariadb: { state: 'restarting', pid: null, port, restarts: 0, lastExit: { pid, signal: 'SIGKILL' } },
      });
      // The broker itself keeps answering, with a retriable error for what needs MySQL.
      expect(await produceRaw(client, 'during')).toBe(KAFKA_STORAGE_ERROR);
      await new Promise((resolve) => blocker.close(resolve));

      await waitFor(async () => (await health()).code === 200, 'the restarted server', 60_000);
      const after = await health();
      expect(after.body).toMatchObject({ status: 'ok', mysql: { reachable: true }, managedMariadb: { state: 'running', port, restarts: 1, lastError: null } });
      expect(after.body.managedMariadb.pid).not.toBe(pid);

      // The first append may meet a pooled connection to the dead server; retried as a client would, it succeeds.
      let code = await produceRaw(client, 'after');
      for (let i = 0; i < 5 && code === KAFKA_STORAGE_ERROR; i++) code = await produceRaw(client, 'after');
      expect(code).toBe(0);
    } finally {
      client.close();
    }
    await producer.send({ topic: 'managed', acks: -1, messages: [{ value: 'after-kafkajs' }] });
    await producer.disconnect();
    const { records } = await readPartition(broker.port, 'managed', 0);
    expect(records.map((r) => r.value!.toString())).toEqual(['before', 'after', 'after-kafkajs']);
  });
});
