import { ATTRIBUTES, MAX_TIMESTAMP, TIMESTAMP_TYPE_LOG_APPEND } from './batch-header.js';
import { writeBatchCrc } from './crc32c.js';

/**
 * Stamps a v2 batch with the broker's append time, in place, as Kafka does for topics with
 * `message.timestamp.type=LogAppendTime`: the timestamp-type bit is set in attributes and the
 * max timestamp field is overwritten with `timestampMs`. Base timestamp and per-record deltas
 * are left alone; readers take every record's timestamp from max timestamp when the bit is
 * set. Both fields lie inside the CRC-32C's range, so the CRC is recomputed over the batch.
 *
 * `batch` must be exactly one batch (a view is fine); nothing is allocated or copied.
 */
export function setLogAppendTime(batch: Buffer, timestampMs: bigint): void {
  const attributes = batch.readInt16BE(ATTRIBUTES);
  batch.writeInt16BE(attributes | TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES);
  batch.writeBigInt64BE(timestampMs, MAX_TIMESTAMP);
  writeBatchCrc(batch);
}
