/**
 * Legacy message sets (magic 0 and 1, sent by Produce v0-v2) converted to one v2 batch, as
 * Kafka's LogValidator does when the log is on the v2 format:
 * - each message's CRC-32 is checked (CORRUPT_MESSAGE), every message must carry the first
 *   one's magic (INVALID_RECORD), and a set with a compressed wrapper must consist of that
 *   one wrapper (INVALID_RECORD);
 * - a compressed wrapper (gzip, snappy, lz4) is decompressed and its inner messages, which
 *   must have the wrapper's magic and no compression of their own, become the records; their
 *   CRCs are checked as well; the v2 batch is compressed with the wrapper's codec (Kafka keeps
 *   the producer's codec when compression.type=producer);
 * - offsets become 0..n-1 (base offset 0; the broker assigns the real one); magic 1
 *   timestamps are kept (create time); magic 0 messages have no timestamp and get -1
 *   (NO_TIMESTAMP), as in Kafka; a producer may not claim LogAppendTime (INVALID_TIMESTAMP);
 * - producer id, epoch and base sequence are -1: legacy messages have none.
 * LZ4 wrappers of magic 0 carry the pre-0.10 frame header checksum (KAFKA-3160), so that
 * checksum is not verified for magic 0; magic 1 frames are checked as usual.
 */
