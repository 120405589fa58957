/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4). Kept in-process and allocation-light: label sets
 * are joined into one string key once per observation.
 */
type Labels = Record<string, string | number>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  abstract render(): string;
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  private readonly collectors: (() => void)[] = [];
  /** Reads a running total kept elsewhere (e.g. storage's commit statistics) at scrape time. */
  collect(fn: (counter: Counter) => void): this {
    this.collectors.push(() => fn(this));
    return this;
  }
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    for (const c of this.collectors) c();
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [key, value] of this.values) out += `${this.name}${key} ${value}\n`;
    return out;
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, number>();
  private readonly collectors: (() => void)[] = [];
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  /** Computes the value at scrape time. */
  collect(fn: (gauge: Gauge) => void): this {
    this.collectors.push(() => fn(this));
    return this;
  }
  render(): string {
    for (const c of this.collectors) c();
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [key, value] of this.values) out += `${this.name}${key} ${value}\n`;
    return out;
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels | undefined }>();
  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
  ) {
    super(name, help);
  }
  observe(value: number, labels?: Labels): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0, labels };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const s of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++) {
        out += `${this.name}_bucket${labelKey({ ...s.labels, le: this.buckets[i]! })} ${s.counts[i]}\n`;
      }
      out += `${this.name}_bucket${labelKey({ ...s.labels, le: '+Inf' })} ${s.count}\n`;
      out += `${this.name}_sum${labelKey(s.labels)} ${s.sum}\n${this.name}_count${labelKey(s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

/** The broker's own metrics. */
export function createBrokerMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    requests: registry.counter('kafka_mysql_requests_total', 'Requests handled, by API and version.'),
    requestErrors: registry.counter('kafka_mysql_request_errors_total', 'Requests that failed without a response, by API.'),
    requestSeconds: registry.histogram('kafka_mysql_request_duration_seconds', 'Time from a request frame to its response, by API.', [
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]),
    connections: registry.gauge('kafka_mysql_connections', 'Open client connections.'),
    connectionsClosed: registry.counter('kafka_mysql_connections_closed_total', 'Connections closed, by reason (client, protocol, idle, shutdown).'),
    producedBytes: registry.counter('kafka_mysql_produced_bytes_total', 'Record batch bytes appended, by topic.'),
    producedBatches: registry.counter('kafka_mysql_produced_batches_total', 'Record batches appended, by topic.'),
    fetchedBytes: registry.counter('kafka_mysql_fetched_bytes_total', 'Record batch bytes returned by Fetch, by topic.'),
  };
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;

/** What registerStorageMetrics reads; narrow so metrics.ts does not depend on storage's classes. */
export interface StorageMetricsSource {
  logs: {
    totalCommitStats(): { transactions: number; failedTransactions: number; appends: number; batches: number; bytes: number };
    tailCacheBytes(): number;
    loadedLogs(): unknown[];
  };
}

/** Metrics read at scrape time from storage's and the group coordinator's own counters. */
export function registerStorageMetrics(
  metrics: BrokerMetrics,
  storage: StorageMetricsSource,
  groups: { groupCountsByState(): Map<string, number> },
): void {
  const { registry } = metrics;
  const stat = (name: string, help: string, read: (s: ReturnType<StorageMetricsSource['logs']['totalCommitStats']>) => number) =>
    registry.counter(name, help).collect((c) => c.set(read(storage.logs.totalCommitStats())));
  stat('kafka_mysql_group_commit_transactions_total', 'MySQL transactions committed by group commit.', (s) => s.transactions);
  stat('kafka_mysql_group_commit_failed_transactions_total', 'Group-commit transactions that failed (rolled back).', (s) => s.failedTransactions);
  stat('kafka_mysql_group_commit_appends_total', 'Partition appends committed (one per partition per produce request).', (s) => s.appends);
  stat('kafka_mysql_group_commit_bytes_total', 'Record batch bytes committed to MySQL.', (s) => s.bytes);
  registry.gauge('kafka_mysql_tail_cache_bytes', 'Bytes of recent batches held in memory for tail reads.').collect((g) => g.set(storage.logs.tailCacheBytes()));
  registry.gauge('kafka_mysql_partitions_loaded', 'Partition logs loaded by this broker.').collect((g) => g.set(storage.logs.loadedLogs().length));
  registry.gauge('kafka_mysql_consumer_groups', 'Consumer groups held by the coordinator, by state.').collect((g) => {
    for (const state of ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable']) g.set(0, { state });
    for (const [state, count] of groups.groupCountsByState()) g.set(count, { state });
  });
}
