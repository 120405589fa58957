import { describe, expect, it } from 'vitest';
import { createBrokerMetrics, MetricsRegistry } from './metrics.js';

describe('Prometheus text rendering', () => {
  it('renders counters, gauges and histograms with escaped labels', async () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('requests_total', 'Requests.', ['api', 'version']);
    requests.inc({ api: 'Produce', version: 7 });
    requests.inc({ api: 'Produce', version: 7 }, 2);
    registry.gauge('open', 'Open things.').collect((g) => g.set(5));
    const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1], ['api']);
    latency.observe(0.05, { api: 'a"b' });
    latency.observe(0.5, { api: 'a"b' });
    expect(await registry.render()).toBe(
      [
        '# HELP requests_total Requests.',
        '# TYPE requests_total counter',
        'requests_total{api="Produce",version="7"} 3',
        '',
        '# HELP open Open things.',
        '# TYPE open gauge',
        'open 5',
        '',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="0.1",api="a\\"b"} 1',
        'latency_seconds_bucket{le="1",api="a\\"b"} 2',
        'latency_seconds_bucket{le="+Inf",api="a\\"b"} 2',
        'latency_seconds_sum{api="a\\"b"} 0.55',
        'latency_seconds_count{api="a\\"b"} 2',
        '',
      ].join('\n'),
    );
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('reads collected counters at scrape time, with and without labels', async () => {
    const registry = new MetricsRegistry();
    let total = 1;
    const byState = new Map([['a', 3]]);
    registry.counter('external_total', 'Kept elsewhere.').collect((c) => c.set(total));
    registry.counter('external_by_total', 'Kept elsewhere, by state.', ['state']).collect((c) => {
      for (const [state, n] of byState) c.set(n, { state });
    });
    expect(await registry.render()).toContain('external_total 1\n');
    expect(await registry.render()).toContain('external_by_total{state="a"} 3\n');
    total = 7;
    byState.set('a', 2).set('b', 9);
    const text = await registry.render();
    expect(text).toContain('external_total 7\n');
    expect(text).toContain('external_by_total{state="a"} 2\nexternal_by_total{state="b"} 9\n');
  });

  it('bound series: increments and observations show in the scrape and in metric.get(), added to unbound ones', async () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('requests_total', 'Requests.', ['api', 'version']);
    const produce = requests.bind({ api: 'Produce', version: 9 });
    produce.inc();
    produce.inc(2);
    requests.inc({ api: 'Produce', version: 9 });
    requests.bind({ api: 'Produce', version: 9 }).inc(); // the same series
    const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1], ['api']);
    const a = latency.bind({ api: 'a' });
    a.observe(0.05);
    a.observe(2);
    const text = await registry.render();
    expect(text).toContain('requests_total{api="Produce",version="9"} 5\n');
    expect(text).toContain('latency_seconds_bucket{le="0.1",api="a"} 1\nlatency_seconds_bucket{le="1",api="a"} 1\nlatency_seconds_bucket{le="+Inf",api="a"} 2\n');
    produce.inc(10);
    expect((await requests.metric.get()).values).toEqual([{ labels: { api: 'Produce', version: 9 }, value: 15 }]);
    // Read twice: nothing counted twice.
    expect(await registry.render()).toContain('requests_total{api="Produce",version="9"} 15\n');
    expect(() => requests.bind({ topic: 't' })).toThrow(/not included/);
  });

  it('refuses a label the metric was not declared with', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('x_total', 'X.', ['api']).inc({ topic: 't' })).toThrow(/not included/);
  });

  it("keeps two brokers' metrics apart and adds the process's metrics once", async () => {
    const a = createBrokerMetrics();
    const b = createBrokerMetrics();
    a.requests.inc({ api: 'Fetch', version: 12 });
    const textA = await a.registry.render();
    const textB = await b.registry.render();
    expect(textA).toContain('kafka_mysql_requests_total{api="Fetch",version="12"} 1\n');
    expect(textB).not.toContain('kafka_mysql_requests_total{api="Fetch"');
    for (const text of [textA, textB]) {
      expect(text.match(/^# TYPE process_cpu_seconds_total counter$/gm)).toHaveLength(1);
      expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram\n');
      expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge\n');
    }
    // A registry made without them has none.
    expect(await new MetricsRegistry().render()).not.toContain('process_');
  });
});