import { ErrorCode, KafkaError } from '../error-codes.js';
import { CompressionType, DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from '../compression/index.js';
import { LOG_OVERHEAD, MAGIC } from './batch-header.js';
import { crc32 } from './crc32.js';
import { buildRecordBatch, type RecordInput } from './records.js';

export interface UpconvertOptions {
  maxBatchBytes: number;
  /** Codec for the v2 batch; default: the wrapper's codec (none for uncompressed sets). */
  compression?: CompressionType;
  /** Bound on a wrapper's decompressed size; default 64 MiB. */
  maxDecompressedBytes?: number;
}

/** Legacy message layout: offset int64, size int32, then crc uint32, magic int8, attributes int8, [timestamp int64], key, value. */
const SIZE_AT = 8;
const CRC_AT = 12;
const ATTRIBUTES_AT = 17;
const LEGACY_COMPRESSION_MASK = 0x07;
const LEGACY_TIMESTAMP_TYPE = 0x08;
/** crc + magic + attributes + key length + value length (+ timestamp for magic 1). */
const MIN_MESSAGE_SIZE = [14, 22] as const;

const corrupt = (msg: string): KafkaError => new KafkaError(ErrorCode.CORRUPT_MESSAGE, msg);
const invalid = (msg: string): KafkaError => new KafkaError(ErrorCode.INVALID_RECORD, msg);

/** Magic byte of the first batch or message in `records` (same position in every format), or -1. */
export function detectMagic(records: Buffer): number {
  return records.length > MAGIC ? records.readInt8(MAGIC) : -1;
}

interface LegacyMessage {
  magic: number;
  attributes: number;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** bytes of this message including offset and size */
  size: number;
}

function readNullableBytes(buf: Buffer, at: number, end: number): { bytes: Buffer | null; next: number } {
  if (at + 4 > end) throw corrupt('message truncated inside a length');
  const length = buf.readInt32BE(at);
  if (length < 0) {
    if (length !== -1) throw corrupt(`invalid length ${length}`);
    return { bytes: null, next: at + 4 };
  }
  if (length > end - at - 4) throw corrupt(`field of ${length} bytes overruns its message`);
  return { bytes: buf.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}

function readMessage(buf: Buffer, at: number): LegacyMessage {
  if (buf.length - at < LOG_OVERHEAD + 5) throw corrupt('truncated message header');
  const messageSize = buf.readInt32BE(at + SIZE_AT);
  const magic = buf.readInt8(at + MAGIC);
  if (magic !== 0 && magic !== 1) throw corrupt(`magic ${magic} in a legacy message set`);
  if (messageSize < MIN_MESSAGE_SIZE[magic]) throw corrupt(`message size ${messageSize} below minimum`);
  const end = at + LOG_OVERHEAD + messageSize;
  if (end > buf.length) throw corrupt(`message of ${messageSize} bytes but only ${buf.length - at - LOG_OVERHEAD} left`);
  const crc = buf.readUInt32BE(at + CRC_AT);
  const actual = crc32(buf, at + MAGIC, end);
  if (crc !== actual) throw corrupt(`message CRC ${crc} does not match computed ${actual}`);
  const attributes = buf.readInt8(at + ATTRIBUTES_AT);
  let p = at + ATTRIBUTES_AT + 1;
  let timestamp = -1n;
  if (magic === 1) {
    timestamp = buf.readBigInt64BE(p);
    p += 8;
  }
  const key = readNullableBytes(buf, p, end);
  const value = readNullableBytes(buf, key.next, end);
  if (value.next !== end) throw corrupt('message size disagrees with its fields');
  return { magic, attributes, timestamp, key: key.bytes, value: value.bytes, size: LOG_OVERHEAD + messageSize };
}

function toRecord(m: LegacyMessage, timestamp: bigint): RecordInput {
  return { key: m.key, value: m.value, timestamp, headers: [] };
}

/**
 * Converts a magic 0/1 message set into one v2 batch (base offset 0, create time).
 * Throws KafkaError CORRUPT_MESSAGE, INVALID_RECORD, INVALID_TIMESTAMP, MESSAGE_TOO_LARGE or
 * UNSUPPORTED_COMPRESSION_TYPE.
 */
export function upconvertMessageSet(records: Buffer, opts: UpconvertOptions): Buffer {
  if (records.length === 0) throw invalid('no messages');
  const out: RecordInput[] = [];
  let firstMagic = -1;
  let wrapperCodec = CompressionType.None;
  let messages = 0;
  for (let at = 0; at < records.length; ) {
    const m = readMessage(records, at);
    if (m.size > opts.maxBatchBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `message of ${m.size} bytes exceeds ${opts.maxBatchBytes}`);
    }
    at += m.size;
    messages++;
    if (firstMagic === -1) firstMagic = m.magic;
    else if (m.magic !== firstMagic) throw invalid(`message magic ${m.magic} differs from the first message's ${firstMagic}`);
    if (m.magic === 1 && (m.attributes & LEGACY_TIMESTAMP_TYPE) !== 0) {
      throw new KafkaError(ErrorCode.INVALID_TIMESTAMP, 'producers may not set the LogAppendTime timestamp type');
    }
    const codec = (m.attributes & LEGACY_COMPRESSION_MASK) as CompressionType;
    if (codec === CompressionType.None) {
      out.push(toRecord(m, m.timestamp));
      continue;
    }
    if (codec > CompressionType.Lz4) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `codec ${codec} is not allowed with magic ${m.magic}`);
    }
    if (m.value === null) throw corrupt('compressed wrapper message without a value');
    wrapperCodec = codec;
    const inner = decompress(codec, m.value, {
      maxBytes: opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
      ignoreHeaderChecksum: m.magic === 0,
    });
    for (let p = 0; p < inner.length; ) {
      const im = readMessage(inner, p);
      p += im.size;
      if (im.magic !== m.magic) throw invalid(`inner message magic ${im.magic} differs from its wrapper's ${m.magic}`);
      if ((im.attributes & LEGACY_COMPRESSION_MASK) !== 0) throw invalid('compressed message inside a compressed wrapper');
      out.push(toRecord(im, im.timestamp));
    }
  }
  if (wrapperCodec !== CompressionType.None && messages > 1) {
    throw invalid('a compressed message set must consist of exactly one wrapper message');
  }
  if (out.length === 0) throw invalid('compressed wrapper holds no messages');
  const batch = buildRecordBatch({
    baseOffset: 0n,
    records: out,
    compression: opts.compression ?? wrapperCodec,
    timestampType: 'create',
  });
  if (batch.length > opts.maxBatchBytes) {
    throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `converted batch of ${batch.length} bytes exceeds ${opts.maxBatchBytes}`);
  }
  return batch;
}
