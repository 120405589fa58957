/**
 * The web console (docs/console.md) in a real browser: Debian's chromium driven by
 * playwright-core (headless, never a downloaded browser) against a real broker with SASL
 * listeners, the ACL authorizer and REST authentication. Logs in as a super user, creates a
 * topic through the page, produces and finds a message by key, watches a consumer group's lag
 * fall while a kafkajs consumer reads, resets its offsets with a preview (refused while the
 * group has members), pauses and resumes a push subscription, cancels a delayed message, then
 * logs in as a user with rights on a few topics only and sees just those. Takes a screenshot
 * of each main page into docs/console/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { AclOperationTypes as Ops, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, Partitioners, ResourcePatternTypes as Pat, type Admin, type Consumer, type Producer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramCredential } from '../server/security/sasl/credentials.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../docs/console/', import.meta.url));

let tb: TestBroker;
let base: string;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let browser: Browser;
let page: Page;
/** The push subscription's endpoint: counts deliveries. */
let endpoint: Server;
let delivered = 0;
const ADMIN_AUTH = `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`;

/** The console's JSON or REST answer for the super user (what the page would see). */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}${path}`, { method, headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json', 'x-kafka-mysql-console': '1' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function login(user: string, password: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.waitForSelector('[data-testid=login]');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('form[data-testid=login] button[type=submit]');
  await expect.poll(() => page.locator('[data-testid=principal]').textContent()).toContain(`User:${user}`);
}

async function shot(name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: false });
}

async function open(hash: string): Promise<void> {
  await page.goto(`${base}/console/#/${hash}`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  tb = await startTestBroker('console', {
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:admin',
    'acl.refresh.ms': 200,
    'metrics.listener': '127.0.0.1:0',
    'connection.failed.authentication.delay.ms': 50,
    'group.min.session.timeout.ms': 1000,
    'subscriptions.poll.interval.ms': 200,
  });
  await tb.broker.storage.users.upsert('admin', scramCredential('SCRAM-SHA-512', 'admin-pw'));
  await tb.broker.storage.users.upsert('viewer', scramCredential('SCRAM-SHA-512', 'viewer-pw'));
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  kafka = new Kafka({ clientId: 'console-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 }, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'admin-pw' } });
  endpoint = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      delivered++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => endpoint?.close(resolve));
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

describe('console', () => {
  it('serves the app under /console; its API wants a broker user; the page logs in', async () => {
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('/console/app.js');
    const app = await fetch(`${base}/console/app.js`);
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toContain('javascript');
    // Without credentials: 401 and no WWW-Authenticate (the page's own form, not the browser's dialog).
    const anonymous = await fetch(`${base}/console/api/whoami`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBeNull();
    const wrong = await fetch(`${base}/console/api/topics`, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    expect((await rest('GET', '/console/api/whoami')).body.principal).toBe('User:admin');
    // A change without the page's header (what another site's form could send) is refused; so is a foreign Host.
    const forged = await fetch(`${base}/console/api/groups/none`, { method: 'DELETE', headers: { authorization: ADMIN_AUTH } });
    expect(forged.status).toBe(403);
    const { request } = await import('node:http');
    const rebound = await new Promise<number>((resolve, reject) =>
      request(`${base}/console/api/whoami`, { headers: { host: 'evil.example', authorization: ADMIN_AUTH } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    expect(rebound).toBe(403);

    await page.goto(`${base}/console/`);
    await page.waitForSelector('[data-testid=login]');
    await page.fill('input[name=user]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('form[data-testid=login] button[type=submit]');
    await page.waitForSelector('[data-testid=login] [data-testid=error]');
    await shot('login');
    await login('admin', 'admin-pw');
  });

  it('lists topics page by page and creates one through the page', async () => {
    // 60 topics: more than one page of 50.
    await admin.createTopics({ topics: Array.from({ length: 60 }, (_, i) => ({ topic: `bulk-${String(i).padStart(3, '0')}`, numPartitions: 1 })) });
    await open('topics');
    await expect.poll(() => page.locator('[data-testid=topic-list] tbody tr').count()).toBe(50);
    await expect.poll(() => page.locator('.pager span').textContent()).toBe('1-50 of 60');
    await page.locator('.pager button', { hasText: 'next' }).click();
    await expect.poll(() => page.locator('[data-testid=topic-list] tbody tr').count()).toBe(10);
    await page.fill('[data-testid=topic-filter]', 'bulk-05');
    await expect.poll(() => page.locator('[data-testid=topic-list] tbody tr').count()).toBe(10);

    await page.fill('input[name=topic_name]', 'orders');
    await page.fill('input[name=partitions_count]', '3');
    await page.click('button:has-text("Create")');
    await page.waitForSelector('[data-testid=partitions]');
    await expect.poll(() => page.locator('[data-testid=partitions] tbody tr').count()).toBe(3);
    const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    // Add partitions and edit a config through the page.
    await page.fill('[data-testid=partition-count]', '4');
    await page.click('button:has-text("Add partitions")');
    await expect.poll(() => page.locator('[data-testid=partitions] tbody tr').count()).toBe(4);
    await page.locator('[data-testid="config-retention.ms"] button', { hasText: 'edit' }).click();
    await page.locator('[data-testid="config-retention.ms"] input').fill('3600000');
    await page.locator('[data-testid="config-retention.ms"] button', { hasText: 'save' }).click();
    await expect.poll(async () => (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }] })).resources[0]!.configEntries[0]!.configValue).toBe('3600000');
    await open('topics');
    await page.waitForSelector('[data-testid=topic-list]');
    await shot('topics');
  });

  it('produces and finds a message by key, and browses newest first', async () => {
    await producer.send({ topic: 'orders', messages: Array.from({ length: 40 }, (_, i) => ({ key: `order-${i}`, value: JSON.stringify({ id: i, total: i * 1.5 }), headers: { source: i % 2 === 0 ? 'shop' : 'app' } })) });
    const offsets = await admin.fetchTopicOffsets('orders');
    // Which partition holds order-17: the page must find it by key there.
    await open('messages/orders');
    await page.waitForSelector('[data-testid=partition]');
    let found: string | null = null;
    for (const o of offsets) {
      await page.selectOption('[data-testid=partition]', String(o.partition));
      await page.fill('[data-testid=search-key]', 'order-17');
      await page.click('[data-testid=search]');
      await page.waitForSelector('[data-testid=scan-info]');
      await page.waitForTimeout(200);
      if ((await page.locator('[data-testid=record]').count()) === 1) {
        found = String(o.partition);
        break;
      }
    }
    expect(found).not.toBeNull();
    expect(await page.locator('[data-testid=record-key]').textContent()).toBe('order-17');
    expect(await page.locator('[data-testid=record-value]').textContent()).toBe('{"id":17,"total":25.5}');
    await page.check('input[name=view][value=json]');
    expect(await page.locator('[data-testid=record-value]').textContent()).toBe(JSON.stringify({ id: 17, total: 25.5 }, null, 2));
    await page.click('[data-testid=record]');
    const copied = JSON.parse((await page.locator('[data-testid=record-json]').textContent())!);
    expect(copied).toMatchObject({ key: 'order-17', headers: { source: 'app' } });

    // A text filter over the partition (value text, case-insensitive), oldest first.
    await page.fill('[data-testid=search-key]', '');
    await page.fill('input[name=q]', '"TOTAL":25.5');
    await page.selectOption('select:has(option[value=oldest])', 'oldest');
    await page.click('[data-testid=search]');
    await expect.poll(() => page.locator('[data-testid=scan-info]').textContent()).toContain('oldest first');
    expect(await page.locator('[data-testid=record-key]').allTextContents()).toEqual(['order-17']);
    await page.fill('input[name=q]', '');
    await page.fill('input[name=header]', 'source=app');
    await page.click('[data-testid=search]');
    await expect.poll(async () => (await page.locator('[data-testid=record-key]').allTextContents()).includes('order-17')).toBe(true);
    expect((await page.locator('[data-testid=record]').allTextContents()).every((t) => t.includes('source=app'))).toBe(true);
    await page.fill('input[name=header]', '');
    await page.selectOption('select:has(option[value=oldest])', 'newest');

    // Produce a test message through the form, then browse newest first without filters.
    await page.fill('[data-testid=search-key]', '');
    await page.fill('form[data-testid=produce] input[name=key]', 'console-key');
    await page.fill('form[data-testid=produce] textarea[name=value]', 'hello from the console');
    await page.fill('form[data-testid=produce] textarea[name=headers]', 'origin=console');
    await page.click('form[data-testid=produce] button[type=submit]');
    const result = await page.locator('[data-testid=produce-result]').textContent();
    const [, partition, offset] = /partition (\d+) at offset (\d+)/.exec(result ?? '')!;
    await page.selectOption('[data-testid=partition]', partition!);
    await page.check('input[name=view][value=text]');
    await page.click('[data-testid=search]');
    await expect.poll(() => page.locator('[data-testid=record-offset]').first().textContent()).toBe(offset);
    expect(await page.locator('[data-testid=record-value]').first().textContent()).toBe('hello from the console');
    await shot('messages');

    // A topic with the message index: a lookup by key over all partitions (the index fills within about 200 ms).
    const made = await rest('POST', `/v3/clusters/${tb.broker.context.cluster.clusterId}/topics`, { topic_name: 'indexed', partitions_count: 4, configs: [{ name: 'message.index.enable', value: 'true' }] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    await producer.send({ topic: 'indexed', messages: Array.from({ length: 20 }, (_, i) => ({ key: `customer-${i % 5}`, value: `event ${i}` })) });
    await open('messages/indexed');
    await page.waitForSelector('[data-testid=partition]');
    await page.selectOption('[data-testid=mode]', 'index');
    await page.fill('[data-testid=search-key]', 'customer-3');
    await expect
      .poll(async () => {
        await page.click('[data-testid=search]');
        await page.waitForTimeout(300);
        return page.locator('[data-testid=record-value]').allTextContents();
      })
      .toEqual(['event 3', 'event 8', 'event 13', 'event 18']);

    // The topic's page: per partition, offsets and stored bytes (DescribeLogDirs' sizes) agree on which hold records.
    await open('topics/orders');
    await page.waitForSelector('[data-testid=partitions] tbody tr');
    const rows: string[][] = [];
    for (const tr of await page.locator('[data-testid=partitions] tbody tr').all()) rows.push(await tr.locator('td').allTextContents());
    const ends = await admin.fetchTopicOffsets('orders');
    expect(rows.map((r) => Number(r[2]))).toEqual([...ends].sort((a, b) => a.partition - b.partition).map((e) => Number(e.high)));
    for (const r of rows) expect(r[4] === '0').toBe(r[3] === '0');
  });

  it('shows a group lag falling while a consumer reads, then resets its offsets with a preview', async () => {
    await admin.createTopics({ topics: [{ topic: 'billing-in', numPartitions: 2 }] });
    await producer.send({ topic: 'billing-in', messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    // Committed at 0: a lag of 300 before anyone reads.
    await admin.setOffsets({ groupId: 'billing', topic: 'billing-in', partitions: [{ partition: 0, offset: '0' }, { partition: 1, offset: '0' }] });
    await open('groups/billing');
    await expect.poll(() => page.locator('[data-testid=total-lag]').textContent()).toBe('300');

    let consumer: Consumer | null = kafka.consumer({ groupId: 'billing', sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'billing-in' });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
        // Slow enough that the page sees the lag on its way down.
        await new Promise((r) => setTimeout(r, 25));
      },
    });
    await expect.poll(() => page.locator('[data-testid=total-lag]').textContent(), { timeout: 30_000 }).toBe('0');
    expect(seen).toBe(300);
    await expect.poll(() => page.locator('[data-testid=group-state]').textContent()).toBe('Stable');
    // The history behind the chart saw the lag on its way down, not only before and after.
    const history = (await rest('GET', '/console/api/groups/billing/lag-history')).body as { samples: Array<{ total: number }> };
    const totals: number[] = history.samples.map((s) => s.total);
    expect(totals[0]).toBe(300);
    expect(totals.some((t) => t > 0 && t < 300)).toBe(true);
    expect(totals[totals.length - 1]).toBe(0);
    await expect.poll(() => page.locator('[data-testid=lag-chart] polyline').count()).toBeGreaterThan(0);
    await shot('group');

    // Refused while the group has members, as the CLI.
    await page.selectOption('form[data-testid=reset] select[name=mode]', 'earliest');
    await page.click('[data-testid=reset-preview]');
    await expect.poll(() => page.locator('[data-testid=error]').first().textContent()).toContain('current state is Stable');

    await consumer.disconnect();
    consumer = null;
    await expect.poll(() => page.locator('[data-testid=group-state]').textContent(), { timeout: 15_000 }).toBe('Empty');
    await page.selectOption('form[data-testid=reset] select[name=mode]', 'shift');
    await page.fill('form[data-testid=reset] input[name=value]', '-100');
    await page.click('[data-testid=reset-preview]');
    await page.waitForSelector('[data-testid=reset-plan]');
    const rows = await page.locator('[data-testid=reset-plan] tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    // Preview only: nothing committed yet.
    const before = await admin.fetchOffsets({ groupId: 'billing', topics: ['billing-in'] });
    const committedBefore = before[0]!.partitions.map((p) => Number(p.offset)).sort();
    const ends = await admin.fetchTopicOffsets('billing-in');
    expect(committedBefore).toEqual(ends.map((e) => Number(e.high)).sort());
    await page.click('[data-testid=reset-execute]');
    await page.waitForSelector('[data-testid=reset-done]');
    // The long-operation status ends with the result.
    expect(await page.locator('[data-testid=task-done]').textContent()).toMatch(/^Committed 2 offsets in \d+\.\d s\.$/);
    const after = await admin.fetchOffsets({ groupId: 'billing', topics: ['billing-in'] });
    for (const p of after[0]!.partitions) {
      const end = Number(ends.find((e) => e.partition === p.partition)!.high);
      expect(Number(p.offset)).toBe(Math.max(0, end - 100));
    }
    await expect.poll(() => page.locator('[data-testid=total-lag]').textContent()).toBe(String(ends.reduce((s, e) => s + Math.min(100, Number(e.high)), 0)));
  });

  it('shows the overview with brokers and throughput', async () => {
    await open('');
    await page.waitForSelector('[data-testid=brokers]');
    expect(await page.locator('[data-testid=brokers] tbody tr').count()).toBe(1);
    expect(await page.locator('[data-testid=brokers] tbody').textContent()).toContain('controller');
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    await expect.poll(() => page.locator('[data-testid=stat-topics]').textContent()).toBe(String(topics.length));
    await page.waitForSelector('[data-testid=chart-throughput]');
    await shot('overview');
  });

  it('pauses and resumes a push subscription', async () => {
    await admin.createTopics({ topics: [{ topic: 'hooks', numPartitions: 1 }] });
    const created = await rest('POST', '/v3/subscriptions', { name: 'to-shop', topics: ['hooks'], endpoint: { url: `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/hook` }, start_from: 'earliest' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await producer.send({ topic: 'hooks', messages: Array.from({ length: 5 }, (_, i) => ({ value: `h${i}` })) });
    await expect.poll(() => delivered, { timeout: 20_000 }).toBe(5);
    await open('subscriptions');
    await page.click('button:has-text("to-shop")');
    await expect.poll(() => page.locator('[data-testid=subscription-state]').textContent()).toBe('active');
    await page.click('[data-testid=pause]');
    await expect.poll(() => page.locator('[data-testid=subscription-state]').textContent()).toBe('paused');
    expect((await rest('GET', '/v3/subscriptions/to-shop')).body.state).toBe('paused');
    await producer.send({ topic: 'hooks', messages: Array.from({ length: 3 }, (_, i) => ({ value: `p${i}` })) });
    // Paused: several poll intervals (200 ms) pass without a delivery.
    await new Promise((r) => setTimeout(r, 1500));
    expect(delivered).toBe(5);
    await shot('subscriptions');
    await page.click('[data-testid=resume]');
    await expect.poll(() => page.locator('[data-testid=subscription-state]').textContent()).toBe('active');
    await expect.poll(() => delivered, { timeout: 20_000 }).toBe(8);
    // Re-push offsets 1-2 through the page: delivered again; the attempts of offset 1 show both deliveries.
    await page.fill('input[name=from_offset]', '1');
    await page.fill('input[name=to_offset]', '2');
    await page.click('form:has(input[name=from_offset]) button[type=submit]');
    await expect.poll(() => delivered, { timeout: 20_000 }).toBe(10);
    await expect.poll(() => page.locator('[data-testid=task-done]').textContent()).toMatch(/^2 records marked for delivery again/);
    await page.fill('input[name=attempt_offset]', '1');
    await expect.poll(() => page.locator('h3:has-text("Delivery attempts") + table tbody tr').count(), { timeout: 10_000 }).toBe(2);
  });

  it('lists held delayed messages and cancels one', async () => {
    const created = await rest('POST', '/v3/clusters/' + tb.broker.context.cluster.clusterId + '/topics', { topic_name: 'later', partitions_count: 1, configs: [{ name: 'delayed.delivery.enable', value: 'true' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const id of ['m1', 'm2']) {
      const r = await rest('POST', `/v3/clusters/${tb.broker.context.cluster.clusterId}/topics/later/records`, { value: { type: 'STRING', data: `reminder ${id}` }, delay_ms: 3_600_000, message_id: id });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    await open('delayed');
    await page.fill('input[name=topic]', 'later');
    await page.click('button:has-text("Show")');
    await expect.poll(() => page.locator('[data-testid=delayed-row]').count()).toBe(2);
    await shot('delayed');
    await page.locator('[data-testid=delayed-row]', { hasText: 'm1' }).locator('[data-testid=cancel]').click();
    await expect.poll(() => page.locator('[data-testid=delayed-note]').textContent()).toBe('m1: cancelled');
    await expect.poll(() => page.locator('[data-testid=delayed-row]').count()).toBe(1);
    const held = await rest('GET', `/v3/clusters/${tb.broker.context.cluster.clusterId}/topics/later/delayed`);
    expect(held.body.data.map((d: { message_id: string }) => d.message_id)).toEqual(['m2']);
  });

  it('adds an ACL on the users page; a user with rights on public-* topics sees only those', async () => {
    await admin.createTopics({ topics: ['public-news', 'public-weather'].map((topic) => ({ topic, numPartitions: 1 })) });
    await producer.send({ topic: 'public-news', messages: [{ key: 'n1', value: 'rain tomorrow' }] });
    await open('security');
    await expect.poll(() => page.locator('[data-testid=users] tbody').textContent()).toContain('viewer');
    // A user added through the page (AlterUserScramCredentials with the salted password made in the broker).
    const users = page.locator('form:has(button:has-text("Add or change user"))');
    await users.locator('input[placeholder=user]').fill('carol');
    await users.locator('input[placeholder=password]').fill('carol-pw');
    await users.locator('button[type=submit]').click();
    await expect.poll(() => page.locator('[data-testid=users] tbody').textContent()).toContain('carolSCRAM-SHA-256');
    // ALLOW User:viewer READ on TOPIC prefixed public- (READ implies DESCRIBE, as in Kafka).
    const form = page.locator('form:has(button:has-text("Add ACL"))');
    await form.locator('input[placeholder="User:alice"]').fill('User:viewer');
    await form.locator('select').nth(0).selectOption({ label: 'ALLOW' });
    await form.locator('select').nth(1).selectOption({ label: 'READ' });
    await form.locator('select').nth(2).selectOption({ label: 'TOPIC' });
    await form.locator('input[placeholder="resource name"]').fill('public-');
    await form.locator('select').nth(3).selectOption({ label: 'PREFIXED' });
    await form.locator('button[type=submit]').click();
    await expect.poll(() => page.locator('[data-testid=acls] tbody').textContent()).toContain('User:viewer');
    const acls = await admin.describeAcls({ resourceType: Res.ANY, resourcePatternType: Pat.ANY, operation: Ops.ANY, permissionType: Perm.ANY });
    expect(acls.resources.map((r) => [r.resourceName, r.resourcePatternType, r.acls.map((a) => [a.principal, a.operation, a.permissionType])])).toEqual([['public-', Pat.PREFIXED, [['User:viewer', Ops.READ, Perm.ALLOW]]]]);
    await shot('security');

    // The authorizer refreshes every 200 ms; log in as the viewer.
    await page.click('nav button:has-text("log out")');
    await page.waitForSelector('[data-testid=login]');
    await login('viewer', 'viewer-pw');
    await open('topics');
    await expect.poll(() => page.locator('.pager span').textContent()).toBe('1-2 of 2');
    const names = await page.locator('[data-testid=topic-list] tbody tr td:first-child').allTextContents();
    expect(names).toEqual(['public-news', 'public-weather']);
    // Creating a topic is refused (no CREATE on the cluster or topic).
    await page.fill('input[name=topic_name]', 'viewer-made');
    await page.click('button:has-text("Create")');
    await expect.poll(() => page.locator('[data-testid=error]').first().textContent()).toContain('Not allowed');
    expect((await admin.listTopics()).includes('viewer-made')).toBe(false);
    await shot('viewer-topics');
    // Its records are readable; another topic's are not there at all.
    await open('messages/public-news');
    await expect.poll(() => page.locator('[data-testid=record-value]').first().textContent()).toBe('rain tomorrow');
    await open('messages/orders');
    await expect.poll(() => page.locator('[data-testid=error]').first().textContent()).toContain('orders not found');
    // No groups, no brokers, no throughput for a user without cluster rights.
    await open('groups');
    await expect.poll(() => page.locator('[data-testid=group-list] tbody tr').count()).toBe(0);
    await open('');
    await expect.poll(() => page.locator('[data-testid=overview]').textContent()).toContain('Describing the cluster is not allowed for this user.');
    expect(await page.locator('[data-testid=stat-topics]').textContent()).toBe('2');

    // carol, added through the page, logs in with her password and sees no topic at all.
    await page.click('nav button:has-text("log out")');
    await login('carol', 'carol-pw');
    await open('topics');
    await expect.poll(() => page.locator('.pager span').textContent()).toBe('none');
  });
});
