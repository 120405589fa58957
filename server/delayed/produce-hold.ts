import { ErrorCode } from '../../codec/error-codes.js';
import type { ProduceResponse } from '../../codec/generated/produce.js';
import { ATTRIBUTES, COMPRESSION_MASK, readBatchInfo, type BatchInfo } from '../../codec/records/batch-header.js';
import { rewriteBatch } from '../../codec/records/compaction.js';
import { headeredRecordsOfBatch } from '../../codec/records/headered-records.js';
import { MAX_DELAYED_ID_BYTES, type DelayedStore, type HeldRecord } from '../../storage/delayed/delayed-store.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { effectiveTopicConfig } from '../config/index.js';
import type { Counter, MetricsRegistry } from '../metrics.js';

/**
 * Delayed delivery on the produce path (docs/delayed.md). Only topics with
 * delayed.delivery.enable=true come here (one config lookup for the others). For those, an
 * uncompressed batch whose bytes contain neither header name is appended as is; any other
 * batch is decoded and each record looked at:
 * - `deliver-at` (epoch ms, decimal) with `message-id`: held in MySQL until due (DelayedStore,
 *   the partition's shard) and removed from the batch;
 * - `cancel-message-id`: cancels that held message and is removed from the batch (not stored).
 * Everything is checked before anything is written: a bad deliver-at, a missing or too long
 * message id, a due time more than delayed.delivery.max.ms ahead, or these headers in a
 * transactional batch answer INVALID_RECORD with per-record errors and nothing is held,
 * cancelled or appended. Cancels run next; one that finds its message delivered or unknown
 * answers INVALID_RECORD (record errors say which) and the batch's other records are not
 * written. Then the held records are committed, and only then is the rest appended.
 *
 * A batch left empty is still appended (Kafka's empty batch, offsets left as gaps) when it
 * comes from an idempotent producer, so its sequence numbers go on; otherwise nothing is
 * appended and the response's base offset is -1 (the records have no offset until delivered).
 */
export const DELIVER_AT_HEADER = 'deliver-at';
export const MESSAGE_ID_HEADER = 'message-id';
export const CANCEL_HEADER = 'cancel-message-id';

const DELIVER_AT_BYTES = Buffer.from(DELIVER_AT_HEADER);
const CANCEL_BYTES = Buffer.from(CANCEL_HEADER);

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export interface HoldOutcome {
  /** What is left to append; null: nothing (every record held or a cancel, non-idempotent producer). */
  records: Buffer | null;
  batches: BatchInfo[];
}

export interface DueListener {
  /** A record of the partition was held with this due time. */
  held(topicId: string, partition: number, dueMs: number): void;
}

export function delayedEnabled(topic: TopicRecord): boolean {
  return topic.configs['delayed.delivery.enable'] === 'true';
}

/** Parses a deliver-at value: epoch ms as a decimal string. */
export function parseDeliverAt(value: Buffer | string | null): number | null {
  const s = value === null ? '' : value.toString();
  if (!/^\d{1,15}$/.test(s)) return null;
  return Number(s);
}

export class DelayedProduce {
  private readonly heldCount: Counter | null;
  private readonly cancelledCount: Counter | null;
  listener: DueListener | null = null;

  constructor(
    readonly store: DelayedStore,
    registry: MetricsRegistry | null = null,
  ) {
    this.heldCount = registry?.counter('kafka_mysql_delayed_held_total', 'Records held for delayed delivery (deliver-at header), by topic.', ['topic']) ?? null;
    this.cancelledCount = registry?.counter('kafka_mysql_delayed_cancelled_total', 'Held records cancelled before due (Kafka header, REST or CLI), by topic.', ['topic']) ?? null;
  }

  /** Counts a cancel made outside the produce path (REST, CLI through the broker). */
  countCancel(topic: string): void {
    this.cancelledCount?.inc({ topic });
  }

