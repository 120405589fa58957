import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadZstdCompressor } from '../compression/index.js';
import { ErrorCode } from '../error-codes.js';
import {
  ATTRIBUTES,
  BATCH_LENGTH,
  CompressionType,
  LAST_OFFSET_DELTA,
  MAGIC,
  PRODUCER_ID,
  RECORDS_COUNT,
  RECORD_BATCH_OVERHEAD,
} from './batch-header.js';
import { writeBatchCrc } from './crc32c.js';
import { buildControlBatch, buildRecordBatch } from './records.js';
import { parseRecordBatches } from './validate.js';
import { codeOf } from '../error-codes.testing.js';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');

interface KjsRecord {
  key?: string | null;
  value: string | null;
  offsetDelta?: number;
  timestampDelta?: number;
  headers?: Record<string, string>;
}

async function kafkajsBatch(records: KjsRecord[], opts: Record<string, unknown> = {}): Promise<Buffer> {
  const encoded = records.map((r, i) => Record({ offsetDelta: i, timestampDelta: i, ...r }));
  const enc = await RecordBatch({
    records: encoded,
    lastOffsetDelta: records.length - 1,
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000 + records.length - 1,
    ...opts,
  });
  return Buffer.from(enc.buffer as Buffer);
}

const three: KjsRecord[] = [
  { key: 'k0', value: 'v0', headers: { h: 'x' } },
  { key: null, value: 'v1' },
  { key: 'k2', value: null },
];
const limits = { maxBatchBytes: 1024 * 1024 };

/** Applies `edit` to a copy of `batch` and fixes the CRC, so only the edited rule is broken. */
function edited(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(batch);
  edit(copy);
  writeBatchCrc(copy);
  return copy;
}


// buildRecordBatch writes zstd only with the compressor loaded (the broker never needs it).
beforeAll(() => loadZstdCompressor());

describe('parseRecordBatches: accepted input', () => {
  it('reads a kafkajs batch (uncompressed) with the header fields kafkajs wrote', async () => {
    const batch = await kafkajsBatch(three, { producerId: 7, producerEpoch: 2, firstSequence: 11 });
    const [info, ...rest] = parseRecordBatches(batch, limits);
    expect(rest).toHaveLength(0);
    expect(info).toMatchObject({
      position: 0,
      size: batch.length,
      baseOffset: 0n,
      magic: 2,
      lastOffsetDelta: 2,
      recordCount: 3,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_002n,
      producerId: 7n,
      producerEpoch: 2,
      baseSequence: 11,
      compression: CompressionType.None,
      isTransactional: false,
      isControl: false,
      logAppendTime: false,
    });
  });
  it('reads a kafkajs gzip batch without decompressing it', async () => {
    const batch = await kafkajsBatch(three, { compression: 1, transactional: true, producerId: 3, firstSequence: 0 });
    const [info] = parseRecordBatches(batch, limits);
    expect(info!.compression).toBe(CompressionType.Gzip);
    expect(info!.isTransactional).toBe(true);
    expect(info!.recordCount).toBe(3);
  });
  it('reads batches built here with every codec', () => {
    for (const compression of [0, 1, 2, 3, 4] as CompressionType[]) {
      const batch = buildRecordBatch({ compression, records: [{ value: 'a' }, { key: 'b', value: 'c' }] });
      expect(parseRecordBatches(batch, limits)[0]!.compression).toBe(compression);
    }
  });
  it('reads several batches back to back, positions pointing into the input, which is left unchanged', async () => {
    const a = await kafkajsBatch(three);
    const b = await kafkajsBatch([{ value: 'x' }], { compression: 1 });
    const both = Buffer.concat([a, b]);
    const before = Buffer.from(both);
    const infos = parseRecordBatches(both, limits);
    expect(infos.map((i) => [i.position, i.size])).toEqual([
      [0, a.length],
      [a.length, b.length],
    ]);
    expect(both.equals(before)).toBe(true);
  });
  it('ignores the base offset a client sent', async () => {
    const batch = await kafkajsBatch(three, { firstOffset: require('kafkajs/src/utils/long').fromNumber(12345) });
    expect(parseRecordBatches(batch, limits)[0]!.baseOffset).toBe(12345n);
  });
  it('does not look inside compressed records (the CRC covers them; clients validate on read)', async () => {
    const batch = await kafkajsBatch(three, { compression: 1 });
    const garbled = edited(batch, (b) => b.fill(0x41, RECORD_BATCH_OVERHEAD + 10, b.length));
    expect(parseRecordBatches(garbled, limits)).toHaveLength(1);
  });
  it("accepts transaction markers and empty batches only with origin 'internal'", () => {
    const marker = buildControlBatch({ producerId: 9n, producerEpoch: 0, commit: true, coordinatorEpoch: 1, timestamp: 5n });
    expect(codeOf(() => parseRecordBatches(marker, limits))).toBe(ErrorCode.INVALID_RECORD);
    expect(parseRecordBatches(marker, { ...limits, origin: 'internal' })[0]!.isControl).toBe(true);
  });
});

