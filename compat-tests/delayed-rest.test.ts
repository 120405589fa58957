/**
 * Delayed delivery over REST and the CLI (docs/delayed.md): records produced with delay_ms and
 * deliver_at are answered with their message id and offset -1, invisible until due and then
 * read once by kcat; `GET .../delayed` and `kafka-mysql delayed list` list what is held by due
 * time; `DELETE .../delayed/{id}` and `kafka-mysql delayed cancel` cancel (200 / exit 0), and
 * after delivery answer that it was delivered (409 / exit 1, with the offset); unknown ids are
 * 404 / exit 1; twelve cancels in a row (more than the pool's connections) all answer; a
 * deliver_at ten years ahead is 400 and a delay on a topic without the setting is 400.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { kcatConsume, pollUntil, requireKcat } from './support/clients.js';
import { runCli } from './retention-support.js';

let tb: TestBroker;
let admin: Admin;
let base: string;
let cluster: string;

beforeAll(async () => {
  requireKcat();
  tb = await startTestBroker('delayed_rest', { 'metrics.listener': '127.0.0.1:0', 'delayed.delivery.rescan.ms': 500 });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  cluster = tb.broker.context.cluster.clusterId;
  admin = new Kafka({ clientId: 'delayed-rest', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: 'dr-orders', numPartitions: 2, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] },
      { topic: 'dr-plain', numPartitions: 1 },
    ],
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await tb?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v3/clusters/${cluster}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const values = async () => [...(await kcatConsume(tb.bootstrap, 'dr-orders', 0)), ...(await kcatConsume(tb.bootstrap, 'dr-orders', 1))].map((r) => r.value?.toString()).sort();
const cli = (...args: string[]) => runCli(['delayed', ...args, '--set', `mysql.url=${tb.mysqlUrl}`]);

describe('delayed delivery over REST and the CLI', () => {
  it('produces, lists, cancels and delivers', async () => {
    const due = Date.now() + 10_000;
    const a = await call('POST', '/topics/dr-orders/records', { partition_id: 0, value: { type: 'STRING', data: 'rest-a' }, delay_ms: 10_000, message_id: 'r-a' });
    expect(a.status).toBe(200);
    expect(a.json.offset).toBe(-1);
    expect(a.json.delayed).toMatchObject({ message_id: 'r-a' });
    const b = await call('POST', '/topics/dr-orders/records', { partition_id: 1, value: { type: 'STRING', data: 'rest-b' }, deliver_at: new Date(due).toISOString() });
    expect(b.status).toBe(200);
    const generated = (b.json.delayed as { message_id: string }).message_id;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    for (const id of ['r-c', 'r-d']) {
      expect((await call('POST', '/topics/dr-orders/records', { partition_id: 0, value: { type: 'STRING', data: id }, deliver_at: due, message_id: id })).status).toBe(200);
    }
    expect(await values()).toEqual([]);

    const listed = await call('GET', '/topics/dr-orders/delayed?limit=10');
    expect(listed.status).toBe(200);
    const rows = listed.json.data as { message_id: string; partition_id: number; deliver_at_ms: number; value: { data: string } }[];
    expect(rows.map((r) => r.message_id).sort()).toEqual(['r-a', 'r-c', 'r-d', generated].sort());
    expect(rows.map((r) => r.deliver_at_ms)).toEqual([...rows.map((r) => r.deliver_at_ms)].sort((x, y) => x - y));
    expect(Buffer.from(rows.find((r) => r.message_id === 'r-a')!.value.data, 'base64').toString()).toBe('rest-a');
    const onlyP1 = await call('GET', '/topics/dr-orders/delayed?partition_id=1');
    expect((onlyP1.json.data as { message_id: string }[]).map((r) => r.message_id)).toEqual([generated]);

    const listedCli = await cli('list', '--topic', 'dr-orders', '--json');
    expect(listedCli.code).toBe(0);
    expect((JSON.parse(listedCli.stdout) as { messageId: string }[]).map((r) => r.messageId).sort()).toEqual(['r-a', 'r-c', 'r-d', generated].sort());

    const cancelled = await call('DELETE', '/topics/dr-orders/delayed/r-c');
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe('cancelled');
    expect((await call('DELETE', '/topics/dr-orders/delayed/r-c')).json.status).toBe('already_cancelled');
    const cancelledCli = await cli('cancel', '--topic', 'dr-orders', '--id', 'r-d');
    expect(cancelledCli.code).toBe(0);
    expect(cancelledCli.stdout).toMatch(/cancelled r-d/);
    expect((await call('DELETE', '/topics/dr-orders/delayed/nope')).status).toBe(404);
    expect((await cli('cancel', '--topic', 'dr-orders', '--id', 'nope')).code).toBe(1);

    // Still nothing before due (the CLI runs above take a few seconds).
    if (Date.now() < due - 500) expect(await values()).toEqual([]);
    expect(await pollUntil(async () => (await values()).length === 2, 15_000, 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await values()).toEqual(['rest-a', 'rest-b']);
    expect((await call('GET', '/topics/dr-orders/delayed')).json.data).toEqual([]);

    const late = await call('DELETE', '/topics/dr-orders/delayed/r-a');
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ status: 'delivered', partition_id: 0, offset: 0 });
    const lateCli = await cli('cancel', '--topic', 'dr-orders', '--id', generated);
    expect(lateCli.code).toBe(1);
    expect(lateCli.stderr).toMatch(/already delivered .*partition 1, offset 0/);
  });

  it('cancels more records than the broker has MySQL connections, one after the other', async () => {
    // A cancel that kept its pooled connection would exhaust the pool (mysql.pool.size 8) here.
    const ids = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    for (const id of ids) expect((await call('POST', '/topics/dr-orders/records', { value: { type: 'STRING', data: id }, delay_ms: 60_000, message_id: id })).status).toBe(200);
    for (const id of ids) expect((await call('DELETE', `/topics/dr-orders/delayed/${id}`)).json.status).toBe('cancelled');
    const listed = await call('GET', '/topics/dr-orders/delayed');
    expect(listed.status).toBe(200);
    expect(listed.json.data).toEqual([]);
  });

  it('answers 400 for a time ten years ahead and for a delay on a topic without delayed delivery', async () => {
    const far = await call('POST', '/topics/dr-orders/records', { value: { type: 'STRING', data: 'x' }, delay_ms: 10 * 365 * 86_400_000, message_id: 'far' });
    expect(far.status).toBe(400);
    expect(String(far.json.message)).toMatch(/delayed\.delivery\.max\.ms/);
    const plain = await call('POST', '/topics/dr-plain/records', { value: { type: 'STRING', data: 'x' }, delay_ms: 1000 });
    expect(plain.status).toBe(400);
    expect(String(plain.json.message)).toMatch(/delayed\.delivery\.enable/);
    expect((await call('GET', '/topics/dr-plain/delayed')).status).toBe(404);
    expect(await kcatConsume(tb.bootstrap, 'dr-plain', 0)).toEqual([]);
  });
});
