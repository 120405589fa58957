/**
 * Prometheus metrics on prom-client: the broker's counters, gauges and histograms in a registry
 * of their own (one per broker, so several brokers in one process stay apart), plus Node's
 * process and runtime metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * nodejs_eventloop_lag_seconds, nodejs_heap_*, nodejs_gc_duration_seconds, ...) from one
 * process-wide registry, since they describe the process, not a broker. Rendered in the text
 * exposition format (version 0.0.4). The thin classes here keep the call shapes the broker
 * uses (`inc(labels, by)`, `set(value, labels)`, `observe(value, labels)`) and the counters
 * whose totals are kept elsewhere and read at scrape time (`collect`).
 */
import * as prom from 'prom-client';

type Labels = Record<string, string | number>;

/** One series of a counter, for hot paths (see Counter.bind). */
export interface BoundCounter {
  inc(by?: number): void;
}

export class Counter {
  private readonly collectors: (() => void)[] = [];
  /** Series from bind(), by their labels: increments added up here, handed to prom-client when read. */
  private readonly bound = new Map<string, { labels: Labels; pending: number }>();
  readonly metric: prom.Counter;
  constructor(registry: prom.Registry, name: string, help: string, labelNames: readonly string[]) {
    const collectors = this.collectors;
    const bound = this.bound;
    const collect = () => {
      for (const series of bound.values()) {
        if (series.pending === 0) continue;
        this.metric.inc(series.labels, series.pending);
        series.pending = 0;
      }
      collectors.forEach((c) => c());
    };
    this.metric = new prom.Counter({ name, help, labelNames, registers: [registry], collect });
  }
  /**
   * The series of `labels`, for a hot path: an increment is an addition (prom-client hashes the
   * labels on every inc, about 0.5 µs), the total is handed to prom-client whenever the metric is
   * read (a scrape, metric.get()), so readers see the same values. One per label set (the same
   * object for equal labels): bind label values that are bounded, as every label must be.
   */
  bind(labels: Labels): BoundCounter {
    const key = JSON.stringify(labels);
    let series = this.bound.get(key);
    if (!series) {
      this.metric.inc(labels, 0); // validates the labels now and shows the series from the start, as inc would
      series = { labels, pending: 0 };
      this.bound.set(key, series);
    }
    const s = series;
    return {
      inc: (by = 1) => {
        s.pending += by;
      },
    };
  }
  /** Reads a running total kept elsewhere (e.g. storage's commit statistics) at scrape time. */
  collect(fn: (counter: Counter) => void): this {
    this.collectors.push(() => fn(this));
    return this;
  }
  /** Sets a total read from elsewhere (prom-client counters only go up, so: reset, then add). */
  set(value: number, labels?: Labels): void {
    if (labels) {
      this.metric.remove(labels);
      this.metric.inc(labels, value);
    } else {
      this.metric.reset();
      this.metric.inc(value);
    }
  }
  inc(labels?: Labels, by = 1): void {
    if (labels) this.metric.inc(labels, by);
    else this.metric.inc(by);
  }
}

export class Gauge {
  private readonly collectors: (() => void)[] = [];
  readonly metric: prom.Gauge;
  constructor(registry: prom.Registry, name: string, help: string, labelNames: readonly string[]) {
    const collectors = this.collectors;
    this.metric = new prom.Gauge({ name, help, labelNames, registers: [registry], collect: () => collectors.forEach((c) => c()) });
  }
  set(value: number, labels?: Labels): void {
    if (labels) this.metric.set(labels, value);
    else this.metric.set(value);
  }
  /** Computes the value at scrape time. */
  collect(fn: (gauge: Gauge) => void): this {
    this.collectors.push(() => fn(this));
    return this;
  }
}

