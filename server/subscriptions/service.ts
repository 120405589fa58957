/**
 * The broker's push-subscription service (docs/subscriptions.md): every
 * subscriptions.poll.interval.ms it reads the definitions from MySQL and keeps one runner
 * (server/subscriptions/runner.ts) per active subscription, replaced when the definition's
 * version changes, stopped when the subscription is paused or retired. A runner that lost its
 * lease is stopped and started again, which waits until the lease is free.
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../../codec/error-codes.js';
import { createProduceRequest, type ProduceResponse } from '../../codec/generated/produce.js';
import { buildRecordBatch, type RecordInput } from '../../codec/records/records.js';
import type { StoredSubscription, SubscriptionStore } from '../../storage/subscriptions/store.js';
import type { LogManager, TopicCatalog } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import type { MetricsRegistry } from '../metrics.js';
import { readStoredSpec } from './definition.js';
import { createSubscriptionMetrics, type SubscriptionMetrics } from './metrics.js';
import { newOwner, SubscriptionRunner, type RunnerSettings } from './runner.js';

export interface SubscriptionServiceDeps {
  store: SubscriptionStore;
  catalog: TopicCatalog;
  logs: LogManager;
  leads(topicId: string, partition: number): boolean;
  /** Calls a Kafka API handler in-process (the dead-letter writes go through Produce, acks=all). */
  callApi<Res>(apiKey: number, request: unknown): Promise<Res>;
  registry: MetricsRegistry;
  logger: Logger;
  brokerId: number;
}

export function subscriptionSettings(config: BrokerConfig): RunnerSettings & { enabled: boolean } {
  return {
    enabled: config.get('subscriptions.enable') !== 'false',
    leaseMs: config.int('subscriptions.lease.ms'),
    pollMs: config.int('subscriptions.poll.interval.ms'),
    flushMs: config.int('subscriptions.commit.interval.ms'),
    windowRecords: config.int('subscriptions.max.read.ahead.records'),
  };
}

export class SubscriptionService {
  private readonly runners = new Map<string, SubscriptionRunner>();
  private known = new Map<string, StoredSubscription>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly owner: string;
  private readonly metrics: SubscriptionMetrics;

  constructor(
    private readonly deps: SubscriptionServiceDeps,
    private readonly settings: RunnerSettings,
  ) {
    this.owner = newOwner(deps.brokerId);
    this.metrics = createSubscriptionMetrics(deps.registry, () => [...this.runners.values()].map((r) => ({ name: r.name, retrying: r.retrying(), lag: r.lag(), inFlight: r.inFlightCount() })));
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sync()
        .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'reading subscriptions failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.settings.pollMs);
        });
    };
    tick();
  }

  private syncing: Promise<void> | null = null;
  private syncAgain = false;

  /**
   * Re-reads the definitions now (after a change through this broker's REST interface). One at a
   * time: a runner being replaced is stopped (its leases released) before its successor starts.
   */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain && !this.stopped);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const rows = await this.deps.store.list();
    this.known = new Map(rows.map((r) => [r.name, r]));
    for (const [name, runner] of this.runners) {
      const row = this.known.get(name);
      if (row === undefined || row.state !== 'active' || row.version !== runner.version || runner.lost) {
        this.runners.delete(name);
        await runner.stop();
      }
    }
    if (this.stopped) return;
    for (const row of rows) {
      if (row.state !== 'active' || this.runners.has(row.name)) continue;
      let spec;
      try {
        spec = readStoredSpec(row.spec);
      } catch (err) {
        this.deps.logger.error({ subscription: row.name, err: (err as Error).message }, 'unreadable subscription definition');
        continue;
      }
      const runner = new SubscriptionRunner(row.name, row.version, spec, {
        store: this.deps.store,
        catalog: this.deps.catalog,
        logs: this.deps.logs,
        leads: this.deps.leads,
        produce: (topic, partition, records) => this.produce(topic, partition, records),
        dependencyGone: (name) => {
          const dep = this.known.get(name);
          return dep === undefined || dep.state === 'retired';
        },
        metrics: this.metrics,
        logger: this.deps.logger,
        owner: this.owner,
        settings: this.settings,
      });
      this.runners.set(row.name, runner);
      runner.start();
    }
  }

  private async produce(topic: string, partition: number, records: RecordInput[]): Promise<void> {
    const request = createProduceRequest({ acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch({ records }) }] }] });
    const response = await this.deps.callApi<ProduceResponse>(0, request);
    const r = response.responses[0]?.partitionResponses[0];
    if (!r || r.errorCode !== ErrorCode.NONE) throw new Error(`produce to ${topic}-${partition} failed: ${r?.errorMessage ?? `error ${r?.errorCode ?? 'none'}`}`);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }
}
