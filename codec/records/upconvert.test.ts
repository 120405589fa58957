import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress } from '../compression/index.js';
import { xxh32 } from '../compression/xxh32.js';
import { ErrorCode } from '../error-codes.js';
import { CompressionType, readBatchInfo } from './batch-header.js';
import { crc32 } from './crc32.js';
import { buildRecordBatch, decodeBatchRecords } from './records.js';
import { detectMagic, upconvertMessageSet } from './upconvert.js';
import { parseRecordBatches } from './validate.js';
import { codeOf } from '../error-codes.testing.js';

const require = createRequire(import.meta.url);
const MessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (o: {
  messageVersion: number;
  compression?: number;
  entries: { key?: Buffer | null; value: Buffer | null; timestamp?: number; compression?: number }[];
}) => { buffer: Buffer };
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeKafkajs = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');

const limits = { maxBatchBytes: 1 << 20 };
const entries = [
  { key: Buffer.from('k0'), value: Buffer.from('v0'), timestamp: 1_500_000_000_000 },
  { key: null, value: Buffer.from('v1'), timestamp: 1_500_000_000_300 },
  { key: Buffer.from('k2'), value: null, timestamp: 1_500_000_000_200 },
];
const set = (messageVersion: number, compression?: number) =>
  Buffer.from(MessageSet({ messageVersion, entries, ...(compression === undefined ? {} : { compression }) }).buffer);

/** A wrapper message set around `inner` compressed with `codec`, as kafkajs's Produce v2 builds it. */
function wrapped(messageVersion: number, codec: number, inner: Buffer): Buffer {
  return Buffer.from(
    MessageSet({ messageVersion, entries: [{ compression: codec, timestamp: 1_500_000_000_000, key: null, value: compress(codec, inner) }] }).buffer,
  );
}

const content = (batch: Buffer) =>
  decodeBatchRecords(batch).map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]);

describe('detectMagic', () => {
  it('reads the magic byte of v0, v1 and v2 input, -1 for short input', () => {
    expect(detectMagic(set(0))).toBe(0);
    expect(detectMagic(set(1))).toBe(1);
    expect(detectMagic(buildRecordBatch({ records: [{ value: 'x' }] }))).toBe(2);
    expect(detectMagic(Buffer.alloc(10))).toBe(-1);
  });
});

