/**
 * Delivery of one push subscription by this broker (docs/subscriptions.md). It first takes the
 * subscription's lease (one broker delivers a subscription at a time, so its concurrency and
 * rate limits hold across the cluster), then each source partition's lease (an epoch bumped on
 * every change of owner fences the progress writes of a previous owner). Leases are renewed
 * every third of subscriptions.lease.ms; a delivery starts only when it would time out before the
 * lease runs out, so after a broker's death another broker takes over with no delivery of that
 * broker still running (a stopped, not dead, broker: see the document).
 *
 * One loop (pump) starts deliveries while fewer than max_concurrency are in flight and the rate
 * limit's token bucket (capacity 1) has a token, taking records round-robin over the partitions.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KafkaRecord, RecordInput } from '../../codec/records/records.js';
import type { AttemptRow, SubscriptionStore } from '../../storage/subscriptions/store.js';
import type { LogManager, PartitionLog, TopicCatalog } from '../../storage/types.js';
import { partitionForKey } from '../http/murmur2.js';
import { Deliverer, secretKey, webhookHeaders, type DeliveryOutcome } from './deliver.js';
import type { SubscriptionSpec } from './definition.js';
import type { SubscriptionMetrics } from './metrics.js';
import { PartitionWorker, readCommittedRecords, type Task } from './partition-worker.js';

export interface RunnerSettings {
  leaseMs: number;
  pollMs: number;
  flushMs: number;
  /** Most records read ahead per partition. */
  windowRecords: number;
}

export interface RunnerDeps {
  store: SubscriptionStore;
  catalog: TopicCatalog;
  logs: LogManager;
  /** Whether this broker leads the partition (reads as a follower otherwise). */
  leads(topicId: string, partition: number): boolean;
  /** Produces records to a topic partition (acks=all); throws on failure. */
  produce(topic: string, partition: number, records: RecordInput[]): Promise<void>;
  /** The `after:` subscription is gone or retired (its rule no longer applies). */
  dependencyGone(name: string): boolean;
  metrics: SubscriptionMetrics;
  logger: Logger;
  owner: string;
  settings: RunnerSettings;
}

const jitter = () => 0.5 + Math.random() * 0.5;

