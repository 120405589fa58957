/**
 * The outbox relay (docs/outbox.md) against a real broker and an application database on the
 * test MariaDB: rows of committed application transactions are published, those of rolled-back
 * ones never; each row once, with its id in the message-id header, in id order per key; a relay
 * killed with SIGKILL (repeatedly, mid-run) while another relays the same table loses and
 * duplicates nothing; the broker's own relay (outbox.mysql.url) does the same; rows published but not deleted (the crash window between the produce and
 * the DELETE's commit) are published again and dropped by the topic's message-id deduplication.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import { scramCredential } from '../server/security/sasl/credentials.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaAdmin } from '../client/admin.js';
import { OutboxClaim, outboxTableDdl, OutboxTable } from '../storage/outbox/outbox-table.js';
import { OutboxRelay } from '../server/outbox/relay.js';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcatConsume, pollUntil, requireKcat } from './support/clients.js';
import { runCli, spawnCli } from './retention-support.js';

let tb: TestBroker;
let appUrl: string;
let app: Pool;
let admin: Admin;

beforeAll(async () => {
  requireKcat();
  tb = await startTestBroker('outbox');
  appUrl = await createTestDatabase('outbox_app');
  app = openTestPool(appUrl, 8);
  const kafka = new Kafka({ clientId: 'outbox-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await app?.end();
  if (appUrl) await dropTestDatabase(appUrl);
  await tb?.stop();
});

async function setUp(table: string, topic: string, partitions: number): Promise<void> {
  await app.query(outboxTableDdl(table));
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'message.id.header', value: 'message-id' }] }],
  });
}

/** One application transaction: a business row and its outbox rows, committed or rolled back. */
async function appTransaction(table: string, topic: string, rows: Array<{ key: string; value: string }>, commit: boolean): Promise<void> {
  const conn = await app.getConnection();
  try {
    await conn.query('BEGIN');
    for (const r of rows) {
      await conn.query(`INSERT INTO ${table} (topic, \`key\`, value, headers) VALUES (?, ?, ?, ?)`, [topic, r.key, r.value, JSON.stringify({ source: 'test' })]);
    }
    await conn.query(commit ? 'COMMIT' : 'ROLLBACK');
  } finally {
    conn.release();
  }
}

interface Published {
  id: number;
  key: string;
  value: string;
  partition: number;
  offset: bigint;
}

async function readTopic(topic: string, partitions: number): Promise<Published[]> {
  const out: Published[] = [];
  for (let p = 0; p < partitions; p++) {
    for (const r of await kcatConsume(tb.bootstrap, topic, p)) {
      const id = /(?:^|,)message-id=(\d+)/.exec(r.headers)?.[1];
      expect(r.headers).toContain('source=test');
      out.push({ id: Number(id), key: r.key!.toString(), value: r.value!.toString(), partition: p, offset: r.offset });
    }
  }
  return out;
}

/** Every id once, exactly the expected ones, and per key in id order (offsets ascending). */
function checkExactlyOnce(published: Published[], expected: Map<number, string>): void {
  const ids = published.map((p) => p.id).sort((a, b) => a - b);
  expect(ids.length).toBe(expected.size);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual([...expected.keys()].sort((a, b) => a - b));
  for (const p of published) expect(p.value).toBe(expected.get(p.id));
  const byKey = new Map<string, Published[]>();
  for (const p of published) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  for (const list of byKey.values()) {
    expect(new Set(list.map((p) => p.partition)).size).toBe(1);
    const inLog = [...list].sort((a, b) => (a.offset < b.offset ? -1 : 1)).map((p) => p.id);
    expect(inLog).toEqual([...inLog].sort((a, b) => a - b));
  }
}

async function committedRows(table: string): Promise<Map<number, string>> {
  const [rows] = await app.query<RowDataPacket[]>(`SELECT id, value FROM ${table}`);
  return new Map(rows.map((r) => [Number(r.id), (r.value as Buffer).toString()]));
}

