import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadZstdCompressor } from '../compression/index.js';
import { ErrorCode } from '../error-codes.js';
import { CompressionType, RECORD_BATCH_OVERHEAD, readBatchInfo } from './batch-header.js';
import { writeBatchCrc } from './crc32c.js';
import { setLogAppendTime } from './log-append-time.js';
import {
  buildControlBatch,
  buildRecordBatch,
  decodeBatchRecords,
  decodeControlRecord,
  findOffsetForTimestamp,
  maxTimestampRecord,
  type KafkaRecord,
  type RecordInput,
} from './records.js';
import { parseRecordBatches } from './validate.js';
import { codeOf } from '../error-codes.testing.js';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeKafkajs = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<KjsBatch>;
const Long = require('kafkajs/src/utils/long.js');

interface KjsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
interface KjsBatch {
  firstOffset: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  timestampType: number;
  records: KjsRecord[];
}

const kjsDecode = (batch: Buffer): Promise<KjsBatch> => decodeKafkajs(new Decoder(batch));
const str = (b: Buffer | null): string | null => (b === null ? null : b.toString());
const ours = (r: KafkaRecord) => ({
  offset: r.offset,
  timestamp: r.timestamp,
  key: str(r.key),
  value: str(r.value),
  headers: r.headers.map((h) => [h.key, str(h.value)]),
});
const theirs = (r: KjsRecord) => ({
  offset: BigInt(r.offset),
  timestamp: BigInt(r.timestamp),
  key: str(r.key),
  value: str(r.value),
  headers: Object.entries(r.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, str(x)])),
});

const inputs: RecordInput[] = [
  { key: 'order-1', value: '{"qty":1}', timestamp: 1_700_000_000_500n, headers: [{ key: 'trace', value: 'abc' }] },
  { key: null, value: 'no key', timestamp: 1_700_000_000_100n },
  { key: 'tombstone', value: null, timestamp: 1_700_000_000_900n, headers: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] },
  { key: Buffer.alloc(0), value: Buffer.from([0, 1, 2, 255]), timestamp: 1_700_000_000_900n },
];


// buildRecordBatch writes zstd only with the compressor loaded (the broker never needs it).
beforeAll(() => loadZstdCompressor());

describe('decoding batches kafkajs encoded', () => {
  for (const compression of [CompressionType.None, CompressionType.Gzip]) {
    it(`${CompressionType[compression]}: same records as kafkajs's own decoder sees`, async () => {
      const encoded = [
        Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('k0'), value: Buffer.from('v0'), headers: { h: 'x', multi: ['1', '2'] } }),
        Record({ offsetDelta: 1, timestampDelta: -50, key: null, value: Buffer.from('v1') }),
        Record({ offsetDelta: 2, timestampDelta: 70, key: Buffer.from('k2'), value: null }),
      ];
      const enc = await RecordBatch({
        compression,
        firstOffset: Long.fromNumber(100),
        records: encoded,
        lastOffsetDelta: 2,
        firstTimestamp: 1_600_000_000_000,
        maxTimestamp: 1_600_000_000_070,
      });
      const batch = Buffer.from(enc.buffer as Buffer);
      const mine = decodeBatchRecords(batch).map(ours);
      expect(mine).toEqual((await kjsDecode(batch)).records.map(theirs));
      expect(mine.map((r) => r.offset)).toEqual([100n, 101n, 102n]);
      expect(mine.map((r) => r.timestamp)).toEqual([1_600_000_000_000n, 1_599_999_999_950n, 1_600_000_000_070n]);
      expect(mine[0]!.headers).toEqual([
        ['h', 'x'],
        ['multi', '1'],
        ['multi', '2'],
      ]);
    });
  }
});

