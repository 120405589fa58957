/**
 * Push subscriptions survive the death of the delivering broker (docs/subscriptions.md,
 * "Progress and failover"): two broker processes in a ZooKeeper cluster on one MariaDB; the
 * broker holding the subscription's lease is SIGKILLed while deliveries are in flight, the other
 * takes the leases once they expire (fenced by the lease epoch) and resumes from the committed
 * progress; the killed one is restarted and the new owner killed in turn. Measured at the
 * endpoint: every record delivered (nothing lost) and never two requests for one record at once;
 * records delivered again after a kill (at least once) are counted and reported.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { openTestPool } from '../testing/mysql.js';
import { runCli } from './retention-support.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { WebhookServer } from './support/webhook-server.js';

const RECORDS = 900;
let cluster: TestCluster;
let hooks: WebhookServer;
let pool: Pool;

beforeAll(async () => {
  // Slow enough answers that several requests are always in flight when a broker dies.
  hooks = new WebhookServer(() => ({ status: 200, delayMs: 100 + Math.floor(Math.random() * 200) }));
  await hooks.start();
  cluster = await startTestCluster('subscriptions-kill', 2, {
    'subscriptions.poll.interval.ms': 200,
    'subscriptions.commit.interval.ms': 100,
    'subscriptions.lease.ms': 4000,
  });
  pool = openTestPool(cluster.mysqlUrl, 2);
});

afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
  await hooks?.stop();
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The broker holding the subscription's lease (0: none), read from MySQL. */
async function owner(): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT owner FROM subscription_leases WHERE subscription = 'kill-sub' AND partition_id = -1 AND expires_ms > UNIX_TIMESTAMP(NOW(3)) * 1000",
  );
  const o = rows.length === 0 ? '' : String(rows[0]!.owner);
  return o === '' ? 0 : Number(/^broker-(\d+)-/.exec(o)![1]);
}

const deliveredIds = () => new Set(hooks.delivered('/kill').map((h) => h.id));

it('a SIGKILLed delivering broker loses nothing and no record is ever delivered twice at once', async () => {
  const kafka = new Kafka({ clientId: 'subscriptions-kill', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'kill-orders', numPartitions: 4 }] });
  await admin.disconnect();
  const created = await runCli([
    'subscriptions', 'create', 'kill-sub', '--topic', 'kill-orders', '--url', hooks.url('/kill'), '--concurrency', '8', '--ordering', 'key',
    '--rate-limit', '40', '--timeout-ms', '1000', '--from-beginning', '--set', `mysql.url=${cluster.mysqlUrl}`,
  ]);
  expect(created.code, created.stderr).toBe(0);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < RECORDS; i += 100) {
    await producer.send({ topic: 'kill-orders', acks: -1, messages: Array.from({ length: 100 }, (_, j) => ({ key: `k${(i + j) % 37}`, value: String(i + j) })) });
  }
  await producer.disconnect();

  for (const killAt of [150, 450]) {
    await waitFor(() => deliveredIds().size >= killAt, 30_000, `${killAt} deliveries`);
    const victim = await owner();
    expect(victim).toBeGreaterThan(0);
    const inFlight = hooks.hits.length;
    await cluster.brokers.get(victim)!.kill();
    const before = deliveredIds().size;
    // Enough left to see the other broker deliver (the rate limit keeps delivery going for about 20 s).
    expect(before).toBeLessThan(RECORDS - 100);
    // The survivor takes over after the lease expires, then delivers again.
    try {
      await waitFor(() => deliveredIds().size > before + 20, 40_000, 'delivery resuming on the other broker');
    } catch (err) {
      const other = [...cluster.brokers.entries()].find(([id]) => id !== victim)![1];
      console.log(other.output().split('\n').filter((l) => /subscri|lease/i.test(l)).slice(-30).join('\n'));
      throw err;
    }
    expect(await owner()).not.toBe(victim);
    expect(hooks.hits.length).toBeGreaterThan(inFlight);
    await cluster.start(victim);
  }
  await waitFor(() => deliveredIds().size >= RECORDS, 40_000, 'every record delivered');
  // Nothing lost: every offset of every partition delivered.
  const seen = new Set(hooks.delivered('/kill').map((h) => JSON.parse(h.body).value as number));
  expect(seen.size).toBe(RECORDS);
  expect(hooks.concurrentDuplicates).toEqual([]);
  const deliveries = hooks.delivered('/kill').length;
  const aborted = hooks.hits.filter((h) => h.path === '/kill' && h.aborted).length;
  // The kills did cut deliveries in flight.
  expect(aborted).toBeGreaterThan(0);
  console.log(`subscriptions-kill: ${RECORDS} records, ${deliveries} 2xx deliveries (${deliveries - RECORDS} again after the kills), ${aborted} requests cut by the kills`);
}, 150_000);