describe('upconvertMessageSet', () => {
  it('magic 1, uncompressed: one valid v2 batch, offsets 0..n-1, create timestamps kept', async () => {
    const batch = upconvertMessageSet(set(1), limits);
    const [info] = parseRecordBatches(batch, { ...limits, singleBatch: true });
    expect(info).toMatchObject({ baseOffset: 0n, recordCount: 3, compression: CompressionType.None, logAppendTime: false });
    expect(info).toMatchObject({ producerId: -1n, producerEpoch: -1, baseSequence: -1, maxTimestamp: 1_500_000_000_300n });
    expect(content(batch)).toEqual([
      [0n, 1_500_000_000_000n, 'k0', 'v0'],
      [1n, 1_500_000_000_300n, null, 'v1'],
      [2n, 1_500_000_000_200n, 'k2', null],
    ]);
    const kjs = await decodeKafkajs(new Decoder(batch));
    expect(kjs.records.map((r: { value: Buffer | null }) => r.value?.toString() ?? null)).toEqual(['v0', 'v1', null]);
  });
  it('magic 0, uncompressed: timestamps are -1 (no timestamp), as Kafka converts them', () => {
    const batch = upconvertMessageSet(set(0), limits);
    expect(readBatchInfo(batch, 0)).toMatchObject({ baseTimestamp: -1n, maxTimestamp: -1n });
    expect(content(batch)).toEqual([
      [0n, -1n, 'k0', 'v0'],
      [1n, -1n, null, 'v1'],
      [2n, -1n, 'k2', null],
    ]);
  });
  for (const [name, codec] of [
    ['gzip', CompressionType.Gzip],
    ['snappy', CompressionType.Snappy],
    ['lz4', CompressionType.Lz4],
  ] as const) {
    it(`magic 1 ${name} wrapper: inner messages become the records, batch keeps the codec`, () => {
      const batch = upconvertMessageSet(wrapped(1, codec, set(1, codec)), limits);
      const [info] = parseRecordBatches(batch, limits);
      expect(info!.compression).toBe(codec);
      expect(content(batch).map((r) => r.slice(0, 1).concat(r.slice(2)))).toEqual([
        [0n, 'k0', 'v0'],
        [1n, null, 'v1'],
        [2n, 'k2', null],
      ]);
      expect(content(batch)[1]![1]).toBe(1_500_000_000_300n);
    });
  }
  it('magic 0 gzip wrapper with absolute inner offsets: offsets become 0..n-1', () => {
    const inner = set(0);
    // kafkajs writes inner offsets 0..2; make them absolute (as old producers did)
    let at = 0;
    for (let i = 0; at < inner.length; i++) {
      inner.writeBigInt64BE(BigInt(500 + i), at);
      at += 12 + inner.readInt32BE(at + 8);
    }
    const outer = Buffer.from(MessageSet({ messageVersion: 0, entries: [{ compression: 1, key: null, value: gzipSync(inner) }] }).buffer);
    expect(content(upconvertMessageSet(outer, limits)).map((r) => r[0])).toEqual([0n, 1n, 2n]);
  });
  it('magic 0 lz4 wrapper with the pre-0.10 header checksum (KAFKA-3160) is accepted; magic 1 is not', () => {
    const broken = (inner: Buffer) => {
      const frame = compress(CompressionType.Lz4, inner);
      frame[6] = (xxh32(frame, 0, 6) >>> 8) & 0xff; // checksum over magic + descriptor
      return frame;
    };
    const v0 = Buffer.from(MessageSet({ messageVersion: 0, entries: [{ compression: 3, key: null, value: broken(set(0)) }] }).buffer);
    expect(content(upconvertMessageSet(v0, limits))).toHaveLength(3);
    const v1 = Buffer.from(
      MessageSet({ messageVersion: 1, entries: [{ compression: 3, timestamp: 1, key: null, value: broken(set(1)) }] }).buffer,
    );
    expect(codeOf(() => upconvertMessageSet(v1, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('message CRC mismatch -> CORRUPT_MESSAGE, for outer and inner messages', () => {
    const plain = set(1);
    plain[plain.length - 1] = plain[plain.length - 1]! ^ 1;
    expect(codeOf(() => upconvertMessageSet(plain, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const inner = set(1, 1);
    inner[30] = inner[30]! ^ 1;
    expect(codeOf(() => upconvertMessageSet(wrapped(1, 1, inner), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('truncated set -> CORRUPT_MESSAGE', () => {
    const plain = set(1);
    expect(codeOf(() => upconvertMessageSet(plain.subarray(0, plain.length - 3), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('mixed magic -> INVALID_RECORD', () => {
    expect(codeOf(() => upconvertMessageSet(Buffer.concat([set(0), set(1)]), limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('two compressed wrappers, or a wrapper beside plain messages -> INVALID_RECORD', () => {
    const w = wrapped(1, 1, set(1, 1));
    expect(codeOf(() => upconvertMessageSet(Buffer.concat([w, w]), limits))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => upconvertMessageSet(Buffer.concat([set(1), w]), limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('a compressed message inside a wrapper -> INVALID_RECORD', () => {
    expect(codeOf(() => upconvertMessageSet(wrapped(1, 1, wrapped(1, 1, set(1, 1))), limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('LogAppendTime claimed by the producer -> INVALID_TIMESTAMP', () => {
    const plain = set(1);
    plain[17] = 0x08; // attributes of the first message
    plain.writeUInt32BE(crc32(plain, 16, 12 + plain.readInt32BE(8)), 12);
    expect(codeOf(() => upconvertMessageSet(plain, limits))).toBe(ErrorCode.INVALID_TIMESTAMP);
  });
  it('zstd in a legacy message -> UNSUPPORTED_COMPRESSION_TYPE', () => {
    const plain = set(1);
    plain[17] = 4;
    plain.writeUInt32BE(crc32(plain, 16, 12 + plain.readInt32BE(8)), 12);
    expect(codeOf(() => upconvertMessageSet(plain, limits))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });
  it('message or converted batch over maxBatchBytes -> MESSAGE_TOO_LARGE', () => {
    const big = Buffer.from(MessageSet({ messageVersion: 1, entries: [{ key: null, value: Buffer.alloc(5000), timestamp: 1 }] }).buffer);
    expect(codeOf(() => upconvertMessageSet(big, { maxBatchBytes: 4000 }))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    const many = Buffer.from(
      MessageSet({ messageVersion: 1, entries: Array.from({ length: 10 }, () => ({ key: null, value: Buffer.alloc(900), timestamp: 1 })) }).buffer,
    );
    expect(codeOf(() => upconvertMessageSet(many, { maxBatchBytes: 4000 }))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

describe('crc32', () => {
  it('matches the standard check value and kafkajs', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const kjsCrc = require('kafkajs/src/protocol/crc32.js') as (e: { buffer: Buffer }) => number;
    const data = Buffer.from('kafka-mysql legacy message');
    expect(crc32(data)).toBe(kjsCrc({ buffer: data }) >>> 0);
  });
});
