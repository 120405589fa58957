import type { Logger } from 'pino';
import { ConfigResourceType } from '../../client/admin.js';
import { buildRecordBatch, type RecordInput } from '../../codec/records/records.js';
import type { OutboxRow, OutboxTable } from '../../storage/outbox/outbox-table.js';
import { partitionForKey } from '../http/murmur2.js';

/**
 * The outbox relay (docs/outbox.md): claims the oldest rows of an application's outbox table
 * (storage/outbox/outbox-table.ts), publishes them through the Kafka protocol (acks=all, so a
 * produce answered means committed in the broker's MySQL), then deletes them in the claim's
 * transaction. Each record carries the row's id in the message-id header, and its created_at
 * as timestamp; keyed rows go to Kafka's default partition for their key, keyless rows to
 * partition id mod partitions. Rows of one partition are produced in id order, one batch after
 * the other; different partitions at once.
 *
 * Crash windows: killed before producing, the claim's connection dies and MySQL rolls it back
 * (the rows are claimed again); killed after producing and before the DELETE committed, the
 * rows are published again by the next claim, and the topic's message-id deduplication
 * (message.id.header = the relay's header) drops them: exactly once needs that setting on
 * every topic the outbox writes to, and the relay warns once per topic without it.
 */
/** What the relay publishes through: a KafkaAdmin (the CLI, a broker of several) or the broker's own handlers (server/outbox/in-process.ts). */
export interface OutboxPublisher {
  produce(topic: string, partition: number, records: Buffer): Promise<void>;
  fetchTopicMetadata(topics: readonly string[]): Promise<Array<{ partitions: readonly unknown[] }>>;
  describeConfigs(resource: { type: number; name: string }, includeSynonyms: boolean): Promise<Array<{ name: string; value: string | null }>>;
}

export interface OutboxRelayOptions {
  /** Rows per claim. */
  batchSize: number;
  /** Header carrying the row id (the topics' message.id.header). */
  idHeader: string;
  /** Prepended to the row id (several outbox tables writing one topic). */
  idPrefix: string;
  /** Wait between claims when the table was empty or a claim failed. */
  pollIntervalMs: number;
  /** Most bytes of one produced batch (below the topics' max.message.bytes). */
  maxBatchBytes: number;
  logger: Logger;
}

export interface RelayStats {
  published: number;
  claims: number;
  failedClaims: number;
}

export class OutboxRelay {
  readonly stats: RelayStats = { published: 0, claims: 0, failedClaims: 0 };
  private readonly partitions = new Map<string, number>();
  private readonly checked = new Set<string>();

  constructor(
    private readonly table: OutboxTable,
    private readonly admin: OutboxPublisher,
    private readonly options: OutboxRelayOptions,
  ) {}

  /** Relays until `signal` aborts (the claim in progress finishes first). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let published = 0;
      try {
        published = await this.relayOnce();
      } catch (err) {
        this.stats.failedClaims++;
        this.logFailure((err as Error).message);
      }
      if (published === 0 && !signal.aborted) await sleep(this.options.pollIntervalMs, signal);
    }
  }

  private lastFailure = { message: '', at: 0, repeats: 0 };

  /**
   * A failed claim, logged when its reason changes and otherwise once a minute with the count of
   * repeats: a relay refused on every claim (a missing ACL, a missing topic) retries every poll
   * interval and would otherwise log several lines a second.
   */
  private logFailure(message: string): void {
    const now = Date.now();
    const last = this.lastFailure;
    if (message === last.message && now - last.at < FAILURE_LOG_INTERVAL_MS) {
      last.repeats++;
      return;
    }
    this.options.logger.warn({ err: message, table: this.table.table, ...(last.repeats > 0 ? { repeatedBefore: last.repeats } : {}) }, 'outbox claim failed; retrying');
    this.lastFailure = { message, at: now, repeats: 0 };
  }

  /** One claim: publishes and deletes up to batchSize rows; resolves how many. */
  async relayOnce(): Promise<number> {
    const claim = await this.table.claim(this.options.batchSize);
    if (claim === null) return 0;
    this.stats.claims++;
    try {
      await this.publish(claim.rows);
      await claim.complete();
    } catch (err) {
      await claim.release();
      this.partitions.clear();
      throw err;
    }
    this.stats.published += claim.rows.length;
    return claim.rows.length;
  }

  private async publish(rows: OutboxRow[]): Promise<void> {
    const byPartition = new Map<string, { topic: string; partition: number; rows: OutboxRow[] }>();
    for (const row of rows) {
      const count = await this.partitionCount(row.topic);
      const partition = row.key !== null ? partitionForKey(row.key, count) : Number(row.id % BigInt(count));
      const k = `${row.topic}\u0000${partition}`;
      let entry = byPartition.get(k);
      if (entry === undefined) byPartition.set(k, (entry = { topic: row.topic, partition, rows: [] }));
      entry.rows.push(row);
    }
    await Promise.all([...byPartition.values()].map((e) => this.publishPartition(e.topic, e.partition, e.rows)));
  }

  private async publishPartition(topic: string, partition: number, rows: OutboxRow[]): Promise<void> {
    let records: RecordInput[] = [];
    let bytes = 0;
    const flush = async () => {
      if (records.length === 0) return;
      await this.admin.produce(topic, partition, buildRecordBatch({ records }));
      records = [];
      bytes = 0;
    };
    for (const row of rows) {
      const size = (row.key?.length ?? 0) + (row.value?.length ?? 0) + 64 + row.headers.reduce((n, h) => n + h.key.length + h.value.length + 8, 0);
      if (bytes + size > this.options.maxBatchBytes) await flush();
      records.push({
        key: row.key,
        value: row.value,
        timestamp: BigInt(row.createdAtMs),
        headers: [...row.headers, { key: this.options.idHeader, value: `${this.options.idPrefix}${row.id}` }],
      });
      bytes += size;
    }
    await flush();
  }

  private async partitionCount(topic: string): Promise<number> {
    let n = this.partitions.get(topic);
    if (n !== undefined) return n;
    const [meta] = await this.admin.fetchTopicMetadata([topic]);
    n = meta?.partitions.length ?? 0;
    if (n === 0) throw new Error(`topic ${topic} does not exist (outbox rows for it wait until it does)`);
    this.partitions.set(topic, n);
    if (!this.checked.has(topic)) {
      this.checked.add(topic);
      const configs = await this.admin.describeConfigs({ type: ConfigResourceType.TOPIC, name: topic }, false);
      const header = configs.find((c) => c.name === 'message.id.header')?.value ?? '';
      if (header !== this.options.idHeader) {
        this.options.logger.warn(
          { topic, header: this.options.idHeader, configured: header },
          `topic ${topic} does not deduplicate by the relay's header: rows published again after a relay crash would be stored twice (set message.id.header=${this.options.idHeader})`,
        );
      }
    }
    return n;
  }
}

/** How often the same claim failure is logged again. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
