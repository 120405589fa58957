/**
 * Bounded in-memory histories for the console's charts: the broker's throughput and error
 * counters sampled every 10 s for the last hour (360 samples), and the lag of the consumer
 * groups someone looked at in the console (each watched group for 10 minutes after its last
 * view, at most MAX_WATCHED groups, 720 samples each). Kept per broker and lost on restart:
 * a Prometheus server is the place for longer history.
 */
import type { BrokerMetrics } from '../metrics.js';

export class Ring<T> {
  private readonly items: T[] = [];
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }
  last(): T | undefined {
    return this.items[this.items.length - 1];
  }
  toArray(): T[] {
    return [...this.items];
  }
}

/** Running totals at one instant; the page turns consecutive samples into rates. */
export interface MetricsSample {
  t: number;
  producedBytes: number;
  producedBatches: number;
  fetchedBytes: number;
  requests: number;
  requestErrors: number;
  connections: number;
}

type Readable = { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number | undefined> }> }> };

async function total(metric: Readable): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((s, v) => s + v.value, 0);
}

/** Running totals per topic label (one number per topic this broker appended to). */
async function byTopic(metric: Readable): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await metric.get()).values) if (typeof v.labels.topic === 'string') out.set(v.labels.topic, (out.get(v.labels.topic) ?? 0) + v.value);
  return out;
}

export const METRICS_INTERVAL_MS = 10_000;

export class MetricsHistory {
  private readonly ring = new Ring<MetricsSample>(360);
  private timer: NodeJS.Timeout | null = null;
  /** Produced bytes per topic at the last two samples: the topic list's rates, nothing older. */
  private topicTotals: { t: number; bytes: Map<string, number> } | null = null;
  private topicRates = new Map<string, number>();

  constructor(
    private readonly metrics: BrokerMetrics,
    private readonly now: () => number,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), METRICS_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sample(): Promise<void> {
    const m = this.metrics;
    try {
      this.ring.push({
        t: this.now(),
        producedBytes: await total(m.producedBytes.metric),
        producedBatches: await total(m.producedBatches.metric),
        fetchedBytes: await total(m.fetchedBytes.metric),
        requests: await total(m.requests.metric),
        requestErrors: await total(m.requestErrors.metric),
        connections: await total(m.connections.metric),
      });
      const bytes = await byTopic(m.producedBytes.metric);
      const t = this.now();
      const previous = this.topicTotals;
      if (previous && t > previous.t) {
        const rates = new Map<string, number>();
        for (const [topic, b] of bytes) rates.set(topic, Math.max(0, (b - (previous.bytes.get(topic) ?? 0)) / ((t - previous.t) / 1000)));
        this.topicRates = rates;
      }
      this.topicTotals = { t, bytes };
    } catch {
      // A failed read leaves a gap in the chart, nothing more.
    }
  }

  /** Bytes per second appended to a topic through this broker between the last two samples (0 when none). */
  topicRate(topic: string): number {
    return this.topicRates.get(topic) ?? 0;
  }

  /** The samples, plus one taken now so the latest rate is current. */
  async read(): Promise<MetricsSample[]> {
    const last = this.ring.last();
    if (!last || this.now() - last.t >= 1000) await this.sample();
    return this.ring.toArray();
  }
}

export interface LagSample {
  t: number;
  total: number;
  /** "topic:partition" -> lag. */
  partitions: Record<string, number>;
}

const MAX_WATCHED = 50;
const WATCH_MS = 10 * 60_000;
const LAG_SAMPLES = 720;
/** Partitions kept per sample: a group over thousands of partitions still costs a bounded amount. */
const MAX_PARTITIONS_PER_SAMPLE = 64;
export const LAG_INTERVAL_MS = 5_000;

/** Lag over time of the groups viewed in the console. */
export class LagHistory {
  /** Per group: samples at least a second apart, and `latest`, a newer reading kept apart until a second has passed. */
  private readonly groups = new Map<string, { ring: Ring<LagSample>; latest: LagSample | null; until: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly readLag: (group: string) => Promise<Array<{ topic: string; partition: number; lag: number }>>,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sampleAll(), LAG_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts or extends watching a group; the oldest watched group makes room when full. */
  watch(group: string): void {
    const entry = this.groups.get(group);
    if (entry) {
      entry.until = this.now() + WATCH_MS;
      return;
    }
    if (this.groups.size >= MAX_WATCHED) {
      const oldest = [...this.groups.entries()].sort((a, b) => a[1].until - b[1].until)[0]!;
      this.groups.delete(oldest[0]);
    }
    this.groups.set(group, { ring: new Ring(LAG_SAMPLES), latest: null, until: this.now() + WATCH_MS });
  }

  /**
   * Records lag read at `takenAt` (a page view, or the sampler). The series keeps a point at most
   * every second, but its end is always the newest reading, so a chart never ends on a stale
   * value; a reading older than the newest one (a slow sampler finishing after a page view) is
   * dropped rather than appended out of order.
   */
  record(group: string, lags: Array<{ topic: string; partition: number; lag: number }>, takenAt = this.now()): void {
    const entry = this.groups.get(group);
    if (!entry) return;
    const newest = entry.latest ?? entry.ring.last();
    if (newest && takenAt < newest.t) return;
    const partitions: Record<string, number> = {};
    for (const l of [...lags].sort((a, b) => b.lag - a.lag).slice(0, MAX_PARTITIONS_PER_SAMPLE)) partitions[`${l.topic}:${l.partition}`] = l.lag;
    const sample = { t: takenAt, total: lags.reduce((s, l) => s + l.lag, 0), partitions };
    const last = entry.ring.last();
    if (last && takenAt - last.t < 1000) {
      entry.latest = sample;
      return;
    }
    entry.ring.push(sample);
    entry.latest = null;
  }

  history(group: string): LagSample[] {
    const entry = this.groups.get(group);
    if (!entry) return [];
    const samples = entry.ring.toArray();
    return entry.latest ? [...samples, entry.latest] : samples;
  }

  private async sampleAll(): Promise<void> {
    const now = this.now();
    for (const [group, entry] of [...this.groups]) {
      if (entry.until < now) {
        this.groups.delete(group);
        continue;
      }
      try {
        const takenAt = this.now();
        this.record(group, await this.readLag(group), takenAt);
      } catch {
        // The group is gone or this broker is not its coordinator any more: no sample.
      }
    }
  }
}
