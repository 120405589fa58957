/**
 * The timestamps of a v2 batch's records, for the broker's timestamp checks (Kafka's
 * message.timestamp.before.max.ms / after.max.ms). Only the fields up to the offset delta of
 * each record are read, nothing is allocated per record; a compressed batch is decompressed
 * (bounded), which the caller does only for topics whose limits make it necessary.
 */
import { walkRecords } from './walk.js';

/**
 * Calls `visit` with each record's index in the batch, its offset as sent (base offset +
 * delta) and its timestamp, in order. `batch` starts at a v2 batch already validated
 * (parseRecordBatches). Malformed records give CORRUPT_MESSAGE.
 */
export function forEachRecordTimestamp(
  batch: Buffer,
  visit: (index: number, offset: bigint, timestamp: bigint) => void,
  options: { maxDecompressedBytes?: number } = {},
): void {
  walkRecords(batch, options, (place) => {
    visit(place.index, place.offset, place.timestamp);
  });
}
