/**
 * The timestamps of a v2 batch's records, for the broker's timestamp checks (Kafka's
 * message.timestamp.before.max.ms / after.max.ms). Only the fields up to the offset delta of
 * each record are read, nothing is allocated per record; a compressed batch is decompressed
 * (bounded), which the caller does only for topics whose limits make it necessary.
 */
import { decompress } from '../compression/index.js';
import { ErrorCode, KafkaError } from '../error-codes.js';
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import { ATTRIBUTES, BASE_OFFSET, BASE_TIMESTAMP, BATCH_LENGTH, COMPRESSION_MASK, CompressionType, LOG_OVERHEAD, RECORDS_COUNT, RECORD_BATCH_OVERHEAD } from './batch-header.js';

/**
 * Calls `visit` with each record's index in the batch, its offset as sent (base offset +
 * delta) and its timestamp (base timestamp + delta), in order. `batch` starts at a v2 batch
 * already validated (parseRecordBatches). Malformed records give CORRUPT_MESSAGE.
 */
export function forEachRecordTimestamp(
  batch: Buffer,
  visit: (index: number, offset: bigint, timestamp: bigint) => void,
  options: { maxDecompressedBytes?: number } = {},
): void {
  const size = batch.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
  const count = batch.readInt32BE(RECORDS_COUNT);
  const raw = batch.subarray(RECORD_BATCH_OVERHEAD, size);
  const codec = (batch.readInt16BE(ATTRIBUTES) & COMPRESSION_MASK) as CompressionType;
  const data = codec === CompressionType.None ? raw : decompress(codec, raw, options.maxDecompressedBytes === undefined ? {} : { maxBytes: options.maxDecompressedBytes });
  const baseOffset = batch.readBigInt64BE(BASE_OFFSET);
  const baseTimestamp = batch.readBigInt64BE(BASE_TIMESTAMP);
  const r = new Reader(data);
  try {
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      if (length < 0 || length > r.remaining) throw new DecodeError(`record ${i} length ${length}`);
      const end = r.offset + length;
      r.skip(1); // attributes
      const timestampDelta = r.varlong();
      const offsetDelta = r.varint();
      visit(i, baseOffset + BigInt(offsetDelta), baseTimestamp + timestampDelta);
      r.offset = end;
    }
  } catch (err) {
    if (err instanceof DecodeError) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `malformed record: ${err.message}`);
    throw err;
  }
}