export class SubscriptionRunner {
  private readonly workers = new Map<string, PartitionWorker>();
  private readonly deliverer: Deliverer;
  private readonly key: Buffer | null;
  /** subscriptions.lease.ms, or longer for a long endpoint timeout (a delivery must fit in two thirds of a lease). */
  private readonly leaseMs: number;
  private inFlight = 0;
  private readonly inFlightDone = new Set<() => void>();
  private tokens = 1;
  private tokensAt = Date.now();
  private stopped = false;
  private leaseUntil = 0;
  private holdsSubscription = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private pumpTimer: NodeJS.Timeout | null = null;
  private pumpQueued = false;
  private attempts: AttemptRow[] = [];
  private loop: Promise<void> | null = null;
  private rr = 0;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly spec: SubscriptionSpec,
    private readonly deps: RunnerDeps,
  ) {
    this.deliverer = new Deliverer(spec.maxConcurrency);
    this.key = spec.secret === null ? null : secretKey(spec.secret);
    this.leaseMs = Math.max(deps.settings.leaseMs, 2 * spec.endpoint.timeoutMs + 3000);
  }

  start(): void {
    this.loop = this.run().catch((err: unknown) => this.deps.logger.error({ err, subscription: this.name }, 'subscription runner failed'));
  }

  /** Stops starting deliveries, waits for those in flight, writes progress and releases the leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    while (this.inFlight > 0) await new Promise<void>((r) => this.inFlightDone.add(r));
    await this.loop;
    try {
      await this.flush();
      if (this.holdsSubscription) await this.deps.store.release(this.name, this.deps.owner);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, subscription: this.name }, 'final subscription progress write failed');
    }
    for (const w of this.workers.values()) w.unsubscribe?.();
    this.deliverer.close();
  }

  lag(): number {
    let lag = 0;
    for (const w of this.workers.values()) {
      lag += Math.max(0, Number((this.ends.get(`${w.topic.topicId}:${w.partition}`) ?? w.committed) - w.committed));
    }
    return lag;
  }

  inFlightCount(): number {
    return this.inFlight;
  }

  retrying(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.retrying();
    return n;
  }

  private readonly ends = new Map<string, bigint>();

  private async run(): Promise<void> {
    const s = this.deps.settings;
    // Take the subscription's lease, then as many partition leases as are free; retry the rest.
    while (!this.stopped) {
      try {
        await this.acquire();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, subscription: this.name }, 'taking subscription leases failed');
      }
      if (this.holdsSubscription) break;
      await sleep(s.pollMs);
    }
    if (this.stopped) return;
    this.timers.push(setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3))));
    this.timers.push(setInterval(() => void this.flush().catch((err: unknown) => this.warn('progress write failed', err)), s.flushMs));
    this.timers.push(setInterval(() => void this.poll().catch((err: unknown) => this.warn('subscription poll failed', err)), s.pollMs));
    await this.poll().catch((err: unknown) => this.warn('subscription poll failed', err));
  }

  private warn(msg: string, err: unknown): void {
    this.deps.logger.warn({ err: (err as Error).message, subscription: this.name }, msg);
  }

  private async acquire(): Promise<void> {
    const before = Date.now();
    if (!this.holdsSubscription) {
      if (!(await this.deps.store.acquireSubscription(this.name, this.deps.owner, this.leaseMs))) return;
      this.holdsSubscription = true;
      this.leaseUntil = before + this.leaseMs;
      this.deps.logger.info({ subscription: this.name, owner: this.deps.owner }, 'delivering subscription');
    }
    for (const topicName of this.spec.topics) {
      const topic = this.deps.catalog.getTopic(topicName);
      if (topic === undefined) continue;
      for (let p = 0; p < topic.partitionCount; p++) {
        const k = `${topic.topicId}:${p}`;
        if (this.workers.has(k) || this.stopped) continue;
        const log = await this.deps.logs.getLog(topic.topicId, p);
        const lease = await this.deps.store.acquirePartition(this.name, topic.topicId, p, this.deps.owner, this.leaseMs, log.logStartOffset());
        if (lease === null) continue;
        const w = new PartitionWorker(topic, p, lease.epoch, lease.committed, this.name, this.spec, this.deps.store, this.deps.owner);
        await w.init();
        this.deps.logger.info({ subscription: this.name, topic: topic.name, partition: p, epoch: lease.epoch, committed: String(lease.committed) }, 'subscription partition lease taken');
        w.unsubscribe = log.onAppend(() => this.fillSoon(w));
        this.workers.set(k, w);
      }
    }
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const before = Date.now();
    const expected = 1 + this.workers.size;
    try {
      const held = await this.deps.store.renew(this.name, this.deps.owner, this.leaseMs);
      if (held < expected) {
        // A lease expired before this renewal (a long pause): another broker may have it now.
        this.deps.logger.error({ subscription: this.name, held, expected }, 'subscription lease lost; stopping its deliveries');
        this.leaseUntil = 0;
        this.stopped = true;
        return;
      }
      this.leaseUntil = before + this.leaseMs;
    } catch (err) {
      this.warn('lease renewal failed', err);
    }
  }

  /** True while this broker may still start deliveries (lost: the engine restarts the runner). */
  get alive(): boolean {
    return !this.stopped || this.inFlight > 0;
  }

  get lost(): boolean {
    return this.stopped && this.leaseUntil === 0;
  }

  private filling = new Set<PartitionWorker>();

  private fillSoon(w: PartitionWorker): void {
    if (this.stopped || this.filling.has(w)) return;
    this.filling.add(w);
    void this.fill(w)
      .catch((err: unknown) => this.warn('reading a partition failed', err))
      .finally(() => this.filling.delete(w));
  }

  private async fill(w: PartitionWorker): Promise<void> {
    const log = await this.deps.logs.getLog(w.topic.topicId, w.partition);
    const follower = !this.deps.leads(w.topic.topicId, w.partition);
    this.ends.set(`${w.topic.topicId}:${w.partition}`, log.highWatermark());
    while (!this.stopped && (await w.fill(log, (from, max) => readCommittedRecords(log, from, max, follower), this.deps.settings.windowRecords))) this.pump();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    if (this.workers.size < this.partitionCount()) await this.acquire();
    const now = Date.now();
    for (const [k, w] of this.workers) {
      if (this.stopped) return;
      // A deleted source topic: its partitions are forgotten (the leases stay until they expire).
      if (this.deps.catalog.getTopicById(w.topic.topicId) === undefined) {
        w.unsubscribe?.();
        this.workers.delete(k);
        continue;
      }
      const log = await this.deps.logs.getLog(w.topic.topicId, w.partition);
      const follower = !this.deps.leads(w.topic.topicId, w.partition);
      await w.loadExtras(log, (o) => readOne(log, o, follower), now, this.deps.settings.pollMs, 1000);
      await w.refreshDependency(now, Math.min(200, this.deps.settings.pollMs));
      await w.trim(log.logStartOffset(), now, 60_000);
      this.fillSoon(w);
    }
    this.pump();
  }

  private partitionCount(): number {
    let n = 0;
    for (const t of this.spec.topics) n += this.deps.catalog.getTopic(t)?.partitionCount ?? 0;
    return n;
  }

  /** Starts what may start now; coalesced to one run per turn of the event loop. */
  private pump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pumpNow();
    });
  }

  private pumpNow(): void {
    if (this.stopped) return;
    const now = Date.now();
    // A delivery must end (time out) before the lease could pass to another broker.
    if (now + this.spec.endpoint.timeoutMs + 1000 > this.leaseUntil) return this.pumpLater(200);
    const workers = [...this.workers.values()].filter((w) => !w.lost);
    if (workers.length === 0) return;
    const gone = this.spec.after !== null && this.deps.dependencyGone(this.spec.after);
    let idle = 0;
    while (this.inFlight < this.spec.maxConcurrency && idle < workers.length) {
      const w = workers[this.rr++ % workers.length]!;
      const next = w.next(now, gone);
      if (next === null) {
        idle++;
        continue;
      }
      idle = 0;
      if (next.dependencyDead) {
        next.task.state = 'inflight';
        next.task.lastError = `after: subscription ${this.spec.after} dead-lettered this record`;
        next.task.lastStatus = null;
        this.inFlight++;
        void this.deadLetter(w, next.task).finally(() => this.release());
        continue;
      }
      if (!this.takeToken(now)) return this.pumpLater(Math.ceil(1000 / (this.spec.rateLimit ?? 1)));
      next.task.state = 'inflight';
      this.inFlight++;
      void this.attempt(w, next.task).finally(() => this.release());
    }
    let at: number | null = null;
    for (const w of workers) {
      const r = w.nextRetryAt(now);
      if (r !== null && r > now && (at === null || r < at)) at = r;
    }
    if (at !== null) this.pumpLater(at - now);
  }

  private pumpLater(ms: number): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      this.pump();
    }, Math.max(1, ms));
  }

  private takeToken(now: number): boolean {
    const rate = this.spec.rateLimit;
    if (rate === null) return true;
    this.tokens = Math.min(1, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private release(): void {
    this.inFlight--;
    for (const r of this.inFlightDone) r();
    this.inFlightDone.clear();
    this.pump();
  }

  private async attempt(w: PartitionWorker, t: Task): Promise<void> {
    const started = Date.now();
    t.firstMs ??= started;
    t.attempts++;
    t.rev++;
    t.dirty = true;
    const id = `${this.name}:${w.topic.name}:${w.partition}:${t.offset}`;
    const { body, headers } = this.render(w, t.record, id, started);
    const out: DeliveryOutcome = await this.deliverer.deliver(this.spec.endpoint, headers, body);
    const ended = Date.now();
    const latency = ended - started;
    this.deps.metrics.latency.observe(latency / 1000, { subscription: this.name });
    t.lastStatus = out.status;
    let outcome: string;
    if (out.kind === 'delivered') {
      outcome = 'delivered';
      t.lastError = null;
      w.finish(t, 'delivered');
      this.deps.metrics.delivered.inc({ subscription: this.name });
    } else {
      t.lastError = out.error;
      const r = this.spec.retry;
      const backoff = Math.min(r.maxBackoffMs, r.initialBackoffMs * r.multiplier ** (t.attempts - 1)) * jitter();
      const delay = out.kind === 'retry' ? Math.max(backoff, out.retryAfterMs ?? 0) : 0;
      const tooOld = ended + delay - t.firstMs > r.maxAgeMs;
      if (out.kind === 'retry' && t.attempts < r.maxAttempts && !tooOld) {
        outcome = 'retry';
        t.state = 'waiting';
        t.nextMs = ended + Math.ceil(delay);
        w.retryScheduled();
        t.rev++;
        t.dirty = true;
      } else {
        outcome = 'dead';
        if (out.kind === 'retry') t.lastError = `${out.error} (${t.attempts >= r.maxAttempts ? `${t.attempts} attempts` : `older than ${r.maxAgeMs} ms`})`;
      }
    }
    this.deps.metrics.attempts.inc({ subscription: this.name, outcome });
    this.attempts.push({
      subscription: this.name,
      topicId: w.topic.topicId,
      partition: w.partition,
      offset: t.offset,
      attempt: t.attempts,
      startedMs: started,
      latencyMs: latency,
      status: out.status,
      outcome,
      error: out.kind === 'delivered' ? null : t.lastError,
      response: out.excerpt,
      owner: this.deps.owner,
    });
    if (outcome === 'dead') await this.deadLetter(w, t);
  }

  /** Writes the record to the dead-letter topic (if any) with its last error, then marks it dead. */
  private async deadLetter(w: PartitionWorker, t: Task): Promise<void> {
    const dlt = this.spec.deadLetterTopic;
    for (let wait = 200; dlt !== null; wait = Math.min(wait * 2, 10_000)) {
      if (this.stopped) {
        // Not written: the record stays unfinished and is handled again by the next owner.
        t.state = 'waiting';
        return;
      }
      try {
        const topic = this.deps.catalog.getTopic(dlt);
        if (topic === undefined) throw new Error(`dead-letter topic ${dlt} does not exist`);
        const r = t.record;
        let partition = r.key !== null ? partitionForKey(r.key, topic.partitionCount) : w.partition % topic.partitionCount;
        // Several brokers: appended through this broker's Produce handler, so to a partition it leads.
        if (!this.deps.leads(topic.topicId, partition)) {
          const led = [...Array(topic.partitionCount).keys()].filter((p) => this.deps.leads(topic.topicId, p));
          if (led.length > 0) partition = led[Number(t.offset % BigInt(led.length))]!;
        }
        const headers = [
          ...r.headers,
          { key: 'subscription', value: this.name },
          { key: 'source-topic', value: w.topic.name },
          { key: 'source-partition', value: String(w.partition) },
          { key: 'source-offset', value: String(t.offset) },
          { key: 'error', value: t.lastError ?? 'unknown' },
          { key: 'last-status', value: t.lastStatus === null ? '' : String(t.lastStatus) },
          { key: 'attempts', value: String(t.attempts) },
        ];
        await this.deps.produce(dlt, partition, [{ key: r.key, value: r.value, headers, timestamp: r.timestamp }]);
        break;
      } catch (err) {
        this.warn('writing to the dead-letter topic failed; retrying', err);
        await sleep(wait);
      }
    }
    w.finish(t, 'dead');
    this.deps.metrics.deadLettered.inc({ subscription: this.name });
  }

  private render(w: PartitionWorker, r: KafkaRecord, id: string, now: number): { body: Buffer; headers: Record<string, string> } {
    let body: Buffer;
    const headers: Record<string, string> = {};
    if (this.spec.bodyFormat === 'raw') {
      body = r.value ?? Buffer.alloc(0);
      if (!Object.keys(this.spec.endpoint.headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/octet-stream';
      headers['kafka-topic'] = w.topic.name;
      headers['kafka-partition'] = String(w.partition);
      headers['kafka-offset'] = String(r.offset);
      headers['kafka-timestamp'] = String(r.timestamp);
      if (r.key !== null) headers['kafka-key-base64'] = r.key.toString('base64');
    } else {
      const key = embed(r.key);
      const value = embed(r.value);
      body = Buffer.from(
        JSON.stringify({
          subscription: this.name,
          topic: w.topic.name,
          partition: w.partition,
          offset: Number(r.offset),
          timestamp: Number(r.timestamp),
          key: key.data,
          key_encoding: key.encoding,
          value: value.data,
          value_encoding: value.encoding,
          headers: r.headers.map((h) => ({ name: h.key, value: h.value === null ? null : h.value.toString('utf8') })),
        }),
      );
      headers['content-type'] = 'application/json';
    }
    return { body, headers: { ...headers, ...webhookHeaders(id, body, this.key, now) } };
  }

  /** Writes every partition's progress (fenced) and the attempt log. */
  private flushing: Promise<void> | null = null;

  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const attempts = this.attempts;
    this.attempts = [];
    if (attempts.length > 0) {
      try {
        await this.deps.store.insertAttempts(attempts);
      } catch (err) {
        this.attempts = [...attempts, ...this.attempts].slice(-100_000);
        throw err;
      }
    }
    for (const [k, w] of this.workers) {
      if (w.lost) continue;
      const full = w.windowSize() >= this.deps.settings.windowRecords;
      if (!(await w.flush())) {
        this.deps.logger.error({ subscription: this.name, topic: w.topic.name, partition: w.partition }, 'partition lease lost (fenced); its deliveries stop here');
        this.workers.delete(k);
        this.stopped = true;
        this.leaseUntil = 0;
      } else if (full && w.windowSize() < this.deps.settings.windowRecords) {
        // The write dropped finished records from a full window: read on now, not at the next poll.
        this.fillSoon(w);
      }
    }
  }
}

function embed(b: Buffer | null): { data: unknown; encoding: string | null } {
  if (b === null) return { data: null, encoding: null };
  const text = b.toString('utf8');
  if (Buffer.byteLength(text) !== b.length || text.includes('\uFFFD')) return { data: b.toString('base64'), encoding: 'base64' };
  try {
    return { data: JSON.parse(text), encoding: 'json' };
  } catch {
    return { data: text, encoding: 'string' };
  }
}

async function readOne(log: PartitionLog, offset: bigint, follower: boolean): Promise<KafkaRecord | null> {
  try {
    const { records } = await readCommittedRecords(log, offset, 1, follower);
    return records.find((r) => r.offset === offset) ?? null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A process-unique lease owner: the broker id and a random suffix (a restarted broker is a new owner). */
export function newOwner(brokerId: number): string {
  return `broker-${brokerId}-${randomBytes(6).toString('hex')}`;
}
