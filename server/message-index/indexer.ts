import type { Logger } from 'pino';
import { ATTRIBUTES, CONTROL_FLAG, LAST_OFFSET_DELTA } from '../../codec/records/batch-header.js';
import { decodeBatchRecords } from '../../codec/records/records.js';
import type { IndexEntry, MessageIndexStore } from '../../storage/message-index/index-store.js';
import type { LogManager, TopicCatalog, TopicRecord } from '../../storage/types.js';

/**
 * The broker's message indexer (docs/outbox.md "Finding messages"): every interval, for each
 * topic with message.index.enable=true and each partition this broker leads, reads the
 * committed batches after the partition's indexed end (up to the high watermark, at most
 * `maxBytesPerPass` per partition), decodes them, and writes key hash, message id and timestamp
 * per record with the new end in one transaction (storage/message-index/index-store.ts).
 * Runs beside the produce path, never in it; the index lags the log by up to one interval plus
 * the time of a pass. Entries below the log start offset are deleted when it moves.
 */
export interface IndexerDeps {
  catalog: TopicCatalog;
  logs: LogManager;
  store: MessageIndexStore;
  /** Whether this broker leads the partition (one broker: always). */
  leads(topicId: string, partition: number): boolean;
  logger: Logger;
}

export function indexed(topic: TopicRecord): boolean {
  return topic.configs['message.index.enable'] === 'true';
}

export class MessageIndexer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly trimmedAt = new Map<string, bigint>();
  /** Records indexed since start (tests, logs). */
  indexedRecords = 0;

  constructor(
    private readonly deps: IndexerDeps,
    private readonly intervalMs: number,
    private readonly maxBytesPerPass = 4 << 20,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'message index pass failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every indexed topic's led partitions; resolves how many records it indexed. */
  async pass(): Promise<number> {
    let n = 0;
    for (const topic of this.deps.catalog.listTopics()) {
      if (!indexed(topic)) continue;
      const header = topic.configs['message.id.header'] || null;
      for (let p = 0; p < topic.partitionCount; p++) {
        if (this.stopped) return n;
        if (!this.deps.leads(topic.topicId, p)) continue;
        n += await this.indexPartition(topic, p, header);
      }
    }
    this.indexedRecords += n;
    return n;
  }

  private async indexPartition(topic: TopicRecord, partition: number, header: string | null): Promise<number> {
    const shard = topic.shardOfPartition[partition] ?? 0;
    const log = await this.deps.logs.getLog(topic.topicId, partition);
    const logStart = log.logStartOffset();
    const k = `${topic.topicId}:${partition}`;
    if ((this.trimmedAt.get(k) ?? -1n) < logStart) {
      await this.deps.store.trim(shard, topic.topicId, partition, logStart);
      this.trimmedAt.set(k, logStart);
    }
    let from = await this.deps.store.progress(shard, topic.topicId, partition);
    if (from < logStart) from = logStart;
    const hw = log.highWatermark();
    if (from >= hw) return 0;
    const { batches } = await log.read(from, this.maxBytesPerPass, { maxOffset: hw, minOneBatch: true });
    const entries: IndexEntry[] = [];
    let next = from;
    for (const b of batches) {
      const last = b.readBigInt64BE(0) + BigInt(b.readInt32BE(LAST_OFFSET_DELTA));
      if (last + 1n > next) next = last + 1n;
      if ((b.readInt16BE(ATTRIBUTES) & CONTROL_FLAG) !== 0) continue;
      for (const r of decodeBatchRecords(b)) {
        if (r.offset < from) continue;
        const id = header === null ? null : (r.headers.find((h) => h.key === header)?.value ?? null);
        entries.push({ offset: r.offset, timestampMs: r.timestamp, key: r.key, messageId: id });
      }
    }
    if (next === from) return 0;
    await this.deps.store.write(shard, topic.topicId, partition, entries, next);
    // Deleted during this pass: its entries were dropped before this write, drop them again.
    if (this.deps.catalog.getTopicById(topic.topicId) === undefined) await this.deps.store.dropTopic([shard], topic.topicId);
    return entries.length;
  }
}
