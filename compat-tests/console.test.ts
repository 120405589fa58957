/**
 * The web console (docs/console.md) in a real browser: Debian's chromium driven by
 * playwright-core (headless, never a downloaded browser) against a real broker. Creates a
 * topic through the page, produces and finds a message by key, watches a consumer group's lag
 * fall while a kafkajs consumer reads, resets its offsets with a preview (refused while the
 * group has members), and takes a screenshot of each main page into docs/console/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

async function shot(name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: false });
}

async function open(hash: string): Promise<void> {
  await page.goto(`${base}/console/#/${hash}`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  tb = await startTestBroker('console', { 'metrics.listener': '127.0.0.1:0', 'group.min.session.timeout.ms': 1000 });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  kafka = new Kafka({ clientId: 'console-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

describe('console', () => {
  it('serves the app under /console and its API to loopback clients', async () => {
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('/console/app.js');
    const app = await fetch(`${base}/console/app.js`);
    expect(app.status).toBe(200);
    expect(app.headers.get('content-type')).toContain('javascript');
    const who = (await (await fetch(`${base}/console/api/whoami`)).json()) as { principal: string };
    expect(who.principal).toBe('User:ANONYMOUS');
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
    await page.click('label:has-text("json") input');
    expect(await page.locator('[data-testid=record-value]').textContent()).toBe(JSON.stringify({ id: 17, total: 25.5 }, null, 2));
    await page.click('[data-testid=record]');
    const copied = JSON.parse((await page.locator('[data-testid=record-json]').textContent())!);
    expect(copied).toMatchObject({ key: 'order-17', headers: { source: 'app' } });

    // Produce a test message through the form, then browse newest first without filters.
    await page.fill('[data-testid=search-key]', '');
    await page.fill('form[data-testid=produce] input[name=key]', 'console-key');
    await page.fill('form[data-testid=produce] textarea[name=value]', 'hello from the console');
    await page.fill('form[data-testid=produce] textarea[name=headers]', 'origin=console');
    await page.click('form[data-testid=produce] button[type=submit]');
    const result = await page.locator('[data-testid=produce-result]').textContent();
    const [, partition, offset] = /partition (\d+) at offset (\d+)/.exec(result ?? '')!;
    await page.selectOption('[data-testid=partition]', partition!);
    await page.click('label:has-text("text") input');
    await page.click('[data-testid=search]');
    await expect.poll(() => page.locator('[data-testid=record-offset]').first().textContent()).toBe(offset);
    expect(await page.locator('[data-testid=record-value]').first().textContent()).toBe('hello from the console');
    await shot('messages');
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
    const history = (await (await fetch(`${base}/console/api/groups/billing/lag-history`)).json()) as { samples: Array<{ total: number }> };
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
    await expect.poll(() => page.locator('[data-testid=stat-topics]').textContent()).toBe('62');
    await page.waitForSelector('[data-testid=chart-throughput]');
    await shot('overview');
  });
});
