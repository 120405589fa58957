import type { Logger } from 'pino';
import { buildRecordBatch, type RecordInput } from '../../codec/records/records.js';
import { parseRecordBatches } from '../../codec/records/validate.js';
import type { DelayedStore, DeliveredId, DueClaim, HeldRecord } from '../../storage/delayed/delayed-store.js';
import type { LogManager, TopicCatalog, TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfig } from '../config/index.js';
import type { Counter, Histogram, MetricsRegistry } from '../metrics.js';
import { delayedEnabled, type DueListener } from './produce-hold.js';

/**
 * The broker's delivery of held records (docs/delayed.md). For each partition of a topic with
 * delayed.delivery.enable that this broker leads (the leader is the only one that may append:
 * one broker delivers a partition, and a new leader resumes), it keeps only the earliest due
 * time in memory and sleeps until then. When a partition is due it claims up to `pageSize` due
 * rows by index (DelayedStore.claimDue, rows locked), appends them as one batch (or several,
 * under max.message.bytes) with their message ids in the same transaction (message_ids, as
 * deduplication), then moves them to delayed_done; ids that message_ids already holds (the
 * broker died between the append and that move) are moved without appending again. So each
 * record is appended once while its id is remembered (retention), at least once in any case.
 * Memory is one page per partition being delivered, whatever is pending.
 *
 * Held records reach the scheduler through `held` (produce on this broker) and a rescan every
 * `rescanMs` of the partitions led and their earliest due time (leadership changes, records
 * held by a former leader). Delivered records take the delivery time as timestamp and keep
 * their headers (deliver-at and message-id included).
 */
export interface SchedulerDeps {
  catalog: TopicCatalog;
  logs: LogManager;
  store: DelayedStore;
  config: BrokerConfig;
  leads(topicId: string, partition: number): boolean;
  leaderEpochOf(topicId: string, partition: number): number;
  logger: Logger;
  registry?: MetricsRegistry | null;
  now?: () => number;
}

export interface SchedulerOptions {
  pageSize: number;
  rescanMs: number;
  /** Partitions delivered at once. */
  concurrency: number;
  /** Claim a partition's next page while its previous one appends (delayed.delivery.pipeline). */
  pipeline?: boolean;
}

interface PartitionState {
  topicId: string;
  partition: number;
  /** Earliest due time held; null: none; undefined: not known yet (read at the next pass). */
  nextDue: number | null | undefined;
  busy: boolean;
}

const DAY_MS = 86_400_000;

