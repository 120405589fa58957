import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './metrics.js';

describe('Prometheus text rendering', () => {
  it('renders counters, gauges and histograms with escaped labels', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('requests_total', 'Requests.');
    requests.inc({ api: 'Produce', version: 7 });
    requests.inc({ api: 'Produce', version: 7 }, 2);
    registry.gauge('open', 'Open things.').collect((g) => g.set(5));
    const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1]);
    latency.observe(0.05, { api: 'a"b' });
    latency.observe(0.5, { api: 'a"b' });
    expect(registry.render()).toBe(
      [
        '# HELP requests_total Requests.',
        '# TYPE requests_total counter',
        'requests_total{api="Produce",version="7"} 3',
        '# HELP open Open things.',
        '# TYPE open gauge',
        'open 5',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{api="a\\"b",le="0.1"} 1',
        'latency_seconds_bucket{api="a\\"b",le="1"} 2',
        'latency_seconds_bucket{api="a\\"b",le="+Inf"} 2',
        'latency_seconds_sum{api="a\\"b"} 0.55',
        'latency_seconds_count{api="a\\"b"} 2',
        '',
      ].join('\n'),
    );
  });

  it('reads collected counters at scrape time', () => {
    const registry = new MetricsRegistry();
    let total = 1;
    registry.counter('external_total', 'Kept elsewhere.').collect((c) => c.set(total));
    expect(registry.render()).toContain('external_total 1\n');
    total = 7;
    expect(registry.render()).toContain('external_total 7\n');
  });
});
