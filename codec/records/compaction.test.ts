import { beforeAll, describe, expect, it } from 'vitest';
import { loadZstdCompressor } from '../compression/zstd.js';
import { CompressionType, readBatchInfo } from './batch-header.js';
import { recordsWithoutKey, rewriteBatch, scanBatchForCompaction } from './compaction.js';
import { computeBatchCrc } from './crc32c.js';
import { buildRecordBatch, decodeBatchRecords } from './records.js';

function batch(compression: CompressionType) {
  return buildRecordBatch({
    baseOffset: 100n,
    compression,
    producerId: 77n,
    producerEpoch: 3,
    baseSequence: 40,
    transactional: true,
    partitionLeaderEpoch: 9,
    records: [
      { key: 'a', value: 'one', timestamp: 1000n, headers: [{ key: 'h', value: 'x' }] },
      { key: 'b', value: null, timestamp: 1005n },
      { key: null, value: 'three', timestamp: 1002n },
      { key: 'a', value: 'four', timestamp: 1001n },
    ],
  });
}

describe('compaction codec', () => {
  beforeAll(() => loadZstdCompressor());

  for (const codec of [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
    it(`scans and rewrites a batch keeping header fields (codec ${codec})`, () => {
      const original = batch(codec);
      const scanned = scanBatchForCompaction(original);
      expect(scanned.records.map((r) => [r.offset, r.key?.toString() ?? null, r.tombstone, r.timestamp])).toEqual([
        [100n, 'a', false, 1000n],
        [101n, 'b', true, 1005n],
        [102n, null, false, 1002n],
        [103n, 'a', false, 1001n],
      ]);
      expect(rewriteBatch(original, scanned, [true, true, true, true])).toBe(original);

      const out = rewriteBatch(original, scanned, [false, false, true, true]);
      const before = readBatchInfo(original, 0);
      const after = readBatchInfo(out, 0);
      expect(after).toMatchObject({
        size: out.length,
        baseOffset: 100n,
        partitionLeaderEpoch: 9,
        attributes: before.attributes,
        lastOffsetDelta: 3,
        baseTimestamp: 1000n,
        maxTimestamp: 1002n,
        producerId: 77n,
        producerEpoch: 3,
        baseSequence: 40,
        recordCount: 2,
        compression: codec,
        isTransactional: true,
      });
      expect(out.readUInt32BE(17)).toBe(computeBatchCrc(out, 0, out.length));
      expect(decodeBatchRecords(out).map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp])).toEqual([
        [102n, null, 'three', 1002n],
        [103n, 'a', 'four', 1001n],
      ]);
    });
  }

  it('a batch left with no records is the header alone, uncompressed, lastOffsetDelta and producer fields kept', () => {
    const original = batch(CompressionType.Gzip);
    const out = rewriteBatch(original, scanBatchForCompaction(original), [false, false, false, false]);
    expect(out.length).toBe(61);
    expect(readBatchInfo(out, 0)).toMatchObject({
      size: 61,
      baseOffset: 100n,
      lastOffsetDelta: 3,
      recordCount: 0,
      compression: CompressionType.None,
      isTransactional: true,
      producerId: 77n,
      baseSequence: 40,
      baseTimestamp: 1005n,
      maxTimestamp: 1005n,
    });
    expect(out.readUInt32BE(17)).toBe(computeBatchCrc(out, 0, out.length));
    expect(decodeBatchRecords(out)).toEqual([]);
  });

  it('finds the records without a key, compressed or not', () => {
    expect(recordsWithoutKey(batch(CompressionType.None))).toEqual([2]);
    expect(recordsWithoutKey(batch(CompressionType.Zstd))).toEqual([2]);
    expect(recordsWithoutKey(buildRecordBatch({ records: [{ key: 'k', value: 'v' }] }))).toEqual([]);
  });
});