describe('buildRecordBatch', () => {
  for (const compression of [CompressionType.None, CompressionType.Gzip]) {
    it(`${CompressionType[compression]}: kafkajs decodes it to the same content and header fields`, async () => {
      const batch = buildRecordBatch({
        baseOffset: 42n,
        records: inputs,
        compression,
        producerId: 1234n,
        producerEpoch: 3,
        baseSequence: 17,
        transactional: true,
      });
      parseRecordBatches(batch, { maxBatchBytes: 1 << 20 });
      const kjs = await kjsDecode(batch);
      expect(kjs.firstOffset).toBe('42');
      expect(kjs.producerId).toBe('1234');
      expect(kjs.producerEpoch).toBe(3);
      expect(kjs.firstSequence).toBe(17);
      expect(kjs.inTransaction).toBe(true);
      expect(kjs.isControlBatch).toBe(false);
      expect(kjs.records.map(theirs)).toEqual(decodeBatchRecords(batch).map(ours));
      expect(kjs.records.map((r) => r.value === null)).toEqual([false, false, true, false]);
      expect(kjs.records.map((r) => r.timestamp)).toEqual(['1700000000500', '1700000000100', '1700000000900', '1700000000900']);
    });
  }
  for (const compression of [CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
    it(`${CompressionType[compression]}: decodes back to the records given`, () => {
      const batch = buildRecordBatch({ baseOffset: 7n, records: inputs, compression });
      expect(parseRecordBatches(batch, { maxBatchBytes: 1 << 20 })[0]!.compression).toBe(compression);
      const records = decodeBatchRecords(batch);
      expect(records.map((r) => r.offset)).toEqual([7n, 8n, 9n, 10n]);
      expect(records.map((r) => str(r.value))).toEqual(['{"qty":1}', 'no key', null, '\u0000\u0001\u0002\ufffd']);
      expect(records[3]!.key).toEqual(Buffer.alloc(0));
      expect(records[1]!.key).toBeNull();
    });
  }
  it('writes base timestamp = first record, max timestamp = largest, defaults for producer fields', () => {
    const info = readBatchInfo(buildRecordBatch({ records: inputs }), 0);
    expect(info.baseTimestamp).toBe(1_700_000_000_500n);
    expect(info.maxTimestamp).toBe(1_700_000_000_900n);
    expect(info.producerId).toBe(-1n);
    expect(info.producerEpoch).toBe(-1);
    expect(info.baseSequence).toBe(-1);
    expect(info.partitionLeaderEpoch).toBe(-1);
    expect(info.lastOffsetDelta).toBe(3);
    expect(info.recordCount).toBe(4);
  });
  it("timestampType 'logAppend': every record carries the append time, for kafkajs too", async () => {
    const batch = buildRecordBatch({ records: inputs, timestampType: 'logAppend', logAppendTime: 1_800_000_000_000n });
    expect(readBatchInfo(batch, 0).logAppendTime).toBe(true);
    expect(decodeBatchRecords(batch).map((r) => r.timestamp)).toEqual(Array(4).fill(1_800_000_000_000n));
    expect((await kjsDecode(batch)).records.map((r) => r.timestamp)).toEqual(Array(4).fill('1800000000000'));
  });
  it('refuses an empty record list', () => {
    expect(() => buildRecordBatch({ records: [] })).toThrow(RangeError);
  });
});

describe('buildControlBatch', () => {
  for (const commit of [true, false]) {
    it(`${commit ? 'commit' : 'abort'} marker: kafkajs sees a transactional control batch with Kafka's key and value`, async () => {
      const batch = buildControlBatch({ producerId: 77n, producerEpoch: 4, commit, coordinatorEpoch: 9, timestamp: 1_000n, baseOffset: 500n });
      const info = parseRecordBatches(batch, { maxBatchBytes: 1 << 20, origin: 'internal' })[0]!;
      expect(info.isControl && info.isTransactional).toBe(true);
      expect(info.baseSequence).toBe(-1);
      const kjs = await kjsDecode(batch);
      expect(kjs.isControlBatch).toBe(true);
      expect(kjs.inTransaction).toBe(true);
      expect(kjs.records[0]!.key).toEqual(Buffer.from([0, 0, 0, commit ? 1 : 0]));
      expect(kjs.records[0]!.value).toEqual(Buffer.from([0, 0, 0, 0, 0, 9]));
      const [record] = decodeBatchRecords(batch);
      expect(record!.offset).toBe(500n);
      expect(decodeControlRecord(record!)).toEqual({ type: commit ? 'commit' : 'abort', coordinatorEpoch: 9 });
    });
  }
});

describe('timestamp look-ups', () => {
  const timestamps = [100n, 300n, 300n, 200n];
  for (const compression of [CompressionType.None, CompressionType.Lz4]) {
    const batch = buildRecordBatch({
      baseOffset: 1000n,
      compression,
      records: timestamps.map((timestamp, i) => ({ value: `v${i}`, timestamp })),
    });
    it(`${CompressionType[compression]}: findOffsetForTimestamp gives the first record at or after the target`, () => {
      expect(findOffsetForTimestamp(batch, 0n)).toEqual({ offset: 1000n, timestamp: 100n });
      expect(findOffsetForTimestamp(batch, 100n)).toEqual({ offset: 1000n, timestamp: 100n });
      expect(findOffsetForTimestamp(batch, 150n)).toEqual({ offset: 1001n, timestamp: 300n });
      expect(findOffsetForTimestamp(batch, 250n)).toEqual({ offset: 1001n, timestamp: 300n });
      expect(findOffsetForTimestamp(batch, 301n)).toBeNull();
    });
    it(`${CompressionType[compression]}: maxTimestampRecord gives the first record with the largest timestamp`, () => {
      expect(maxTimestampRecord(batch)).toEqual({ offset: 1001n, timestamp: 300n });
    });
  }
  it('LogAppendTime batches answer with the append time for every record', () => {
    const batch = buildRecordBatch({ baseOffset: 10n, records: timestamps.map((timestamp) => ({ value: 'x', timestamp })) });
    setLogAppendTime(batch, 5_000n);
    expect(findOffsetForTimestamp(batch, 4_000n)).toEqual({ offset: 10n, timestamp: 5_000n });
    expect(findOffsetForTimestamp(batch, 5_001n)).toBeNull();
    expect(maxTimestampRecord(batch)).toEqual({ offset: 10n, timestamp: 5_000n });
  });
});

describe('decoding malformed batches', () => {
  const batch = buildRecordBatch({ records: inputs });
  it('truncated -> CORRUPT_MESSAGE', () => {
    expect(codeOf(() => decodeBatchRecords(batch.subarray(0, batch.length - 2)))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(codeOf(() => decodeBatchRecords(batch.subarray(0, 30)))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('record count larger than the records -> CORRUPT_MESSAGE', () => {
    const copy = Buffer.from(batch);
    copy.writeInt32BE(9, 57);
    expect(codeOf(() => decodeBatchRecords(copy))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('garbage in place of compressed records -> CORRUPT_MESSAGE', () => {
    const gz = Buffer.from(buildRecordBatch({ records: inputs, compression: CompressionType.Gzip }));
    gz.fill(0x33, RECORD_BATCH_OVERHEAD + 12);
    writeBatchCrc(gz);
    expect(codeOf(() => decodeBatchRecords(gz))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('a compressed batch inflating past maxDecompressedBytes -> CORRUPT_MESSAGE', () => {
    const big = buildRecordBatch({ records: [{ value: Buffer.alloc(1 << 20) }], compression: CompressionType.Zstd });
    expect(big.length).toBeLessThan(1024);
    expect(codeOf(() => decodeBatchRecords(big, { maxDecompressedBytes: 64 * 1024 }))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(decodeBatchRecords(big)[0]!.value!.length).toBe(1 << 20);
  });
  it('not magic 2 -> CORRUPT_MESSAGE', () => {
    const copy = Buffer.from(batch);
    copy.writeInt8(1, 16);
    expect(codeOf(() => decodeBatchRecords(copy))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});