describe('parseRecordBatches: rejected input', () => {
  it('CRC mismatch in the records -> CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(three);
    batch[batch.length - 3] = batch[batch.length - 3]! ^ 0x20;
    expect(codeOf(() => parseRecordBatches(batch, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('CRC mismatch in the header (attributes) -> CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(three);
    batch[ATTRIBUTES + 1] = 1;
    expect(codeOf(() => parseRecordBatches(batch, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('truncated batch, truncated header, trailing partial batch -> CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(batch.subarray(0, batch.length - 1), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(codeOf(() => parseRecordBatches(batch.subarray(0, 10), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(codeOf(() => parseRecordBatches(Buffer.concat([batch, batch.subarray(0, 30)]), limits))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
  });
  it('huge or too small batchLength -> CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt32BE(0x7fffffff, BATCH_LENGTH)), limits))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt32BE(48, BATCH_LENGTH)), limits))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt32BE(-5, BATCH_LENGTH)), limits))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
  });
  it('batch larger than maxBatchBytes -> MESSAGE_TOO_LARGE', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(batch, { maxBatchBytes: batch.length - 1 }))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(parseRecordBatches(batch, { maxBatchBytes: batch.length })).toHaveLength(1);
  });
  it('lastOffsetDelta disagreeing with the count -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt32BE(5, LAST_OFFSET_DELTA)), limits))).toBe(
      ErrorCode.INVALID_RECORD,
    );
  });
  it('record count 0 or negative from a client -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    const zero = edited(batch, (b) => {
      b.writeInt32BE(0, RECORDS_COUNT);
      b.writeInt32BE(-1, LAST_OFFSET_DELTA);
    });
    expect(codeOf(() => parseRecordBatches(zero, limits))).toBe(ErrorCode.INVALID_RECORD);
    const negative = edited(batch, (b) => b.writeInt32BE(-3, RECORDS_COUNT));
    expect(codeOf(() => parseRecordBatches(negative, limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('count larger than the records present -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    const more = edited(batch, (b) => {
      b.writeInt32BE(4, RECORDS_COUNT);
      b.writeInt32BE(3, LAST_OFFSET_DELTA);
    });
    expect(codeOf(() => parseRecordBatches(more, limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('offset deltas not 0..n-1 in an uncompressed batch -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch([
      { value: 'a', offsetDelta: 0 },
      { value: 'b', offsetDelta: 2 },
      { value: 'c', offsetDelta: 1 },
    ]);
    expect(codeOf(() => parseRecordBatches(batch, limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('bytes left over after the records -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    const longer = Buffer.concat([batch, Buffer.from([0])]);
    longer.writeInt32BE(longer.length - 12, BATCH_LENGTH);
    writeBatchCrc(longer);
    expect(codeOf(() => parseRecordBatches(longer, limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('a record whose declared length disagrees with its fields -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch([{ value: 'abc' }]);
    // first record length varint is at the start of the records; zig-zag 2*len
    const broken = edited(batch, (b) => {
      b[RECORD_BATCH_OVERHEAD] = b[RECORD_BATCH_OVERHEAD]! - 2;
    });
    expect(codeOf(() => parseRecordBatches(broken, limits))).toBe(ErrorCode.INVALID_RECORD);
  });
  it('magic 0/1 -> INVALID_RECORD, unknown magic -> CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt8(1, MAGIC)), limits))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt8(3, MAGIC)), limits))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
  });
  it('control batch from a client -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt16BE(0x20, ATTRIBUTES)), limits))).toBe(
      ErrorCode.INVALID_RECORD,
    );
  });
  it('producer id without a base sequence -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three, { producerId: 4, firstSequence: -1 });
    expect(codeOf(() => parseRecordBatches(batch, limits))).toBe(ErrorCode.INVALID_RECORD);
    // without a producer id, a -1 sequence is what non-idempotent clients send
    expect(parseRecordBatches(edited(batch, (b) => b.writeBigInt64BE(-1n, PRODUCER_ID)), limits)).toHaveLength(1);
  });
  it('LogAppendTime set by the producer -> INVALID_TIMESTAMP', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt16BE(0x08, ATTRIBUTES)), limits))).toBe(
      ErrorCode.INVALID_TIMESTAMP,
    );
  });
  it('codec 5-7 -> UNSUPPORTED_COMPRESSION_TYPE', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(edited(batch, (b) => b.writeInt16BE(6, ATTRIBUTES)), limits))).toBe(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    );
  });
  it('more than one batch when singleBatch is set -> INVALID_RECORD; empty input -> INVALID_RECORD', async () => {
    const batch = await kafkajsBatch(three);
    expect(codeOf(() => parseRecordBatches(Buffer.concat([batch, batch]), { ...limits, singleBatch: true }))).toBe(
      ErrorCode.INVALID_RECORD,
    );
    expect(codeOf(() => parseRecordBatches(Buffer.alloc(0), limits))).toBe(ErrorCode.INVALID_RECORD);
  });
});
