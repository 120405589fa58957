/**
 * Validation of a Produce request's `records` field (magic 2), on the hot path.
 *
 * Checked for every batch: the length is sane and the batch is complete, the batch fits
 * `maxBatchBytes`, magic is 2, the CRC-32C is correct, the record count is positive and agrees
 * with lastOffsetDelta, a producer id comes with a sequence, the producer did not claim
 * LogAppendTime, and clients do not write control batches (Kafka's LogValidator rules for
 * client appends). For uncompressed batches the records themselves are walked (varint lengths and
 * offset deltas only, nothing allocated) so a malformed record is refused here rather than
 * by a consumer later.
 *
 * Compressed batches are NOT decompressed on this path: the CRC-32C covers the compressed
 * bytes, so what was sent is what is stored and served, and clients validate the records
 * when they decompress them on read. Decompressing every produce would cost more than
 * everything else in the append.
 *
 * Nothing is copied: the returned BatchInfo positions point into `records`.
 */
import { ErrorCode, KafkaError } from '../error-codes.js';
import {
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CRC,
  CompressionType,
  LOG_OVERHEAD,
  MAGIC,
  RECORD_BATCH_OVERHEAD,
  readBatchInfo,
  type BatchInfo,
} from './batch-header.js';
import { computeBatchCrc } from './crc32c.js';

export interface BatchLimits {
  /** Largest batch accepted (bytes, including the 12-byte log overhead), as Kafka's max.message.bytes. */
  maxBatchBytes: number;
  /**
   * Kafka requires exactly one batch per partition in Produce v3+; set to enforce it
   * (more than one gives INVALID_RECORD). Default: any number of batches, at least one.
   */
  singleBatch?: boolean;
  /**
   * Who wrote the batches. 'client' (default) applies Kafka's client-append rules: positive
   * record count, no control batches, a sequence with every producer id, no LogAppendTime.
   * 'internal' (the broker's own writes, e.g. transaction markers) checks structure and CRC only.
   */
  origin?: 'client' | 'internal';
}

/** Smallest batchLength a v2 batch can carry (header without the log overhead, no records). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;

/** Kafka's NO_PRODUCER_ID. */
const NO_PRODUCER_ID = -1n;

const corrupt = (msg: string): KafkaError => new KafkaError(ErrorCode.CORRUPT_MESSAGE, msg);
const invalid = (msg: string): KafkaError => new KafkaError(ErrorCode.INVALID_RECORD, msg);

/**
 * Parses and validates one or more v2 batches laid back to back in `records`.
 * Throws KafkaError: CORRUPT_MESSAGE (bad length, truncation, bad magic, CRC mismatch),
 * MESSAGE_TOO_LARGE (batch larger than maxBatchBytes), INVALID_RECORD (inconsistent counts,
 * malformed records, a legacy magic 0/1 set, control batches from clients, a producer id
 * without a sequence), INVALID_TIMESTAMP (LogAppendTime set by the producer),
 * UNSUPPORTED_COMPRESSION_TYPE (codec 5-7).
 */
export function parseRecordBatches(records: Buffer, limits: BatchLimits): BatchInfo[] {
  const out: BatchInfo[] = [];
  const end = records.length;
  if (end === 0) throw invalid('no record batch');
  let position = 0;
  while (position < end) {
    if (limits.singleBatch === true && out.length === 1) {
      throw invalid('only one record batch is allowed per partition');
    }
    out.push(parseOneBatch(records, position, limits));
    position += out[out.length - 1]!.size;
  }
  return out;
}

