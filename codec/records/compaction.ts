/**
 * What log compaction needs of a v2 batch, with no I/O: the records' offsets, keys and
 * tombstone flags (scanBatchForCompaction), the batch rebuilt with only some of its records
 * (rewriteBatch), and the records without a key (recordsWithoutKey, for Produce to a
 * compacted topic). This is the one place where the broker re-encodes stored batches, and it
 * runs in the compaction job, never on the produce or fetch path.
 *
 * A rewritten batch keeps everything the producer state and readers rely on: the base offset,
 * lastOffsetDelta (so last_offset and the producer's last sequence stay what they were),
 * producer id, epoch, base sequence, partition leader epoch, base timestamp and attributes
 * (codec, timestamp type, transactional and control bits). Kept records are copied byte for
 * byte (their offset and timestamp deltas are relative to the unchanged base), the record
 * count and max timestamp are recomputed, the records recompressed with the batch's own codec
 * and the CRC recomputed. A batch left with no records becomes Kafka's empty batch: the header
 * alone, no codec, base and max timestamp = the original max timestamp.
 */
import { compress } from '../compression/index.js';
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import {
  ATTRIBUTES,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CompressionType,
  LOG_OVERHEAD,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
} from './batch-header.js';
import { writeBatchCrc } from './crc32c.js';
import { walkRecords } from './walk.js';

/** One record of a batch as compaction sees it. */
export interface CompactionRecord {
  offset: bigint;
  timestamp: bigint;
  /** A view of the (decompressed) records; null for a record without a key. */
  key: Buffer | null;
  /** Null value: a delete marker. */
  tombstone: boolean;
  /** Where the record (length varint included) lies in `ScannedBatch.data`. */
  start: number;
  end: number;
}

export interface ScannedBatch {
  /** The records section, decompressed. */
  data: Buffer;
  records: CompactionRecord[];
}

export interface ScanOptions {
  /** Bound on the decompressed size (default 64 MiB). */
  maxDecompressedBytes?: number;
}

/** Reads each record's offset, timestamp, key and whether its value is null; headers are skipped. */
export function scanBatchForCompaction(batch: Buffer, options: ScanOptions = {}): ScannedBatch {
  const records: CompactionRecord[] = [];
  const data = walkRecords(batch, options, (place, section) => {
    const r = new Reader(section, place.fields, place.end);
    const keyLength = r.varint();
    if (keyLength < -1) throw new DecodeError(`key length ${keyLength}`);
    const key = keyLength === -1 ? null : r.rawBytes(keyLength);
    const valueLength = r.varint();
    if (valueLength < -1) throw new DecodeError(`value length ${valueLength}`);
    records.push({ offset: place.offset, timestamp: place.timestamp, key, tombstone: valueLength === -1, start: place.start, end: place.end });
  });
  return { data, records };
}

/**
 * The batch with only the records whose `keep` flag is set (same length and order as
 * `scanned.records`). Returns `batch` itself when every record is kept.
 */
export function rewriteBatch(batch: Buffer, scanned: ScannedBatch, keep: readonly boolean[]): Buffer {
  const records = scanned.records;
  if (keep.length !== records.length) throw new RangeError('keep flags do not match the records');
  let kept = 0;
  let keptBytes = 0;
  for (let i = 0; i < records.length; i++) {
    if (keep[i]) {
      kept++;
      keptBytes += records[i]!.end - records[i]!.start;
    }
  }
  if (kept === records.length) return batch;
  const attributes = batch.readInt16BE(ATTRIBUTES);
  const logAppend = (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const originalMax = batch.readBigInt64BE(MAX_TIMESTAMP);
  if (kept === 0) {
    // Kafka's empty batch: the header only, uncompressed, timestamps = the original max.
    const out = Buffer.from(batch.subarray(0, RECORD_BATCH_OVERHEAD));
    out.writeInt32BE(RECORD_BATCH_OVERHEAD - LOG_OVERHEAD, BATCH_LENGTH);
    out.writeInt16BE(attributes & ~COMPRESSION_MASK, ATTRIBUTES);
    out.writeBigInt64BE(originalMax, BASE_TIMESTAMP);
    out.writeBigInt64BE(originalMax, MAX_TIMESTAMP);
    out.writeInt32BE(0, RECORDS_COUNT);
    writeBatchCrc(out);
    return out;
  }
  const plain = Buffer.allocUnsafe(keptBytes);
  let pos = 0;
  let max: bigint | null = null;
  for (let i = 0; i < records.length; i++) {
    if (!keep[i]) continue;
    const rec = records[i]!;
    pos += scanned.data.copy(plain, pos, rec.start, rec.end);
    if (max === null || rec.timestamp > max) max = rec.timestamp;
  }
  const codec = (attributes & COMPRESSION_MASK) as CompressionType;
  const body = compress(codec, plain);
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + body.length);
  batch.copy(out, 0, 0, RECORD_BATCH_OVERHEAD);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH);
  out.writeBigInt64BE(logAppend ? originalMax : max!, MAX_TIMESTAMP);
  out.writeInt32BE(kept, RECORDS_COUNT);
  body.copy(out, RECORD_BATCH_OVERHEAD);
  writeBatchCrc(out);
  return out;
}

/**
 * Indexes (within the batch, as KIP-467's batch_index) of the records without a key.
 * Decompresses a compressed batch (bounded).
 */
export function recordsWithoutKey(batch: Buffer, options: ScanOptions = {}): number[] {
  const out: number[] = [];
  const { records } = scanBatchForCompaction(batch, options);
  for (let i = 0; i < records.length; i++) if (records[i]!.key === null) out.push(i);
  return out;
}