export class DelayedScheduler implements DueListener {
  private readonly parts = new Map<string, PartitionState>();
  private timer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastRescan = 0;
  private readonly lastTrim = new Map<string, number>();
  private readonly now: () => number;
  private readonly delivered: Counter | null;
  private readonly lateness: Histogram | null;
  /** Records appended since start (tests, logs). */
  deliveredRecords = 0;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly options: SchedulerOptions,
  ) {
    this.now = deps.now ?? Date.now;
    this.delivered = deps.registry?.counter('kafka_mysql_delayed_delivered_total', 'Held records appended to their topic when due, by topic.', ['topic']) ?? null;
    this.lateness =
      deps.registry?.histogram('kafka_mysql_delayed_lateness_seconds', 'Time from a held record\'s due time to its append.', [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300]) ?? null;
  }

  start(): void {
    this.wake(0);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  held(topicId: string, partition: number, dueMs: number): void {
    const k = `${topicId}:${partition}`;
    const s = this.parts.get(k);
    if (s === undefined) this.parts.set(k, { topicId, partition, nextDue: dueMs, busy: false });
    else if (s.nextDue !== undefined && (s.nextDue === null || dueMs < s.nextDue)) s.nextDue = dueMs;
    this.wake(dueMs - this.now());
  }

  /** Runs a pass in `delayMs` (or sooner if one is already set). */
  private wake(delayMs: number): void {
    if (this.stopped) return;
    const at = this.now() + Math.max(0, delayMs);
    if (this.running !== null) {
      if (at <= this.now()) this.again = true;
      else if (at < this.wakeAt) this.arm(at);
      return;
    }
    if (at < this.wakeAt) this.arm(at);
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wakeAt = Infinity;
      this.tick();
    }, Math.max(0, at - this.now()));
  }

  private tick(): void {
    if (this.stopped || this.running !== null) return;
    this.again = false;
    this.running = this.pass()
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'delayed delivery pass failed'))
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        if (this.again) return this.wake(0);
        let next = this.lastRescan + this.options.rescanMs;
        for (const s of this.parts.values()) if (s.nextDue !== null && s.nextDue !== undefined && s.nextDue < next) next = s.nextDue;
        this.wake(next - this.now());
      });
  }

  /** One pass: refresh the partitions led (every rescanMs), then deliver every due one. */
  async pass(): Promise<void> {
    const now = this.now();
    if (now - this.lastRescan >= this.options.rescanMs) {
      this.lastRescan = now;
      this.rescan();
    }
    const due: PartitionState[] = [];
    for (const s of this.parts.values()) if (!s.busy && (s.nextDue === undefined || (s.nextDue !== null && s.nextDue <= now))) due.push(s);
    // A fixed number of partitions at once; each finishes its due pages before the next starts.
    let i = 0;
    const worker = async () => {
      while (i < due.length && !this.stopped) await this.deliverPartition(due[i++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, due.length) }, worker));
  }

  private rescan(): void {
    const seen = new Set<string>();
    for (const topic of this.deps.catalog.listTopics()) {
      if (!delayedEnabled(topic)) continue;
      for (let p = 0; p < topic.partitionCount; p++) {
        if (!this.deps.leads(topic.topicId, p)) continue;
        const k = `${topic.topicId}:${p}`;
        seen.add(k);
        const s = this.parts.get(k);
        // Re-read the earliest due time: records another broker held before this one led.
        if (s === undefined) this.parts.set(k, { topicId: topic.topicId, partition: p, nextDue: undefined, busy: false });
        else if (!s.busy) s.nextDue = undefined;
      }
      this.maybeTrim(topic);
    }
    for (const k of this.parts.keys()) if (!seen.has(k)) this.parts.delete(k);
  }

  private async deliverPartition(s: PartitionState): Promise<void> {
    const topic = this.deps.catalog.getTopicById(s.topicId);
    if (topic === undefined || !this.deps.leads(s.topicId, s.partition)) {
      this.parts.delete(`${s.topicId}:${s.partition}`);
      return;
    }
    const shard = topic.shardOfPartition[s.partition] ?? 0;
    s.busy = true;
    // One page at a time unless delayed.delivery.pipeline: claiming the next page while a full one
    // appended (a second claim from a free slot) measured from 0.3 s to 7 s p99 at 10,000 due/s on
    // the loaded VM, against 0.7-1.6 s for one at a time (docs/benchmarks.md), so it is off by
    // default until that spread is understood.
    let inflight: Promise<void> | null = null;
    let appended: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        if (this.stopped) break;
        if (inflight !== null && this.options.pipeline !== true) {
          await inflight;
          inflight = null;
        }
        const t = this.now();
        const claim = await this.withSlot(() => this.deps.store.claimDue(shard, s.topicId, s.partition, this.now(), this.options.pageSize), inflight !== null);
        if (claim) this.steps.claim += this.now() - t;
        if (claim === undefined) {
          // No spare slot for a second claim: let the page in flight finish first.
          await inflight;
          inflight = null;
          continue;
        }
        if (claim === null) {
          if (inflight === null) break;
          // Rows may have fallen due while the page in flight appended: look again once it is done.
          await inflight;
          inflight = null;
          continue;
        }
        const prev = inflight;
        const page = this.deliverPage(topic, s.partition, claim, appended);
        appended = page.appended;
        inflight = page.done;
        if (prev !== null) await prev;
        if (claim.rows.length < this.options.pageSize) break;
      }
      if (inflight !== null) await inflight;
      inflight = null;
      const next = await this.deps.store.nextDue(shard, s.topicId, s.partition);
      // A record held meanwhile (held() while busy) may be earlier than what the query saw.
      if (s.nextDue === undefined || s.nextDue === null || next === null || next < s.nextDue || s.nextDue <= this.now()) s.nextDue = next;
    } catch (err) {
      if (inflight !== null) await (inflight as Promise<void>).catch(() => undefined);
      // Left held; tried again shortly (a lock conflict, a leadership change, MySQL unavailable).
      s.nextDue = this.now() + 200;
      this.deps.logger.warn({ topic: topic.name, partition: s.partition, err: (err as Error).message }, 'delayed delivery failed; retrying');
    } finally {
      s.busy = false;
    }
  }

  private slotsUsed = 0;
  private readonly slotWaiters: Array<() => void> = [];

  /**
   * Runs `claim` holding one of `concurrency` slots until the claim settles. A partition's second
   * claim (`optional`) is only taken when a slot is free (undefined otherwise), so a partition
   * never waits for a slot while holding one (no deadlock between partitions).
   */
  private async withSlot<T extends { finished: Promise<void> } | null>(claim: () => Promise<T>, optional: boolean): Promise<T | undefined> {
    if (this.slotsUsed >= this.options.concurrency) {
      if (optional) return undefined;
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    } else this.slotsUsed++;
    const release = () => {
      const w = this.slotWaiters.shift();
      if (w) w();
      else this.slotsUsed--;
    };
    try {
      const c = await claim();
      if (c === null) release();
      else void c.finished.then(release, release);
      return c;
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Appends (after `prevAppended`, so the log keeps claim order) and settles one claimed page.
   * `appended` settles once its records are in the log (or it failed: the next page then aborts).
   */
  private deliverPage(topic: TopicRecord, partition: number, claim: DueClaim, prevAppended: Promise<void>): { appended: Promise<void>; done: Promise<void> } {
    const t0 = this.now();
    const fresh: HeldRecord[] = [];
    const delivered: DeliveredId[] = [];
    for (const r of claim.rows) {
      const offset = claim.alreadyAppended.get(r.messageId.toString('hex'));
      if (offset === undefined) fresh.push(r);
      else delivered.push({ messageId: r.messageId, offset });
    }
    const appended = (async () => {
      await prevAppended;
      const t1 = this.now();
      if (fresh.length > 0) delivered.push(...(await this.append(topic, partition, fresh)));
      this.steps.wait += t1 - t0;
      this.steps.append += this.now() - t1;
    })();
    const done = (async () => {
      try {
        await appended;
        const t2 = this.now();
        await claim.finish(delivered, this.now());
        const settledAt = this.now();
        this.steps.finish += settledAt - t2;
        this.steps.pages++;
        this.steps.rows += claim.rows.length;
        this.deliveredRecords += fresh.length;
        this.delivered?.inc({ topic: topic.name }, fresh.length);
        for (const r of fresh) this.lateness?.observe(Math.max(0, settledAt - r.dueMs) / 1000);
        this.maybeLogSteps();
      } catch (err) {
        await claim.abort().catch(() => undefined);
        throw err;
      }
    })();
    // Observed by the partition's loop; marked handled here so a failure is not reported twice.
    appended.catch(() => undefined);
    done.catch(() => undefined);
    return { appended, done };
  }

  /** Milliseconds spent per step since the last log line (debug): where a page's time goes. */
  private steps = { pages: 0, rows: 0, claim: 0, wait: 0, append: 0, finish: 0, since: 0 };

  private maybeLogSteps(): void {
    const now = this.now();
    if (this.steps.since === 0) this.steps.since = now;
    if (now - this.steps.since < 10_000) return;
    const { pages, rows, claim, wait, append, finish } = this.steps;
    const per = (ms: number) => Math.round((ms / Math.max(1, pages)) * 10) / 10;
    this.deps.logger.debug({ pages, rows, claimMs: per(claim), waitMs: per(wait), appendMs: per(append), finishMs: per(finish) }, 'delayed delivery: mean time per page by step');
    this.steps = { pages: 0, rows: 0, claim: 0, wait: 0, append: 0, finish: 0, since: now };
  }

  /** Appends the records (batches under max.message.bytes) with their ids; returns each id's offset. */
  private async append(topic: TopicRecord, partition: number, rows: HeldRecord[]): Promise<DeliveredId[]> {
    const config = this.deps.config;
    const maxBytes = Number(effectiveTopicConfig('max.message.bytes', topic.configs, config).value);
    const logAppendTime = effectiveTopicConfig('message.timestamp.type', topic.configs, config).value === 'LogAppendTime';
    const windowMs = Number(effectiveTopicConfig('message.id.dedupe.window.ms', topic.configs, config).value);
    const log = await this.deps.logs.getLog(topic.topicId, partition);
    const out: DeliveredId[] = [];
    const timestamp = BigInt(this.now());
    for (let start = 0; start < rows.length; ) {
      let bytes = 100;
      let end = start;
      while (end < rows.length) {
        const r = rows[end]!;
        const size = 30 + (r.key?.length ?? 0) + (r.value?.length ?? 0) + r.headers.reduce((a, h) => a + h.key.length + (h.value?.length ?? 0) + 8, 0);
        if (end > start && bytes + size > maxBytes) break;
        bytes += size;
        end++;
      }
      const chunk = rows.slice(start, end);
      const inputs: RecordInput[] = chunk.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp }));
      const batch = buildRecordBatch({ records: inputs });
      const infos = parseRecordBatches(batch, { maxBatchBytes: Math.max(maxBytes, batch.length), singleBatch: true });
      const result = await log.append(batch, infos, {
        logAppendTime,
        leaderEpoch: this.deps.leaderEpochOf(topic.topicId, partition),
        retainable: true,
        messageIds: { ids: chunk.map((r) => r.messageId), offsetDeltas: chunk.map((_, i) => i), windowMs },
      });
      chunk.forEach((r, i) => out.push({ messageId: r.messageId, offset: result.baseOffset + BigInt(i) }));
      start = end;
    }
    return out;
  }

  /** Forgets the topic's delivered/cancelled ids past its retention (7 days when retention is unlimited), hourly. */
  private maybeTrim(topic: TopicRecord): void {
    const now = this.now();
    if (now - (this.lastTrim.get(topic.topicId) ?? 0) < 3_600_000) return;
    this.lastTrim.set(topic.topicId, now);
    const retention = Number(effectiveTopicConfig('retention.ms', topic.configs, this.deps.config).value);
    const keepMs = retention < 0 ? 7 * DAY_MS : retention;
    this.deps.store.trimDone(topic.shardOfPartition, topic.topicId, now - keepMs).then(
      (n) => n > 0 && this.deps.logger.debug({ topic: topic.name, trimmed: n }, 'delivered delayed ids forgotten'),
      (err: unknown) => this.deps.logger.warn({ topic: topic.name, err: (err as Error).message }, 'trimming delivered delayed ids failed'),
    );
  }
}