export class Histogram {
  readonly metric: prom.Histogram;
  constructor(registry: prom.Registry, name: string, help: string, buckets: readonly number[], labelNames: readonly string[]) {
    this.metric = new prom.Histogram({ name, help, labelNames, buckets: [...buckets], registers: [registry] });
  }
  observe(value: number, labels?: Labels): void {
    if (labels) this.metric.observe(labels, value);
    else this.metric.observe(value);
  }
  /** The series of `labels` (prom-client's child: the labels are checked once, half the cost of observe with labels). */
  bind(labels: Labels): { observe(value: number): void } {
    return this.metric.labels(labels);
  }
}

let processRegistry: prom.Registry | undefined;

/** Node's default metrics, collected once per process however many brokers it runs. */
function processMetrics(): prom.Registry {
  if (!processRegistry) {
    processRegistry = new prom.Registry();
    prom.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsRegistryOptions {
  /** Also render Node's process, event-loop, heap and GC metrics. Default false. */
  processMetrics?: boolean;
}

export class MetricsRegistry {
  private readonly registry = new prom.Registry();
  private readonly process: prom.Registry | undefined;
  /** The Content-Type of render()'s text. */
  readonly contentType = this.registry.contentType;

  constructor(options: MetricsRegistryOptions = {}) {
    this.process = options.processMetrics ? processMetrics() : undefined;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter(this.registry, name, help, labelNames);
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return new Gauge(this.registry, name, help, labelNames);
  }
  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
    return new Histogram(this.registry, name, help, buckets, labelNames);
  }
  /** Prometheus text: this registry's metrics, then the process's when enabled. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    return this.process ? `${own}\n${await this.process.metrics()}` : own;
  }
}

/** The broker's own metrics. */
export function createBrokerMetrics(registry = new MetricsRegistry({ processMetrics: true })) {
  return {
    registry,
    requests: registry.counter('kafka_mysql_requests_total', 'Requests handled, by API and version.', ['api', 'version']),
    requestErrors: registry.counter('kafka_mysql_request_errors_total', 'Requests that failed without a response, by API.', ['api']),
    requestSeconds: registry.histogram(
      'kafka_mysql_request_duration_seconds',
      'Time from a request frame to its response, by API.',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ['api'],
    ),
    connections: registry.gauge('kafka_mysql_connections', 'Open client connections.'),
    connectionsClosed: registry.counter('kafka_mysql_connections_closed_total', 'Connections closed, by reason (client, protocol, idle, shutdown, limit: refused by max.connections or max.connections.per.ip).', ['reason']),
    producedBytes: registry.counter('kafka_mysql_produced_bytes_total', 'Record batch bytes appended, by topic.', ['topic']),
    producedBatches: registry.counter('kafka_mysql_produced_batches_total', 'Record batches appended, by topic.', ['topic']),
    fetchedBytes: registry.counter('kafka_mysql_fetched_bytes_total', 'Record batch bytes returned by Fetch, by topic.', ['topic']),
    groupCommitSeconds: registry.histogram(
      'kafka_mysql_group_commit_seconds',
      'Phases of committed group-commit transactions: queued (oldest append waiting in its lane), insert (BEGIN to the INSERTs answered), wait (in-transaction checks, waiting for the previous transaction of the lane), commit (COMMIT sent to answered).',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ['phase'],
    ),
  };
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;

/** A group-commit transaction's phases in seconds (storage's TransactionTiming, narrowed). */
export interface GroupCommitTiming {
  queued: number;
  insert: number;
  wait: number;
  commit: number;
  committed: boolean;
}

/**
 * The storage observer feeding kafka_mysql_group_commit_seconds. Only committed transactions
 * are observed (failed ones are counted by kafka_mysql_group_commit_failed_transactions_total
 * and their phases end early); the labelled series are bound once, so a transaction costs four
 * bucket updates.
 */
export function groupCommitObserver(metrics: BrokerMetrics): (timing: GroupCommitTiming) => void {
  const h = metrics.groupCommitSeconds;
  const queued = h.bind({ phase: 'queued' });
  const insert = h.bind({ phase: 'insert' });
  const wait = h.bind({ phase: 'wait' });
  const commit = h.bind({ phase: 'commit' });
  return (t) => {
    if (!t.committed) return;
    queued.observe(t.queued);
    insert.observe(t.insert);
    wait.observe(t.wait);
    commit.observe(t.commit);
  };
}

/** What registerStorageMetrics reads; narrow so metrics.ts does not depend on storage's classes. */
export interface StorageMetricsSource {
  logs: {
    totalCommitStats(): { transactions: number; failedTransactions: number; appends: number; batches: number; bytes: number };
    tailCacheBytes(): number;
    loadedLogs(): unknown[];
  };
  /** Servers with replicas (storage/replication/). */
  replication?: {
    failoverStats(): { failovers: number; lastFailoverMs: number };
    semiSyncStats(): { confirmed: number; unconfirmed: number };
    topology(): Array<{ name: string; epoch: number; switches: number; replicas: string[]; fenced: string[] }>;
    status(): Promise<Array<{ name: string; replicas: Array<{ address: string; lagSeconds: number | null }> }>>;
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
  const repl = storage.replication;
  if (repl) {
    registry.counter('kafka_mysql_mysql_failovers_total', 'MySQL replicas promoted to primary by this broker.').collect((c) => c.set(repl.failoverStats().failovers));
    registry.gauge('kafka_mysql_mysql_last_failover_seconds', 'How long the last promotion took, from the decision to the repointed pools.').collect((g) => g.set(repl.failoverStats().lastFailoverMs / 1000));
    // Every broker, not only the one that promoted: the shard epoch it writes under and the switches it applied.
    const replicated = () => repl.topology().filter((g) => g.replicas.length > 0 || g.fenced.length > 0 || g.epoch > 0);
    registry.gauge('kafka_mysql_mysql_shard_epoch', 'Shard epoch of each MySQL server group with replicas as this broker uses it (bumped by every promotion).', ['group']).collect((g) => {
      for (const t of replicated()) g.set(t.epoch, { group: t.name });
    });
    registry.counter('kafka_mysql_mysql_primary_switches_total', 'Primary switches this broker applied to its pools, by server group (its own promotions and the ones it followed).', ['group']).collect((c) => {
      for (const t of replicated()) c.set(t.switches, { group: t.name });
    });
    registry.counter('kafka_mysql_semi_sync_confirmed_commits_total', 'Commits of acks=-1 appends needing a replica that a replica confirmed.').collect((c) => c.set(repl.semiSyncStats().confirmed));
    registry.counter('kafka_mysql_semi_sync_unconfirmed_commits_total', 'Commits of acks=-1 appends needing a replica that no replica confirmed (NOT_ENOUGH_REPLICAS_AFTER_APPEND).').collect((c) => c.set(repl.semiSyncStats().unconfirmed));
    // Lag from each replica's SHOW SLAVE STATUS, read every 10 s (scrapes are synchronous).
    let lags: Array<{ server: string; replica: string; lag: number }> = [];
    const refresh = () =>
      void repl.status().then(
        (groups) => (lags = groups.flatMap((g) => g.replicas.map((r) => ({ server: g.name, replica: r.address, lag: r.lagSeconds ?? -1 })))),
        () => undefined,
      );
    refresh();
    setInterval(refresh, 10_000).unref();
    registry
      .gauge('kafka_mysql_mysql_replica_lag_seconds', 'Seconds_Behind_Master of each MySQL replica (-1: not replicating or not reachable), read every 10 s.', ['server', 'replica'])
      .collect((g) => {
        for (const l of lags) g.set(l.lag, { server: l.server, replica: l.replica });
      });
  }
  registry.gauge('kafka_mysql_consumer_groups', 'Consumer groups held by the coordinator, by state.', ['state']).collect((g) => {
    for (const state of ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable']) g.set(0, { state });
    for (const [state, count] of groups.groupCountsByState()) g.set(count, { state });
  });
}