async function remaining(table: string): Promise<number> {
  const [rows] = await app.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

const relayArgs = (table: string, extra: string[] = []) => ['outbox', 'run', '--url', appUrl, '--table', table, '--bootstrap-server', tb.bootstrap, '--set', 'log.level=warn', ...extra];

describe('outbox relay', () => {
  it('publishes the rows of committed transactions once, none of rolled-back ones, and deletes them', async () => {
    await setUp('ob_basic', 'ob-basic', 3);
    for (let t = 0; t < 20; t++) {
      await appTransaction('ob_basic', 'ob-basic', [
        { key: `order-${t % 4}`, value: `t${t}-a` },
        { key: `order-${(t + 1) % 4}`, value: `t${t}-b` },
      ], t % 3 !== 0);
    }
    const expected = await committedRows('ob_basic');
    expect(expected.size).toBe(26); // 13 committed transactions of 2 rows
    const r = await runCli(relayArgs('ob_basic', ['--once', '--json']));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).published).toBe(26);
    expect(await remaining('ob_basic')).toBe(0);
    const published = await readTopic('ob-basic', 3);
    checkExactlyOnce(published, expected);
    expect(published.every((p) => !/^t(0|3|6|9|12|15|18)-/.test(p.value))).toBe(true);
  });

  it('publishes again what was published but not deleted, and deduplication drops it', async () => {
    await setUp('ob_window', 'ob-window', 2);
    for (let t = 0; t < 10; t++) await appTransaction('ob_window', 'ob-window', [{ key: `k${t % 3}`, value: `v${t}` }], true);
    const expected = await committedRows('ob_window');
    const table = new OutboxTable(appUrl, 'ob_window');
    const client = await KafkaAdmin.connect({ bootstrap: [{ host: '127.0.0.1', port: tb.port }], clientId: 'outbox-test', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 });
    try {
      const options = { batchSize: 4, idHeader: 'message-id', idPrefix: '', pollIntervalMs: 50, maxBatchBytes: 900_000, logger: pino({ level: 'silent' }) };
      // A relay that dies after producing, before its DELETE commits: the claim rolls back.
      const crashing = new OutboxRelay(table, client, options);
      const complete = OutboxClaim.prototype.complete;
      OutboxClaim.prototype.complete = async function (this: OutboxClaim) {
        await this.release();
        throw new Error('simulated crash after publishing');
      };
      try {
        await expect(crashing.relayOnce()).rejects.toThrow('simulated crash');
      } finally {
        OutboxClaim.prototype.complete = complete;
      }
      expect(await remaining('ob_window')).toBe(10);
      const relay = new OutboxRelay(table, client, options);
      while ((await relay.relayOnce()) > 0);
      expect(await remaining('ob_window')).toBe(0);
    } finally {
      client.close();
      await table.close();
    }
    checkExactlyOnce(await readTopic('ob-window', 2), expected);
  });

  it('two relays at once, one SIGKILLed repeatedly mid-run: each committed row exactly once, in order per key', async () => {
    await setUp('ob_kill', 'ob-kill', 4);
    // 2,200 committed rows over 25 keys in 220 transactions, and 10 rolled-back transactions among them.
    for (let t = 0; t < 230; t++) {
      const rows = Array.from({ length: 10 }, (_, i) => ({ key: `key-${(t * 7 + i) % 25}`, value: `t${t}-${i}` }));
      await appTransaction('ob_kill', 'ob-kill', rows, t % 23 !== 5);
    }
    const expected = await committedRows('ob_kill');
    expect(expected.size).toBe(2200);
    const steady = spawnCli(relayArgs('ob_kill', ['--batch-size', '20', '--poll-ms', '20']));
    let log = '';
    steady.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    let killed = 0;
    try {
      for (let round = 0; round < 4; round++) {
        const victim = spawnCli(relayArgs('ob_kill', ['--batch-size', '50', '--poll-ms', '20']));
        const before = await remaining('ob_kill');
        // SIGKILL once it has claimed and published something (rows left falls), i.e. mid-run.
        await pollUntil(async () => (await remaining('ob_kill')) < before - 60 || before === 0, 30_000, 5);
        await kill(victim);
        killed++;
      }
      const drained = await pollUntil(async () => (await remaining('ob_kill')) === 0, 40_000);
      expect(drained, `${await remaining('ob_kill')} rows left; steady relay's log:\n${log.slice(-3000)}`).toBe(true);
    } finally {
      await terminate(steady);
    }
    expect(killed).toBe(4);
    checkExactlyOnce(await readTopic('ob-kill', 4), expected);
  }, 120_000);
});

