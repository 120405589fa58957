/**
 * The message index (message.index.enable, docs/outbox.md "Finding messages") on a real broker
 * and MariaDB: records produced by kafkajs are found by key, by message id and by time range with
 * `kafka-mysql messages find`, compared with what kcat reads from the log; the index follows
 * DeleteRecords (entries below the log start offset go) and topic deletion; bad queries exit 2, a topic without an
 * index or an unknown topic exit 1.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPool } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcatConsume, pollUntil, requireKcat, type KcatRecord } from './support/clients.js';
import { runCli } from './retention-support.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;
const T0 = 1_700_000_000_000;
const N = 3000;
const PARTITIONS = 3;
let producedAt = 0;

beforeAll(async () => {
  requireKcat();
  tb = await startTestBroker('message_index', { 'message.index.interval.ms': 100, 'metrics.listener': '127.0.0.1:0' });
  const kafka = new Kafka({ clientId: 'index-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: 'mi-orders', numPartitions: PARTITIONS, configEntries: [{ name: 'message.index.enable', value: 'true' }, { name: 'message.id.header', value: 'msg-id' }] },
      { topic: 'mi-plain', numPartitions: 1 },
    ],
  });
  for (let i = 0; i < N; i += 500) {
    await producer.send({
      topic: 'mi-orders',
      acks: -1,
      messages: Array.from({ length: 500 }, (_, j) => ({
        key: `order-${(i + j) % 50}`,
        value: `v${i + j}`,
        timestamp: String(T0 + i + j),
        headers: { 'msg-id': `id-${i + j}` },
      })),
    });
  }
  producedAt = Date.now();
}, 120_000);

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

const find = (args: string[]) => runCli(['messages', 'find', '--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'log.level=warn', ...args]);

interface Found {
  partition: number;
  offset: string;
  timestamp: string;
  key: string;
  value: string;
}

async function findJson(args: string[]): Promise<Found[]> {
  const r = await find(['--topic', 'mi-orders', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ partition: number; offset: string; timestamp: string; key: string; value: string }>).map((m) => ({
    partition: m.partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: Buffer.from(m.key, 'base64').toString(),
    value: Buffer.from(m.value, 'base64').toString(),
  }));
}

let log: KcatRecord[] = [];
const asFound = (r: KcatRecord): Found => ({ partition: r.partition, offset: r.offset.toString(), timestamp: r.timestamp.toString(), key: r.key!.toString(), value: r.value!.toString() });
const order = (a: Found, b: Found) => Number(a.timestamp) - Number(b.timestamp) || a.partition - b.partition || Number(a.offset) - Number(b.offset);

describe('message index', () => {
  it('is filled from committed batches and finds records by key, message id and time range', async () => {
    // Lag: how long after the last acknowledged produce every partition's indexed end reaches the log end.
    const pool = openTestPool(tb.mysqlUrl, 1);
    try {
      const indexedEnd = async () => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT COALESCE(SUM(next_offset), 0) AS n FROM message_index_progress');
        return Number(rows[0]!.n);
      };
      expect(await pollUntil(async () => (await indexedEnd()) === N, 60_000, 10)).toBe(true);
      console.log(`message index caught up with ${N} records ${Date.now() - producedAt} ms after the last produce was acknowledged`);
    } finally {
      await pool.end();
    }
    expect((await findJson(['--from', '0', '--limit', '10000'])).length).toBe(N);
    log = [];
    for (let p = 0; p < PARTITIONS; p++) log.push(...(await kcatConsume(tb.bootstrap, 'mi-orders', p)));
    expect(log.length).toBe(N);

    const byKey = await findJson(['--key', 'order-7']);
    expect(byKey).toEqual(log.filter((r) => r.key!.toString() === 'order-7').map(asFound).sort(order));
    expect(byKey.length).toBe(N / 50);

    const byId = await findJson(['--message-id', 'id-1234']);
    expect(byId.map((m) => m.value)).toEqual(['v1234']);

    const range = await findJson(['--from', String(T0 + 1000), '--to', new Date(T0 + 1099).toISOString()]);
    expect(range.map((m) => m.value).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `v${1000 + i}`).sort());
    expect(await findJson(['--key', 'no-such-key'])).toEqual([]);
    expect(await findJson(['--key', 'order-7', '--limit', '5'])).toEqual(byKey.slice(0, 5));
  });

  it('answers the same lookups over REST (GET .../topics/{topic}/messages), bad queries 400', async () => {
    const base = `http://127.0.0.1:${tb.broker.metricsPort}/v3/clusters/${tb.broker.context.cluster.clusterId}/topics`;
    const get = async (topic: string, query: string) => {
      const r = await fetch(`${base}/${topic}/messages?${query}`);
      return { status: r.status, body: (await r.json()) as { data: Array<{ partition_id: number; offset: number; timestamp: number; key: string; value: string; headers: Array<{ name: string; value: string }> }>; error_code?: number; message?: string } };
    };
    const found = async (query: string): Promise<Found[]> => {
      const r = await get('mi-orders', `format=string&${query}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.data.map((m) => ({ partition: m.partition_id, offset: String(m.offset), timestamp: String(m.timestamp), key: m.key, value: m.value }));
    };
    expect(log.length).toBe(N);
    expect(await found('key=order-7')).toEqual(log.filter((r) => r.key!.toString() === 'order-7').map(asFound).sort(order));
    expect(await found(`key_base64=${Buffer.from('order-7').toString('base64')}&limit=3`)).toEqual((await found('key=order-7')).slice(0, 3));
    const byId = await get('mi-orders', 'message_id=id-1234');
    expect(byId.body.data.map((m) => Buffer.from(m.value, 'base64').toString())).toEqual(['v1234']);
    expect(byId.body.data[0]!.headers).toEqual([{ name: 'msg-id', value: Buffer.from('id-1234').toString('base64') }]);
    const range = await found(`from=${T0 + 1000}&to=${encodeURIComponent(new Date(T0 + 1099).toISOString())}&limit=1000`);
    expect(range.map((m) => m.value).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `v${1000 + i}`).sort());
    expect(await found('key=no-such-key')).toEqual([]);
    for (const bad of ['', 'key=a&message_id=b', 'key=a&key_base64=YQ==', 'key_base64=!!!!', 'from=yesterday', 'from=2000&to=1000', 'key=a&limit=0', 'key=a&limit=x', 'key=a&format=xml']) {
      const r = await get('mi-orders', bad);
      expect(r.status, bad).toBe(400);
      expect(r.body.error_code, bad).toBe(400);
    }
    const plain = await get('mi-plain', 'key=a');
    expect(plain.status).toBe(400);
    expect(plain.body.message).toMatch(/message.index.enable/);
    expect((await get('mi-none', 'key=a')).status).toBe(404);
  });

  it('drops entries below the log start offset (DeleteRecords)', async () => {
    const p0 = log.filter((r) => r.partition === 0).sort((a, b) => Number(a.offset - b.offset));
    const cut = p0[Math.floor(p0.length / 2)]!.offset;
    await admin.fetchTopicMetadata({ topics: ['mi-orders'] });
    await admin.deleteTopicRecords({ topic: 'mi-orders', partitions: [{ partition: 0, offset: cut.toString() }] });
    const pool = openTestPool(tb.mysqlUrl, 1);
    try {
      const below = async () => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM message_index WHERE partition_id = 0 AND offset_value < ?', [cut.toString()]);
        return Number(rows[0]!.n);
      };
      expect(await pollUntil(async () => (await below()) === 0, 20_000, 100)).toBe(true);
    } finally {
      await pool.end();
    }
    const expected = log.filter((r) => r.key!.toString() === 'order-3' && (r.partition !== 0 || r.offset >= cut)).map(asFound).sort(order);
    expect(await findJson(['--key', 'order-3'])).toEqual(expected);
  });

  it('refuses bad queries (exit 2), unknown topics and topics without an index (exit 1)', async () => {
    const bad = [
      ['--topic', 'mi-orders'],
      ['--topic', 'mi-orders', '--key', 'a', '--message-id', 'b'],
      ['--topic', 'mi-orders', '--key', 'a', '--from', '0'],
      ['--topic', 'mi-orders', '--key', 'a', '--limit', '0'],
      ['--topic', 'mi-orders', '--key', 'a', '--limit', 'x'],
      ['--topic', 'mi-orders', '--from', '2000', '--to', '1000'],
      ['--topic', 'mi-orders', '--from', 'yesterday'],
      ['--topic', 'mi-orders', '--key-hex', 'zz'],
      ['--key', 'a'],
    ];
    for (const args of bad) {
      const r = await find(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
    const plain = await find(['--topic', 'mi-plain', '--key', 'a']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('has no message index');
    const unknown = await find(['--topic', 'mi-nope', '--key', 'a']);
    expect(unknown.code).toBe(1);
  });

  it('drops the index and message ids of a deleted topic', async () => {
    await admin.deleteTopics({ topics: ['mi-orders'] });
    const pool = openTestPool(tb.mysqlUrl, 1);
    try {
      const count = async (table: string) => Number((await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0][0]!.n);
      expect(await count('message_index')).toBe(0);
      expect(await count('message_index_progress')).toBe(0);
      expect(await count('message_ids')).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
