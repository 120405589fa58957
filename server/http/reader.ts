/**
 * Reads committed records of one partition straight from its log, as a read_committed consumer
 * sees them: up to the last stable offset, without control batches or the records of aborted
 * transactions. Shared by the range read and the v2 consumer instances.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { readBatchInfo } from '../../codec/records/batch-header.js';
import { decodeBatchRecords, type KafkaRecord } from '../../codec/records/records.js';
import type { TopicRecord } from '../../storage/types.js';
import type { RestContext } from './context.js';
import { RestError } from './errors.js';

export interface ReadRange {
  records: KafkaRecord[];
  /** Offset to read from next. */
  nextOffset: bigint;
  highWatermark: bigint;
  logStartOffset: bigint;
}

export async function partitionBounds(rest: RestContext, topic: TopicRecord, partition: number): Promise<{ start: bigint; end: bigint }> {
  const log = await rest.broker.logs.getLog(topic.topicId, partition);
  return { start: log.logStartOffset(), end: log.lastStableOffset() };
}

/** Records from `offset` on, at most `limit` of them and about `maxBytes` of stored batches (at least one batch). */
export async function readRange(rest: RestContext, topic: TopicRecord, partition: number, offset: bigint, limit: number, maxBytes: number): Promise<ReadRange> {
  const log = await rest.broker.logs.getLog(topic.topicId, partition);
  const start = log.logStartOffset();
  const stable = log.lastStableOffset();
  // Past the log end, as Fetch: between the high watermark and the end (a confirmation by a replica pending) reads nothing yet.
  if (offset < start || offset > (log.logEndOffset?.() ?? log.highWatermark())) {
    throw new RestError(416, 416, `Offset ${offset} is out of range for ${topic.name}-${partition} (log start ${start}, high watermark ${log.highWatermark()})`, ErrorCode.OFFSET_OUT_OF_RANGE);
  }
  const records: KafkaRecord[] = [];
  let next = offset;
  let bytes = 0;
  while (records.length < limit && next < stable && bytes < maxBytes) {
    const read = await log.read(next, maxBytes - bytes, { maxOffset: stable, minOneBatch: bytes === 0 });
    if (read.batches.length === 0) break;
    bytes += read.bytes;
    const aborted = log.abortedTransactions(next, stable);
    for (const batch of read.batches) {
      const info = readBatchInfo(batch, 0);
      const last = info.baseOffset + BigInt(info.lastOffsetDelta);
      const skip = info.isControl || (info.isTransactional && aborted.some((a) => a.producerId === info.producerId && info.baseOffset >= a.firstOffset && info.baseOffset <= a.lastOffset));
      if (!skip) {
        for (const r of decodeBatchRecords(batch)) {
          if (r.offset < next || records.length >= limit) continue;
          records.push(r);
        }
      }
      const end = records.length >= limit ? records[records.length - 1]!.offset + 1n : last + 1n;
      if (end > next) next = end;
      if (records.length >= limit) break;
    }
  }
  return { records, nextOffset: next, highWatermark: log.highWatermark(), logStartOffset: start };
}
