/** Unit tests of the console's bounded histories, loopback check and static serving (no broker needed). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopicRecord } from '../../storage/types.js';
import { loadConfig } from '../config/index.js';
import { ANONYMOUS } from '../security/principal.js';
import type { ConsoleRequest } from './context.js';
import { LagHistory, Ring } from './history.js';
import { topicRoutes } from './routes-topics.js';
import { isLoopback, isLoopbackHost } from './index.js';
import { ConsoleFiles } from './static.js';

describe('Ring', () => {
  it('keeps the last `capacity` items in order', () => {
    const ring = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.last()).toBe(5);
  });
});

describe('LagHistory', () => {
  it('records watched groups only, points at least a second apart ending on the newest reading, the largest 64 partitions', () => {
    let now = 1_000_000;
    const history = new LagHistory(async () => [], () => now);
    history.record('unwatched', [{ topic: 't', partition: 0, lag: 5 }]);
    expect(history.history('unwatched')).toEqual([]);
    history.watch('g');
    const lags = Array.from({ length: 100 }, (_, p) => ({ topic: 't', partition: p, lag: p }));
    history.record('g', lags);
    const [sample] = history.history('g');
    expect(sample!.total).toBe(4950);
    expect(Object.keys(sample!.partitions)).toHaveLength(64);
    expect(sample!.partitions['t:99']).toBe(99);
    expect(sample!.partitions['t:35']).toBeUndefined();
    // Half a second later: not a new point, but the series ends on it (a chart never ends stale).
    now += 500;
    history.record('g', [{ topic: 't', partition: 0, lag: 7 }]);
    expect(history.history('g').map((s) => s.total)).toEqual([4950, 7]);
    now += 300;
    history.record('g', [{ topic: 't', partition: 0, lag: 0 }]);
    expect(history.history('g').map((s) => s.total)).toEqual([4950, 0]);
    // A reading taken before the newest one (a slow sampler finishing late) is dropped.
    history.record('g', [{ topic: 't', partition: 0, lag: 140 }], now - 100);
    expect(history.history('g').map((s) => s.total)).toEqual([4950, 0]);
    // A second after the last point: a new point.
    now += 700;
    history.record('g', [{ topic: 't', partition: 0, lag: 1 }]);
    expect(history.history('g').map((s) => s.total)).toEqual([4950, 1]);
    now += 1000;
    history.record('g', [{ topic: 't', partition: 0, lag: 2 }]);
    expect(history.history('g').map((s) => s.total)).toEqual([4950, 1, 2]);
  });

  it('watches at most 50 groups, dropping the one whose watch ends first', () => {
    let now = 0;
    const history = new LagHistory(async () => [], () => now);
    for (let i = 0; i < 51; i++) {
      now += 10;
      history.watch(`g${i}`);
      history.record(`g${i}`, [{ topic: 't', partition: 0, lag: i }]);
    }
    expect(history.history('g0')).toEqual([]);
    expect(history.history('g1')).toHaveLength(1);
    expect(history.history('g50')).toHaveLength(1);
  });
});

describe('isLoopback', () => {
  it('accepts 127.0.0.0/8 and ::1 (also IPv4-mapped), nothing else', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.127', '::ffff:10.0.0.1', 'fe80::1', '', undefined]) expect(isLoopback(a)).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it('accepts localhost, 127.x and [::1] with or without a port, nothing else', () => {
    for (const h of ['localhost', 'localhost:9404', '127.0.0.1:9404', '127.9.9.9', '[::1]:9404', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['evil.example:9404', '127.0.0.1.evil.example', '10.0.0.1:9404', '[fe80::1]:80', '', undefined]) expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('ConsoleFiles', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-files-'));
    writeFileSync(join(dir, 'index.html'), '<html>app</html>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    const files = new ConsoleFiles(dir);
    server = createServer((req, res) => files.serve(req, res, new URL(req.url!, 'http://x').pathname));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the built files with their type, index.html for other paths, 304 on a matching ETag', async () => {
    const js = await fetch(`${base}/console/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    for (const path of ['/console', '/console/', '/console/topics/orders', '/console/notes.txt']) {
      const r = await fetch(`${base}${path}`);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await r.text()).toBe('<html>app</html>');
    }
    const etag = js.headers.get('etag')!;
    const again = await fetch(`${base}/console/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answers 404 with a hint when the console was not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    const files = new ConsoleFiles(empty);
    expect(files.built).toBe(false);
    const bare = createServer((req, res) => files.serve(req, res, '/console/'));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const r = await fetch(`http://127.0.0.1:${(bare.address() as { port: number }).port}/console/`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('The console is not built: run npm run build\n');
    await new Promise((resolve) => bare.close(resolve));
    rmSync(empty, { recursive: true, force: true });
  });
});

describe('topic list', () => {
  it('pages and filters 10,000 topics on the server, one page of rows rendered', async () => {
    const topics: TopicRecord[] = Array.from({ length: 10_000 }, (_, i) => ({
      name: `t-${String(9_999 - i).padStart(5, '0')}`,
      topicId: `id${i}`,
      partitionCount: 3,
      configs: (i % 2 === 0 ? { 'cleanup.policy': 'compact' } : {}) as Record<string, string>,
      shardOfPartition: [0, 0, 0],
      isInternal: false,
    }));
    const config = loadConfig({ env: {}, overrides: {} });
    const route = topicRoutes.find((r) => r.method === 'GET' && r.path === '/console/api/topics')!;
    const ask = async (query: string) => {
      const r = {
        req: { socket: { remoteAddress: '127.0.0.1' } },
        params: {},
        query: new URLSearchParams(query),
        principal: ANONYMOUS,
        state: { deps: { broker: { catalog: { listTopics: () => topics }, config } }, metricsHistory: { topicRate: () => 0 } },
      } as unknown as ConsoleRequest;
      return (await route.handle(r)) as { total: number; topics: Array<{ name: string; cleanup_policy: string }> };
    };
    const started = performance.now();
    const page = await ask('offset=9950&limit=50');
    const ms = performance.now() - started;
    expect(page.total).toBe(10_000);
    expect(page.topics.map((t) => t.name)).toEqual(Array.from({ length: 50 }, (_, i) => `t-${String(9_950 + i).padStart(5, '0')}`));
    // Topic t-09999 is the first of the array (i = 0): compact.
    expect(page.topics[49]!.cleanup_policy).toBe('compact');
    const filtered = await ask('q=T-0012&limit=500');
    expect(filtered.total).toBe(10);
    expect(filtered.topics.map((t) => t.name)).toEqual(Array.from({ length: 10 }, (_, i) => `t-0012${i}`));
    process.stdout.write(`topic list: one page of 10,000 topics in ${ms.toFixed(1)} ms\n`);
  });
});
