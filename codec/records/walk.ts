/**
 * The one loop over the records of a v2 batch, shared by decoding, timestamp lookups, the
 * produce timestamp checks and compaction's scan. It reads each record's length, attributes,
 * timestamp delta and offset delta and hands the visitor the rest as positions in the records
 * section; nothing is allocated per record, so callers that need only offsets and timestamps
 * stay cheap. Malformed input gives KafkaError CORRUPT_MESSAGE.
 */
import { decompress } from '../compression/index.js';
import { ErrorCode, KafkaError } from '../error-codes.js';
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CompressionType,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
} from './batch-header.js';

export interface WalkOptions {
  /** Bound on the decompressed size of a compressed batch. */
  maxDecompressedBytes?: number;
}

/** Where one record lies in the records section (`data`), reused from record to record. */
export interface RecordPlace {
  index: number;
  /** Base offset + offset delta. */
  offset: bigint;
  /** Base timestamp + delta, or the batch's max timestamp for a LogAppendTime batch. */
  timestamp: bigint;
  /** Where the record starts (at its length varint). */
  start: number;
  /** Where its key length starts (after the offset delta). */
  fields: number;
  /** Where it ends. */
  end: number;
}

export const corrupt = (msg: string): KafkaError => new KafkaError(ErrorCode.CORRUPT_MESSAGE, msg);

/** The records section of the v2 batch at the start of `batch`, decompressed (bounded) if needed. */
export function recordsSection(batch: Buffer, options: WalkOptions): { data: Buffer; count: number } {
  if (batch.length < RECORD_BATCH_OVERHEAD) throw corrupt(`batch of ${batch.length} bytes is shorter than its header`);
  const magic = batch.readInt8(MAGIC);
  if (magic !== 2) throw corrupt(`magic ${magic} is not a v2 record batch`);
  const size = batch.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
  if (size < RECORD_BATCH_OVERHEAD || size > batch.length) throw corrupt(`batch length ${size} does not fit ${batch.length} bytes`);
  const count = batch.readInt32BE(RECORDS_COUNT);
  if (count < 0) throw corrupt(`negative record count ${count}`);
  const raw = batch.subarray(RECORD_BATCH_OVERHEAD, size);
  const type = (batch.readInt16BE(ATTRIBUTES) & COMPRESSION_MASK) as CompressionType;
  if (type === CompressionType.None || count === 0) return { data: raw, count };
  const maxBytes = options.maxDecompressedBytes;
  return { data: decompress(type, raw, maxBytes === undefined ? {} : { maxBytes }), count };
}

/**
 * Calls `visit` for each record in order, with its place in `data` (the records section);
 * `visit` returns false to stop early. A complete walk checks that no bytes follow the last
 * record. Returns the records section, for visitors that kept places into it.
 */
export function walkRecords(batch: Buffer, options: WalkOptions, visit: (place: RecordPlace, data: Buffer) => boolean | void): Buffer {
  const { data, count } = recordsSection(batch, options);
  const baseOffset = batch.readBigInt64BE(BASE_OFFSET);
  const baseTimestamp = batch.readBigInt64BE(BASE_TIMESTAMP);
  const logAppend = (batch.readInt16BE(ATTRIBUTES) & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const maxTimestamp = batch.readBigInt64BE(MAX_TIMESTAMP);
  const r = new Reader(data);
  const place: RecordPlace = { index: 0, offset: 0n, timestamp: 0n, start: 0, fields: 0, end: 0 };
  try {
    for (let i = 0; i < count; i++) {
      const start = r.offset;
      const length = r.varint();
      if (length < 0 || length > r.remaining) throw new DecodeError(`record ${i} length ${length}`);
      const end = r.offset + length;
      r.skip(1); // attributes
      const timestampDelta = r.varlong();
      const offsetDelta = r.varint();
      if (r.offset > end) throw new DecodeError(`record ${i} is shorter than its header`);
      place.index = i;
      place.offset = baseOffset + BigInt(offsetDelta);
      place.timestamp = logAppend ? maxTimestamp : baseTimestamp + timestampDelta;
      place.start = start;
      place.fields = r.offset;
      place.end = end;
      if (visit(place, data) === false) return data;
      r.offset = end;
    }
  } catch (err) {
    if (err instanceof DecodeError) throw corrupt(`malformed record: ${err.message}`);
    throw err;
  }
  if (r.remaining !== 0) throw corrupt(`${r.remaining} bytes after the batch's ${count} records`);
  return data;
}