function parseOneBatch(buf: Buffer, position: number, limits: BatchLimits): BatchInfo {
  const left = buf.length - position;
  if (left < LOG_OVERHEAD + 5) throw corrupt(`truncated batch header: ${left} bytes`);
  const batchLength = buf.readInt32BE(position + BATCH_LENGTH);
  const magic = buf.readInt8(position + MAGIC);
  if (magic === 0 || magic === 1) {
    throw invalid(`magic ${magic} message set where only magic 2 batches are accepted`);
  }
  if (magic !== 2) throw corrupt(`unknown magic ${magic}`);
  if (batchLength < MIN_BATCH_LENGTH) throw corrupt(`batch length ${batchLength} below minimum ${MIN_BATCH_LENGTH}`);
  const size = batchLength + LOG_OVERHEAD;
  if (size > left) throw corrupt(`batch of ${size} bytes but only ${left} left`);
  if (size > limits.maxBatchBytes) {
    throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds ${limits.maxBatchBytes}`);
  }
  const crc = buf.readUInt32BE(position + CRC);
  const actual = computeBatchCrc(buf, position, size);
  if (crc !== actual) throw corrupt(`batch CRC ${crc} does not match computed ${actual}`);

  const info = readBatchInfo(buf, position);
  if ((info.attributes & COMPRESSION_MASK) > CompressionType.Zstd) {
    throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${info.attributes & COMPRESSION_MASK}`);
  }
  const client = limits.origin !== 'internal';
  if (client && info.recordCount <= 0) throw invalid(`invalid record count ${info.recordCount}`);
  if (info.recordCount < 0) throw corrupt(`negative record count ${info.recordCount}`);
  if (info.recordCount > 0 && info.lastOffsetDelta !== info.recordCount - 1) {
    throw invalid(`lastOffsetDelta ${info.lastOffsetDelta} disagrees with record count ${info.recordCount}`);
  }
  if (client) {
    if (info.isControl) throw invalid('clients may not write control batches');
    if (info.producerId !== NO_PRODUCER_ID && info.baseSequence < 0) {
      throw invalid(`producer id ${info.producerId} with invalid base sequence ${info.baseSequence}`);
    }
    if (info.logAppendTime) {
      throw new KafkaError(ErrorCode.INVALID_TIMESTAMP, 'producers may not set the LogAppendTime timestamp type');
    }
  }
  if (info.compression === CompressionType.None) {
    walkRecords(buf, position + RECORD_BATCH_OVERHEAD, position + size, info.recordCount);
  }
  return info;
}

// Varint reading over a buffer with a shared cursor; no objects per record.
let cursor = 0;

function readVarint(buf: Buffer, end: number): number {
  let raw = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor >= end) throw invalid('record truncated inside a varint');
    const byte = buf[cursor++]!;
    raw |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
  }
  throw invalid('varint longer than 5 bytes');
}

function skipVarlong(buf: Buffer, end: number): void {
  for (let i = 0; i < 10; i++) {
    if (cursor >= end) throw invalid('record truncated inside a varlong');
    if ((buf[cursor++]! & 0x80) === 0) return;
  }
  throw invalid('varlong longer than 10 bytes');
}

function skipBytes(buf: Buffer, end: number, allowNull: boolean, what: string): void {
  const length = readVarint(buf, end);
  if (length < 0) {
    if (length === -1 && allowNull) return;
    throw invalid(`invalid ${what} length ${length}`);
  }
  if (length > end - cursor) throw invalid(`${what} of ${length} bytes overruns its record`);
  cursor += length;
}

/**
 * Walks `count` v2 records in buf[start, end): each record's length must match its fields,
 * offset deltas must run 0..count-1 and the records must fill the batch exactly.
 * Throws INVALID_RECORD otherwise.
 */
export function walkRecords(buf: Buffer, start: number, end: number, count: number): void {
  cursor = start;
  for (let i = 0; i < count; i++) {
    const length = readVarint(buf, end);
    if (length < 0 || length > end - cursor) throw invalid(`record ${i} length ${length} overruns the batch`);
    const recordEnd = cursor + length;
    cursor++; // attributes (unused in v2)
    skipVarlong(buf, recordEnd);
    const offsetDelta = readVarint(buf, recordEnd);
    if (offsetDelta !== i) throw invalid(`record ${i} has offset delta ${offsetDelta}`);
    skipBytes(buf, recordEnd, true, 'key');
    skipBytes(buf, recordEnd, true, 'value');
    const headers = readVarint(buf, recordEnd);
    if (headers < 0) throw invalid(`invalid header count ${headers}`);
    for (let h = 0; h < headers; h++) {
      skipBytes(buf, recordEnd, false, 'header key');
      skipBytes(buf, recordEnd, true, 'header value');
    }
    if (cursor !== recordEnd) throw invalid(`record ${i} declares ${length} bytes but its fields take ${length - (recordEnd - cursor)}`);
  }
  if (cursor !== end) throw invalid(`${end - cursor} bytes left after ${count} records`);
}
