/**
 * Push subscriptions (docs/subscriptions.md) against a real broker, a real MariaDB and a test
 * webhook server that measures what it receives (compat-tests/support/webhook-server.ts):
 * retries and dead letters with their reasons (fails N times, slow, 429 with Retry-After, 400,
 * 500 until the cut-off, an endpoint that never answers, a redirect loop); Standard Webhooks
 * signatures; concurrency and rate limits as seen by the server; order per key; `after:`;
 * pause, resume, retire and re-push; the attempt log; metrics; bad definitions and a missing
 * topic; the CLI.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { maxStartsInWindow, WebhookServer, type Decide } from './support/webhook-server.js';
import { runCli } from './retention-support.js';

let tb: TestBroker;
let base: string;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let hooks: WebhookServer;
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const decisions = new Map<string, Decide>();

beforeAll(async () => {
  tb = await startTestBroker('subscriptions', {
    'metrics.listener': '127.0.0.1:0',
    'subscriptions.poll.interval.ms': 200,
    'subscriptions.commit.interval.ms': 100,
    'subscriptions.lease.ms': 3000,
  });
  base = `http://127.0.0.1:${tb.broker.metricsPort}`;
  kafka = new Kafka({ clientId: 'subscriptions-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  hooks = new WebhookServer((r) => (decisions.get(r.path) ?? (() => ({ status: 200 })))(r), new Map([['/signed', SECRET]]));
  await hooks.start();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
  await hooks?.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function topic(name: string, partitions = 1): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: partitions }] });
}

async function create(name: string, def: Record<string, unknown>): Promise<void> {
  const r = await api('POST', '/v3/subscriptions', { name, ...def });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

async function readTopic(name: string, expected: number, timeoutMs = 20_000): Promise<{ key: string | null; value: string; headers: Record<string, string> }[]> {
  const out: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  const consumer = kafka.consumer({ groupId: `read-${name}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  await pollUntil(() => out.length >= expected, timeoutMs);
  await consumer.disconnect();
  return out;
}

/** Waits until `check` holds; fails the test with `what` after timeoutMs. */
async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bodyOf = (b: string) => JSON.parse(b) as { offset: number; partition: number; key: string | null; value: any; topic: string };