  /**
   * Holds and cancels what the batches ask for. Returns null when they hold no such header (append
   * them unchanged), false after filling `response` with the refusal, else what is left to append.
   */
  async apply(
    topic: TopicRecord,
    partition: number,
    config: BrokerConfig,
    records: Buffer,
    batches: BatchInfo[],
    nowMs: number,
    response: PartitionResponse,
  ): Promise<HoldOutcome | null | false> {
    // Cheap skip: an uncompressed batch without either header name in its bytes.
    const candidate = batches.some((b) => {
      const bytes = records.subarray(b.position, b.position + b.size);
      if ((bytes.readInt16BE(ATTRIBUTES) & COMPRESSION_MASK) !== 0) return true;
      return bytes.includes(DELIVER_AT_BYTES) || bytes.includes(CANCEL_BYTES);
    });
    if (!candidate) return null;
    const maxBytes = Number(effectiveTopicConfig('max.message.bytes', topic.configs, config).value);
    const maxDelayMs = Number(effectiveTopicConfig('delayed.delivery.max.ms', topic.configs, config).value);
    const decoded = batches.map((b) => headeredRecordsOfBatch(records.subarray(b.position, b.position + b.size), { maxDecompressedBytes: Math.max(maxBytes * 64, 1 << 20) }));

    const held: HeldRecord[] = [];
    const cancels: { index: number; id: Buffer }[] = [];
    const errors: PartitionResponse['recordErrors'] = [];
    const keeps: boolean[][] = [];
    let any = false;
    let index = 0;
    decoded.forEach((d, bi) => {
      const transactional = batches[bi]!.isTransactional;
      const keep: boolean[] = [];
      keeps.push(keep);
      for (const rec of d.records) {
        const i = index++;
        const deliverAt = rec.headers.find((h) => h.key === DELIVER_AT_HEADER);
        const cancel = rec.headers.find((h) => h.key === CANCEL_HEADER);
        if (deliverAt === undefined && cancel === undefined) {
          keep.push(true);
          continue;
        }
        any = true;
        keep.push(false);
        const fail = (message: string) => errors.push({ batchIndex: i, batchIndexErrorMessage: message });
        if (transactional) {
          fail(`${DELIVER_AT_HEADER} and ${CANCEL_HEADER} are not accepted in transactions`);
          continue;
        }
        if (cancel !== undefined) {
          if (cancel.value === null || cancel.value.length === 0 || cancel.value.length > MAX_DELAYED_ID_BYTES) fail(`${CANCEL_HEADER} must hold a message id of 1 to ${MAX_DELAYED_ID_BYTES} bytes`);
          else cancels.push({ index: i, id: Buffer.from(cancel.value) });
          continue;
        }
        const due = parseDeliverAt(deliverAt!.value);
        const id = rec.headers.find((h) => h.key === MESSAGE_ID_HEADER)?.value ?? null;
        if (due === null) fail(`${DELIVER_AT_HEADER} must be a time in ms since the epoch, as a decimal string`);
        else if (id === null || id.length === 0) fail(`a record with ${DELIVER_AT_HEADER} needs a ${MESSAGE_ID_HEADER} header (the id that cancels it and makes its delivery exactly-once)`);
        else if (id.length > MAX_DELAYED_ID_BYTES) fail(`${MESSAGE_ID_HEADER} of ${id.length} bytes; at most ${MAX_DELAYED_ID_BYTES}`);
        else if (due - nowMs > maxDelayMs) fail(`${DELIVER_AT_HEADER} ${due} is more than delayed.delivery.max.ms (${maxDelayMs} ms) ahead`);
        else {
          held.push({
            messageId: Buffer.from(id),
            partition,
            // A time in the past is due now: delivered at the next pass.
            dueMs: Math.max(due, 0),
            createdMs: nowMs,
            key: rec.key === null ? null : Buffer.from(rec.key),
            value: rec.value === null ? null : Buffer.from(rec.value),
            headers: rec.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
          });
        }
      }
    });
    if (!any) return null;
    if (errors.length > 0) return refuse(response, errors, 'One or more records were refused by delayed delivery');

    const shards = [...new Set(topic.shardOfPartition)];
    for (const c of cancels) {
      const result = await this.store.cancel(shards, topic.topicId, c.id, nowMs);
      const id = c.id.toString();
      if (result.status === 'cancelled') this.cancelledCount?.inc({ topic: topic.name });
      else if (result.status === 'delivered') errors.push({ batchIndex: c.index, batchIndexErrorMessage: `message id ${id} was already delivered (partition ${result.partition}, offset ${result.offset})` });
      else if (result.status === 'not-found') errors.push({ batchIndex: c.index, batchIndexErrorMessage: `no delayed message with id ${id} is held` });
      // 'already-cancelled': a retried cancel is acknowledged again.
    }
    if (errors.length > 0) return refuse(response, errors, 'One or more cancels found no held message');

    if (held.length > 0) {
      const shard = topic.shardOfPartition[partition] ?? 0;
      await this.store.hold(shard, topic.topicId, held);
      this.heldCount?.inc({ topic: topic.name }, held.length);
      let earliest = Infinity;
      for (const h of held) earliest = Math.min(earliest, h.dueMs);
      this.listener?.held(topic.topicId, partition, earliest);
    }

    // What is left: the other records, or empty batches an idempotent producer's sequence needs.
    const out: Buffer[] = [];
    decoded.forEach((d, bi) => {
      const b = batches[bi]!;
      const keep = keeps[bi]!;
      if (!keep.some((k) => k) && b.producerId < 0n) return;
      out.push(rewriteBatch(records.subarray(b.position, b.position + b.size), d.scanned, keep));
    });
    if (out.length === 0) return { records: null, batches: [] };
    const rebuilt = Buffer.concat(out);
    const infos: BatchInfo[] = [];
    for (let pos = 0; pos < rebuilt.length; ) {
      const info = readBatchInfo(rebuilt, pos);
      infos.push(info);
      pos += info.size;
    }
    return { records: rebuilt, batches: infos };
  }
}

function refuse(response: PartitionResponse, errors: PartitionResponse['recordErrors'], message: string): false {
  response.errorCode = ErrorCode.INVALID_RECORD;
  response.recordErrors = errors;
  response.errorMessage = errors.length === 1 ? errors[0]!.batchIndexErrorMessage : message;
  return false;
}