describe('in-broker outbox relay', () => {
  it('relays the table named by outbox.mysql.url and outbox.table while the broker runs', async () => {
    await app.query(outboxTableDdl('ob_broker'));
    const broker = await startTestBroker('outbox_inbroker', { 'outbox.mysql.url': appUrl, 'outbox.table': 'ob_broker', 'outbox.poll.interval.ms': 50 });
    const kafka = new Kafka({ clientId: 'outbox-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const brokerAdmin = kafka.admin();
    try {
      await brokerAdmin.connect();
      await brokerAdmin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: 'ob-broker', numPartitions: 2, configEntries: [{ name: 'message.id.header', value: 'message-id' }] }],
      });
      for (let t = 0; t < 10; t++) await appTransaction('ob_broker', 'ob-broker', [{ key: `k${t % 3}`, value: `v${t}` }], t !== 4);
      expect(await pollUntil(async () => (await remaining('ob_broker')) === 0, 20_000)).toBe(true);
      const published: string[] = [];
      for (let p = 0; p < 2; p++) for (const r of await kcatConsume(broker.bootstrap, 'ob-broker', p)) published.push(r.value!.toString());
      expect(published.sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v5', 'v6', 'v7', 'v8', 'v9']);
    } finally {
      await brokerAdmin.disconnect();
      await broker.stop();
    }
  });
});

describe('in-broker outbox relay without a PLAINTEXT listener', () => {
  it('publishes in-process as outbox.principal on a SASL-only broker, under its ACLs: refused until granted WRITE, then each committed row once', async () => {
    await app.query(outboxTableDdl('ob_sasl'));
    const broker = await startTestBroker('outbox_sasl', {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:admin',
      'acl.refresh.ms': 200,
      'outbox.mysql.url': appUrl,
      'outbox.table': 'ob_sasl',
      'outbox.poll.interval.ms': 50,
      'outbox.principal': 'User:relay',
    });
    await broker.broker.storage.users.upsert('admin', scramCredential('SCRAM-SHA-512', 'admin-pw'));
    const kafka = new Kafka({ clientId: 'outbox-sasl', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'admin-pw' } });
    const brokerAdmin = kafka.admin();
    try {
      await brokerAdmin.connect();
      await brokerAdmin.createTopics({ waitForLeaders: true, topics: [{ topic: 'ob-sasl', numPartitions: 2, configEntries: [{ name: 'message.id.header', value: 'message-id' }] }] });
      for (let t = 0; t < 10; t++) await appTransaction('ob_sasl', 'ob-sasl', [{ key: `k${t % 3}`, value: `v${t}` }], t !== 4);
      // No ACL for User:relay yet: its produces are refused and the rows stay.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await remaining('ob_sasl')).toBe(9);
      await brokerAdmin.createAcls({
        acl: [{ resourceType: AclResourceTypes.TOPIC, resourceName: 'ob-sasl', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:relay', host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW }],
      });
      expect(await pollUntil(async () => (await remaining('ob_sasl')) === 0, 20_000)).toBe(true);
      const sasl = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', 'sasl.password=admin-pw'];
      const published: string[] = [];
      for (let p = 0; p < 2; p++) for (const r of await kcatConsume(broker.bootstrap, 'ob-sasl', p, sasl)) published.push(r.value!.toString());
      expect(published.sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v5', 'v6', 'v7', 'v8', 'v9']);
    } finally {
      await brokerAdmin.disconnect();
      await broker.stop();
    }
  });
});

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