describe('push subscriptions', () => {
  it('delivers each record once or dead-letters it with its reason: fails N times, slow, 429 with Retry-After, 400, 500 to the cut-off', async () => {
    await topic('orders-mixed');
    await topic('orders-mixed-dlt');
    // Each record's value names its behaviour.
    decisions.set('/signed', ({ body, attempt }) => {
      const v = bodyOf(body).value as { kind: string; n: number };
      switch (v.kind) {
        case 'fail2':
          return { status: attempt <= 2 ? 503 : 200 };
        case 'slow':
          return { status: 200, delayMs: 300 };
        case '429':
          return attempt === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
        case '400':
          return { status: 400 };
        case '500':
          return { status: 500 };
        default:
          return { status: 200 };
      }
    });
    await create('mixed', {
      topics: ['orders-mixed'],
      endpoint: { url: hooks.url('/signed'), timeout_ms: 2000 },
      ordering: 'none',
      max_concurrency: 3,
      retry: { initial_backoff_ms: 50, max_backoff_ms: 200, max_attempts: 3 },
      dead_letter_topic: 'orders-mixed-dlt',
      secret: SECRET,
    });
    const kinds = ['ok', 'fail2', 'slow', '429', '400', '500', 'slow', 'ok', 'slow', 'fail2', 'slow', 'ok'];
    await producer.send({ topic: 'orders-mixed', messages: kinds.map((kind, n) => ({ key: `k${n}`, value: JSON.stringify({ kind, n }) })) });
    const dead = await readTopic('orders-mixed-dlt', 2);
    await pollUntil(() => new Set(hooks.delivered('/signed').map((h) => h.id)).size === kinds.length - 2, 20_000);
    const delivered = hooks.delivered('/signed');
    // Once each: no 2xx twice for one id.
    expect(delivered.length).toBe(kinds.length - 2);
    const byOffset = new Map(delivered.map((h) => [bodyOf(h.body).offset, h]));
    kinds.forEach((k, n) => {
      if (k === '400' || k === '500') expect(byOffset.has(n)).toBe(false);
      else expect(byOffset.get(n)?.id).toBe(`mixed:orders-mixed:0:${n}`);
    });
    // Dead letters: the 400 at the first attempt, the 500 after three.
    const byReason = new Map(dead.map((d) => [d.headers['source-offset'], d]));
    expect(byReason.get('4')!.headers.error).toBe('HTTP 400');
    expect(byReason.get('4')!.headers.attempts).toBe('1');
    expect(byReason.get('5')!.headers.error).toBe('HTTP 500 (3 attempts)');
    expect(byReason.get('5')!.headers['last-status']).toBe('500');
    expect(byReason.get('5')!.value).toBe(JSON.stringify({ kind: '500', n: 5 }));
    const hitsOf = (n: number) => hooks.hits.filter((h) => h.path === '/signed' && bodyOf(h.body).offset === n).sort((a, b) => a.start - b.start);
    expect(hitsOf(4).length).toBe(1);
    expect(hitsOf(5).map((h) => h.status)).toEqual([500, 500, 500]);
    expect(hitsOf(1).map((h) => h.status)).toEqual([503, 503, 200]);
    // Retry-After: 1 honoured.
    const r429 = hitsOf(3);
    expect(r429.map((h) => h.status)).toEqual([429, 200]);
    expect(r429[1]!.start - r429[0]!.end).toBeGreaterThanOrEqual(950);
    // Signed, within the concurrency limit, and concurrency was used.
    expect(hooks.badSignatures).toEqual([]);
    expect(hooks.maxInFlightByPath.get('/signed')).toBeLessThanOrEqual(3);
    expect(hooks.maxInFlightByPath.get('/signed')).toBeGreaterThan(1);
    // The attempt log, per record.
    await pollUntil(async () => (await api('GET', '/v3/subscriptions/mixed/attempts?topic=orders-mixed&partition=0&offset=5')).body.data.length === 3, 5000);
    const log = (await api('GET', '/v3/subscriptions/mixed/attempts?topic=orders-mixed&partition=0&offset=5')).body.data;
    expect(log.map((a: any) => a.outcome).sort()).toEqual(['dead', 'retry', 'retry']);
    expect(log.every((a: any) => a.status === 500 && a.response === 'answer 500')).toBe(true);
    // Metrics.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('kafka_mysql_subscription_delivered_total{subscription="mixed"} 10');
    expect(metrics).toContain('kafka_mysql_subscription_failed_total{subscription="mixed"} 2');
    const described = (await api('GET', '/v3/subscriptions/mixed')).body;
    expect(described.records_dead_lettered).toBe(2);
    expect(described.secret_set).toBe(true);
    expect(described.secret).toBeUndefined();
    await pollUntil(async () => (await api('GET', '/v3/subscriptions/mixed')).body.partitions[0].committed_offset === kinds.length, 5000);
  });

  it('keeps order per key and never exceeds the concurrency and rate limits, measured at the endpoint', async () => {
    await topic('orders-keyed', 3);
    let n = 0;
    // Every third request fails once (503), so retries would reorder a key if ordering did not hold.
    decisions.set('/keyed', ({ attempt }) => (attempt === 1 && n++ % 3 === 0 ? { status: 503 } : { status: 200, delayMs: 20 }));
    await create('keyed', {
      topics: ['orders-keyed'],
      endpoint: { url: hooks.url('/keyed') },
      ordering: 'key',
      max_concurrency: 4,
      rate_limit_per_second: 25,
      retry: { initial_backoff_ms: 20, max_backoff_ms: 100 },
    });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const messages = Array.from({ length: 60 }, (_, i) => ({ key: keys[i % keys.length]!, value: JSON.stringify({ seq: Math.floor(i / keys.length) }) }));
    await producer.send({ topic: 'orders-keyed', messages });
    await pollUntil(() => hooks.delivered('/keyed').length >= 60, 30_000);
    const all = hooks.hits.filter((h) => h.path === '/keyed');
    expect(hooks.delivered('/keyed').length).toBe(60);
    for (const key of keys) {
      const hits = all.filter((h) => bodyOf(h.body).key === key).sort((a, b) => a.start - b.start);
      const ok = hits.filter((h) => h.status === 200).map((h) => (bodyOf(h.body).value as { seq: number }).seq);
      expect(ok).toEqual([...Array(10).keys()]);
      // No request of a key starts before the previous record of that key was answered 2xx.
      for (let i = 1; i < hits.length; i++) {
        const prevSeq = (bodyOf(hits[i]!.body).value as { seq: number }).seq - 1;
        const prevOk = hits.find((h) => h.status === 200 && (bodyOf(h.body).value as { seq: number }).seq === prevSeq);
        if (prevOk) expect(hits[i]!.start).toBeGreaterThanOrEqual(prevOk.end);
      }
    }
    expect(hooks.maxInFlightByPath.get('/keyed')).toBeLessThanOrEqual(4);
    // A token bucket of capacity 1 at 25/s: at most 26 starts in any second.
    expect(maxStartsInWindow(all, 1000)).toBeLessThanOrEqual(26);
    expect(all.length / ((all.at(-1)!.start - all[0]!.start) / 1000)).toBeLessThanOrEqual(27);
  });

  it('after: delivers a record only once the named subscription delivered it, and dead-letters what it dead-lettered', async () => {
    await topic('orders-chain', 2);
    await topic('orders-chain-dlt');
    const couponDone = new Map<string, number>();
    decisions.set('/coupon', ({ body, attempt }) => {
      const b = bodyOf(body);
      if ((b.value as { bad?: boolean }).bad) return { status: 400 };
      return attempt === 1 && b.offset % 2 === 0 ? { status: 500 } : { status: 200, delayMs: 30 };
    });
    decisions.set('/push', () => ({ status: 200 }));
    await create('coupon', { topics: ['orders-chain'], endpoint: { url: hooks.url('/coupon') }, ordering: 'none', retry: { initial_backoff_ms: 100, max_backoff_ms: 100 } });
    await create('push', { topics: ['orders-chain'], endpoint: { url: hooks.url('/push') }, ordering: 'none', after: 'coupon', dead_letter_topic: 'orders-chain-dlt' });
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `c${i}`, value: JSON.stringify({ i, bad: i === 7 }) }));
    await producer.send({ topic: 'orders-chain', messages });
    const dead = await readTopic('orders-chain-dlt', 1);
    await pollUntil(() => hooks.delivered('/push').length >= 29, 20_000);
    for (const h of hooks.delivered('/coupon')) couponDone.set(`${bodyOf(h.body).partition}:${bodyOf(h.body).offset}`, h.end);
    const pushes = hooks.hits.filter((h) => h.path === '/push');
    expect(pushes.length).toBe(29);
    for (const p of pushes) {
      const b = bodyOf(p.body);
      const done = couponDone.get(`${b.partition}:${b.offset}`);
      expect(done, `coupon delivered ${b.partition}:${b.offset} before push`).toBeDefined();
      expect(p.start).toBeGreaterThanOrEqual(done!);
    }
    expect(dead.length).toBe(1);
    expect(dead[0]!.headers.error).toBe('after: subscription coupon dead-lettered this record');
  });

  it('pause holds records, resume delivers them, retire stops for good, re-push delivers again', async () => {
    await topic('orders-states');
    decisions.set('/states', () => ({ status: 200 }));
    await create('states', { topics: ['orders-states'], endpoint: { url: hooks.url('/states') } });
    const send = (from: number, count: number) => producer.send({ topic: 'orders-states', messages: Array.from({ length: count }, (_, i) => ({ value: `v${from + i}` })) });
    await send(0, 5);
    await pollUntil(() => hooks.delivered('/states').length === 5, 10_000);
    expect((await api('POST', '/v3/subscriptions/states/pause')).body.state).toBe('paused');
    await send(5, 5);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooks.delivered('/states').length).toBe(5);
    expect((await api('GET', '/v3/subscriptions/states')).body.lag).toBe(5);
    expect((await api('POST', '/v3/subscriptions/states/resume')).body.state).toBe('active');
    await pollUntil(() => hooks.delivered('/states').length === 10, 10_000);
    // Re-push by offset range: offsets 1..3 once more.
    const r = await api('POST', '/v3/subscriptions/states/repush', { from_offset: 1, to_offset: 3 });
    expect(r.body.records_marked).toBe(3);
    await pollUntil(() => hooks.delivered('/states').length === 13, 10_000);
    const counts = new Map<number, number>();
    for (const h of hooks.delivered('/states')) counts.set(bodyOf(h.body).offset, (counts.get(bodyOf(h.body).offset) ?? 0) + 1);
    expect([...counts.entries()].sort((a, b) => a[0] - b[0])).toEqual([...Array(10).keys()].map((o) => [o, o >= 1 && o <= 3 ? 2 : 1]));
    expect((await api('POST', '/v3/subscriptions/states/retire')).body.state).toBe('retired');
    await send(10, 3);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooks.delivered('/states').length).toBe(13);
    const again = await api('POST', '/v3/subscriptions/states/resume');
    expect(again.status).toBe(409);
  });

  it('re-pushes what was dead-lettered since a time once the endpoint is fixed', async () => {
    await topic('orders-fixed');
    let broken = true;
    decisions.set('/fixed', () => ({ status: broken ? 422 : 200 }));
    await create('fixed', { topics: ['orders-fixed'], endpoint: { url: hooks.url('/fixed') } });
    const since = Date.now() - 1000;
    await producer.send({ topic: 'orders-fixed', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await pollUntil(async () => (await api('GET', '/v3/subscriptions/fixed')).body.records_dead_lettered === 3, 10_000);
    broken = false;
    const r = await api('POST', '/v3/subscriptions/fixed/repush', { dead_lettered_since: new Date(since).toISOString() });
    expect(r.body.records_marked).toBe(3);
    await pollUntil(() => hooks.delivered('/fixed').length === 3, 10_000);
    await pollUntil(async () => (await api('GET', '/v3/subscriptions/fixed')).body.records_dead_lettered === 0, 5000);
  });

  it('an endpoint that never answers times out and one that redirects in a loop fails at once', async () => {
    await topic('orders-bad');
    await topic('orders-bad-dlt');
    decisions.set('/never', () => ({ status: 200, never: true }));
    decisions.set('/loop', () => ({ status: 302, headers: { location: '/loop' } }));
    await create('never', { topics: ['orders-bad'], endpoint: { url: hooks.url('/never'), timeout_ms: 300 }, retry: { initial_backoff_ms: 50, max_attempts: 2 }, dead_letter_topic: 'orders-bad-dlt' });
    await create('loop', { topics: ['orders-bad'], endpoint: { url: hooks.url('/loop') }, dead_letter_topic: 'orders-bad-dlt' });
    await producer.send({ topic: 'orders-bad', messages: [{ value: 'x' }] });
    const dead = await readTopic('orders-bad-dlt', 2);
    const bySub = new Map(dead.map((d) => [d.headers.subscription, d.headers]));
    expect(bySub.get('never')!.error).toBe('timeout after 300 ms (2 attempts)');
    expect(bySub.get('loop')!.error).toBe('more than 3 redirects');
    expect(bySub.get('loop')!.attempts).toBe('1');
    // The first request and three redirects followed.
    expect(hooks.hits.filter((h) => h.path === '/loop').length).toBe(4);
    expect(hooks.hits.filter((h) => h.path === '/never').length).toBe(2);
  });

  it('refuses a missing topic, a bad definition and a taken name with clear errors', async () => {
    const missing = await api('POST', '/v3/subscriptions', { name: 'nope', topics: ['no-such-topic'], endpoint: { url: 'http://127.0.0.1:1/' } });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Topic no-such-topic does not exist (create the topic first)');
    const badUrl = await api('POST', '/v3/subscriptions', { name: 'bad', topics: ['orders-bad'], endpoint: { url: 'ftp://x/' } });
    expect(badUrl.status).toBe(422);
    expect(badUrl.body.message).toBe('endpoint.url must be an http or https URL');
    const badOrdering = await api('POST', '/v3/subscriptions', { name: 'bad', topics: ['orders-bad'], endpoint: { url: 'http://x/' }, ordering: 'random' });
    expect(badOrdering.body.message).toBe('ordering must be partition, key or none');
    const taken = await api('POST', '/v3/subscriptions', { name: 'loop', topics: ['orders-bad'], endpoint: { url: 'http://x/' } });
    expect(taken.status).toBe(409);
    expect((await api('GET', '/v3/subscriptions/nobody')).status).toBe(404);
  });

  it('the CLI creates, lists and describes (directly in MySQL) and the broker delivers', async () => {
    await topic('orders-cli', 2);
    decisions.set('/cli', () => ({ status: 200 }));
    const sets = ['--set', `mysql.url=${tb.mysqlUrl}`];
    const created = await runCli(['subscriptions', 'create', 'cli-sub', '--topic', 'orders-cli', '--url', hooks.url('/cli'), '--concurrency', '2', '--ordering', 'key', '--max-attempts', '4', '--after', 'keyed', '--dead-letter-topic', 'orders-bad-dlt', ...sets]);
    expect(created.stderr).toContain('does not subscribe to orders-cli');
    expect(created.code).toBe(2);
    const ok = await runCli(['subscriptions', 'create', 'cli-sub', '--topic', 'orders-cli', '--url', hooks.url('/cli'), '--concurrency', '2', '--ordering', 'key', '--max-attempts', '4', '--dead-letter-topic', 'orders-bad-dlt', '--json', ...sets]);
    expect(ok.code, ok.stderr).toBe(0);
    const def = JSON.parse(ok.stdout);
    expect([def.max_concurrency, def.ordering, def.retry.max_attempts, def.dead_letter_topic, def.state]).toEqual([2, 'key', 4, 'orders-bad-dlt', 'active']);
    const list = await runCli(['subscriptions', 'list', '--json', ...sets]);
    expect(JSON.parse(list.stdout).map((s: { name: string }) => s.name)).toContain('cli-sub');
    await producer.send({ topic: 'orders-cli', messages: [{ key: 'x', value: '1' }, { key: 'y', value: '2' }] });
    await pollUntil(() => hooks.delivered('/cli').length === 2, 10_000);
    const missing = await runCli(['subscriptions', 'create', 'cli-2', '--topic', 'nope', '--url', hooks.url('/cli'), ...sets]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Topic nope does not exist');
    await pollUntil(async () => (await runCli(['subscriptions', 'attempts', 'cli-sub', '--json', ...sets])).stdout.includes('"delivered"'), 5000);
  });
});
