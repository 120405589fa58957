/**
 * Record-level view of v2 batches: decode a batch into records, build a batch from records
 * (for the broker's own writes, REST produce, up-conversion and tests), transaction markers,
 * and the timestamp look-ups ListOffsets needs. Not the produce hot path (see validate.ts).
 *
 * Record layout inside a batch (after the 61-byte header, compressed as a whole if the
 * batch is): length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 * key (varint length, -1 = null), value (same), header count varint, then per header a key
 * (varint length + UTF-8) and a value (varint length, -1 = null).
 */
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { walkRecords } from './walk.js';
import { ErrorCode, KafkaError } from '../error-codes.js';
import { compress } from '../compression/index.js';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  CompressionType,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_LOG_APPEND,
  TRANSACTIONAL_FLAG,
  readBatchInfo,
} from './batch-header.js';
import { writeBatchCrc } from './crc32c.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordInput {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: { key: string; value: Buffer | string | null }[];
  /** Create time in ms; default: now. Ignored for LogAppendTime batches. */
  timestamp?: bigint;
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  records: RecordInput[];
  compression?: CompressionType;
  /** -1 (none) by default. */
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: 'create' | 'logAppend';
  /** The append time for timestampType 'logAppend'; default now. */
  logAppendTime?: bigint;
}

export interface DecodeOptions {
  /** Bound on the decompressed size of a compressed batch (default 64 MiB). */
  maxDecompressedBytes?: number;
}

export interface OffsetAndTimestamp {
  offset: bigint;
  timestamp: bigint;
}

export type ControlRecordType = 'abort' | 'commit';

const NO_PRODUCER_ID = -1n;
const NO_SEQUENCE = -1;

const corrupt = (msg: string): KafkaError => new KafkaError(ErrorCode.CORRUPT_MESSAGE, msg);
const toBuffer = (v: Buffer | string | null | undefined): Buffer | null =>
  v === undefined || v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;

// ---------------------------------------------------------------------------------------------
// Building

function writeVarBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.varint(-1);
  } else {
    w.varint(b.length);
    w.raw(b);
  }
}

function encodeRecord(w: Writer, body: Writer, offsetDelta: number, timestampDelta: bigint, rec: RecordInput): void {
  body.int8(0); // record attributes: unused in v2
  body.varlong(timestampDelta);
  body.varint(offsetDelta);
  writeVarBytes(body, toBuffer(rec.key));
  writeVarBytes(body, toBuffer(rec.value));
  const headers = rec.headers ?? [];
  body.varint(headers.length);
  for (const h of headers) {
    writeVarBytes(body, Buffer.from(h.key, 'utf8'));
    writeVarBytes(body, toBuffer(h.value));
  }
  const bytes = body.toBuffer();
  w.varint(bytes.length);
  w.raw(bytes);
}

/** Builds one v2 batch with a correct CRC-32C. At least one record is required. */
export function buildRecordBatch(opts: BuildBatchOptions): Buffer {
  const records = opts.records;
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const compression = opts.compression ?? CompressionType.None;
  const logAppend = opts.timestampType === 'logAppend';
  const now = BigInt(Date.now());

  let baseTimestamp: bigint;
  let maxTimestamp: bigint;
  const timestamps: bigint[] = [];
  if (logAppend) {
    baseTimestamp = maxTimestamp = opts.logAppendTime ?? now;
    for (let i = 0; i < records.length; i++) timestamps.push(baseTimestamp);
  } else {
    for (const r of records) timestamps.push(r.timestamp ?? now);
    baseTimestamp = timestamps[0]!;
    maxTimestamp = timestamps.reduce((a, b) => (b > a ? b : a));
  }

  const w = new Writer(256);
  for (let i = 0; i < records.length; i++) {
    encodeRecord(w, new Writer(64), i, timestamps[i]! - baseTimestamp, records[i]!);
  }
  const body = compress(compression, w.toBuffer());

  const batch = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + body.length);
  let attributes = compression & COMPRESSION_MASK;
  if (logAppend) attributes |= TIMESTAMP_TYPE_LOG_APPEND;
  if (opts.transactional === true) attributes |= TRANSACTIONAL_FLAG;
  if (opts.control === true) attributes |= CONTROL_FLAG;
  batch.writeBigInt64BE(opts.baseOffset ?? 0n, BASE_OFFSET);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(opts.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH);
  batch.writeInt8(2, MAGIC);
  batch.writeInt16BE(attributes, ATTRIBUTES);
  batch.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(baseTimestamp, BASE_TIMESTAMP);
  batch.writeBigInt64BE(maxTimestamp, MAX_TIMESTAMP);
  batch.writeBigInt64BE(opts.producerId ?? NO_PRODUCER_ID, PRODUCER_ID);
  batch.writeInt16BE(opts.producerEpoch ?? -1, PRODUCER_EPOCH);
  batch.writeInt32BE(opts.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE);
  batch.writeInt32BE(records.length, RECORDS_COUNT);
  body.copy(batch, RECORD_BATCH_OVERHEAD);
  writeBatchCrc(batch);
  return batch;
}

