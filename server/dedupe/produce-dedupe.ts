import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { readBatchInfo, type BatchInfo } from '../../codec/records/batch-header.js';
import { rewriteBatch } from '../../codec/records/compaction.js';
import { messageIdsOfBatch } from '../../codec/records/message-ids.js';
import { MAX_MESSAGE_ID_BYTES, type MessageIdStore } from '../../storage/dedupe/message-ids.js';
import type { AppendMessageIds } from '../../storage/dedupe/message-ids.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfig } from '../config/index.js';
import type { Counter, MetricsRegistry } from '../metrics.js';

/**
 * Per-topic message-id deduplication on the produce path (docs/outbox.md). Topics without
 * message.id.header return at the first check: nothing decoded, nothing looked up. For the
 * others each batch is decoded (decompressed if needed), the header's value read per record,
 * the ids accepted within message.id.dedupe.window.ms looked up in MySQL (every shard of the
 * topic), and those records removed from the batch (rewriteBatch: offsets and producer
 * sequences keep their place, as after compaction; a batch left empty is appended as Kafka's
 * empty batch, so an idempotent producer's sequence still advances). The remaining ids go to
 * the append, which stores them in its own group-commit transaction.
 *
 * Ids of appends still in flight on this broker are waited for before the lookup, so two
 * producers sending one id at once through one broker store it once. Through two brokers
 * the second INSERT fails on the primary key and its append is refused with a retriable
 * error; its retry then finds the id. Records without the header are appended as usual.
 */
export interface DedupedAppend {
  records: Buffer;
  batches: BatchInfo[];
  messageIds: AppendMessageIds | undefined;
  /** Records removed as already accepted. */
  dropped: number;
  /** Call when the append settled (either way): releases its ids for the waiting appends. */
  done(): void;
}

const NOTHING = (): void => {};

export class MessageIdDedupe {
  /** Ids (hex) per topic id of appends in flight on this broker, with a promise settled when the append is. */
  private readonly inFlight = new Map<string, Map<string, Promise<void>>>();
  private readonly lastTrim = new Map<string, number>();

  private readonly dropped: Counter | null;

  constructor(
    private readonly store: MessageIdStore,
    private readonly logger: Logger,
    registry: MetricsRegistry | null = null,
    private readonly trimIntervalMs = 60_000,
  ) {
    this.dropped = registry?.counter('kafka_mysql_deduplicated_records_total', 'Records acknowledged and not appended because their message id was accepted within the window (message.id.header), by topic.', ['topic']) ?? null;
  }

  /** The header name of a topic with deduplication, else null (the only cost for other topics). */
  static headerOf(topic: TopicRecord): string | null {
    const header = topic.configs['message.id.header'];
    return header === undefined || header === '' ? null : header;
  }

  async prepare(topic: TopicRecord, config: BrokerConfig, header: string, records: Buffer, batches: BatchInfo[], nowMs: number): Promise<DedupedAppend> {
    const windowMs = Number(effectiveTopicConfig('message.id.dedupe.window.ms', topic.configs, config).value);
    const maxBytes = Number(effectiveTopicConfig('max.message.bytes', topic.configs, config).value);
    const decoded = batches.map((b) => messageIdsOfBatch(records.subarray(b.position, b.position + b.size), header, { maxDecompressedBytes: Math.max(maxBytes * 64, 1 << 20) }));
    const all: Buffer[] = [];
    for (const d of decoded) {
      for (const id of d.ids) {
        if (id === null) continue;
        if (id.length > MAX_MESSAGE_ID_BYTES) throw new KafkaError(ErrorCode.INVALID_RECORD, `message id of ${id.length} bytes (header ${header}); at most ${MAX_MESSAGE_ID_BYTES}`);
        all.push(id);
      }
    }
    if (all.length === 0) return { records, batches, messageIds: undefined, dropped: 0, done: NOTHING };

    // Wait for appends in flight with the same ids, then claim ours.
    let flying = this.inFlight.get(topic.topicId);
    if (flying === undefined) this.inFlight.set(topic.topicId, (flying = new Map()));
    const hexes = all.map((id) => id.toString('hex'));
    for (;;) {
      const waits = hexes.map((h) => flying.get(h)).filter((w): w is Promise<void> => w !== undefined);
      if (waits.length === 0) break;
      await Promise.all(waits);
    }
    let release!: () => void;
    const settled = new Promise<void>((resolve) => (release = resolve));
    const claimed = new Set(hexes);
    for (const h of claimed) flying.set(h, settled);
    const done = () => {
      for (const h of claimed) if (flying.get(h) === settled) flying.delete(h);
      release();
    };

    try {
      const shards = [...new Set(topic.shardOfPartition)];
      const accepted = await this.store.accepted(topic.topicId, shards, all, nowMs - windowMs);
      this.maybeTrim(topic, shards, nowMs - windowMs, nowMs);
      const seen = new Set<string>();
      const out: Buffer[] = [];
      const ids: Buffer[] = [];
      const offsetDeltas: number[] = [];
      let dropped = 0;
      let base = 0;
      for (let bi = 0; bi < batches.length; bi++) {
        const b = batches[bi]!;
        const d = decoded[bi]!;
        const keep = d.ids.map((id, i) => {
          if (id === null) return true;
          const h = id.toString('hex');
          // Also drops the second of two records with one id in the same request.
          if (accepted.has(h) || seen.has(h)) return false;
          seen.add(h);
          ids.push(id);
          offsetDeltas.push(base + d.offsetDeltas[i]!);
          return true;
        });
        dropped += keep.filter((k) => !k).length;
        out.push(rewriteBatch(records.subarray(b.position, b.position + b.size), d.scanned, keep));
        base += b.lastOffsetDelta + 1;
      }
      const messageIds = ids.length > 0 ? { ids, offsetDeltas, windowMs } : undefined;
      if (dropped > 0) this.dropped?.inc({ topic: topic.name }, dropped);
      if (dropped === 0) return { records, batches, messageIds, dropped, done };
      const rebuilt = Buffer.concat(out);
      const infos: BatchInfo[] = [];
      for (let pos = 0; pos < rebuilt.length; ) {
        const info = readBatchInfo(rebuilt, pos);
        infos.push(info);
        pos += info.size;
      }
      return { records: rebuilt, batches: infos, messageIds, dropped, done };
    } catch (err) {
      done();
      throw err;
    }
  }

  /** Deletes the topic's expired ids at most once per trimIntervalMs, in the background. */
  private maybeTrim(topic: TopicRecord, shards: number[], beforeMs: number, nowMs: number): void {
    if (nowMs - (this.lastTrim.get(topic.topicId) ?? 0) < this.trimIntervalMs) return;
    this.lastTrim.set(topic.topicId, nowMs);
    this.store.trim(topic.topicId, shards, beforeMs).then(
      (n) => n > 0 && this.logger.debug({ topic: topic.name, trimmed: n }, 'expired message ids deleted'),
      (err: unknown) => this.logger.warn({ topic: topic.name, err: (err as Error).message }, 'trimming message ids failed'),
    );
  }
}