export interface ControlBatchOptions {
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestamp: bigint;
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
}

/**
 * A transaction marker: a transactional control batch with one record whose key is
 * (version int16 0, type int16: 0 abort, 1 commit) and value (version int16 0, coordinatorEpoch int32).
 */
export function buildControlBatch(opts: ControlBatchOptions): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(opts.commit ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(opts.coordinatorEpoch, 2);
  return buildRecordBatch({
    baseOffset: opts.baseOffset ?? 0n,
    records: [{ key, value, timestamp: opts.timestamp }],
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: NO_SEQUENCE,
    transactional: true,
    control: true,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
  });
}

/** Reads a control record's key and value (transaction markers); null for other control types. */
export function decodeControlRecord(record: KafkaRecord): { type: ControlRecordType; coordinatorEpoch: number } | null {
  if (record.key === null || record.key.length < 4) throw corrupt('control record without a valid key');
  const type = record.key.readInt16BE(2);
  if (type !== 0 && type !== 1) return null;
  if (record.value === null || record.value.length < 6) throw corrupt('transaction marker without a valid value');
  return { type: type === 1 ? 'commit' : 'abort', coordinatorEpoch: record.value.readInt32BE(2) };
}

// ---------------------------------------------------------------------------------------------
// Decoding

function readVarBytes(r: Reader): Buffer | null {
  const length = r.varint();
  if (length < -1) throw new DecodeError(`invalid length ${length}`);
  return length === -1 ? null : r.rawBytes(length);
}

/**
 * Decodes every record of the v2 batch at the start of `batch` (decompressing as needed).
 * Offsets are absolute (base offset + delta); timestamps are base + delta, or the batch's max
 * timestamp for LogAppendTime batches. Keys, values and header values are views of the batch
 * (or of its decompressed records). Malformed input gives KafkaError CORRUPT_MESSAGE.
 */
export function decodeBatchRecords(batch: Buffer, options: DecodeOptions = {}): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  walkRecords(batch, options, (place, data) => {
    const r = new Reader(data, place.fields, place.end);
    const key = readVarBytes(r);
    const value = readVarBytes(r);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > r.remaining) throw new DecodeError(`invalid header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = readVarBytes(r);
      if (hk === null) throw new DecodeError('null header key');
      headers.push({ key: hk.toString('utf8'), value: readVarBytes(r) });
    }
    if (r.offset !== place.end) throw new DecodeError('record length disagrees with its fields');
    out.push({ offset: place.offset, timestamp: place.timestamp, key, value, headers });
  });
  return out;
}

/** Offset and timestamp of the first record whose timestamp is >= `timestamp`, or null. */
export function findOffsetForTimestamp(batch: Buffer, timestamp: bigint, options: DecodeOptions = {}): OffsetAndTimestamp | null {
  let found: OffsetAndTimestamp | null = null;
  walkRecords(batch, options, (place) => {
    if (place.timestamp < timestamp) return true;
    found = { offset: place.offset, timestamp: place.timestamp };
    return false;
  });
  return found;
}

/**
 * The record with the largest timestamp (the first such record if several share it; for a
 * LogAppendTime batch, the first record). Null only for a batch with no records.
 */
export function maxTimestampRecord(batch: Buffer, options: DecodeOptions = {}): OffsetAndTimestamp | null {
  let best: OffsetAndTimestamp | null = null;
  walkRecords(batch, options, (place) => {
    if (best === null || place.timestamp > best.timestamp) best = { offset: place.offset, timestamp: place.timestamp };
  });
  return best;
}

/** Header fields plus decoded records; convenient for tests and the console. */
export function decodeBatch(batch: Buffer, options: DecodeOptions = {}): { info: ReturnType<typeof readBatchInfo>; records: KafkaRecord[] } {
  return { info: readBatchInfo(batch, 0), records: decodeBatchRecords(batch, options) };
}
