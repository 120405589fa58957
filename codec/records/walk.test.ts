import { describe, expect, it } from 'vitest';
import { CompressionType, BATCH_LENGTH } from './batch-header.js';
import { buildRecordBatch } from './records.js';
import { forEachRecordTimestamp } from './timestamps.js';
import { walkRecords } from './walk.js';

const records = [
  { key: 'a', value: 'one', timestamp: 1_000n },
  { key: 'b', value: 'two', timestamp: 1_500n },
  { key: 'c', value: 'three', timestamp: 1_200n },
];

describe('walkRecords', () => {
  it('gives each record its absolute offset, timestamp and place, compressed or not', () => {
    for (const compression of [CompressionType.None, CompressionType.Gzip]) {
      const batch = buildRecordBatch({ baseOffset: 40n, records, compression });
      const seen: Array<[number, bigint, bigint, number]> = [];
      const data = walkRecords(batch, {}, (place) => {
        seen.push([place.index, place.offset, place.timestamp, place.end - place.start]);
      });
      expect(seen.map(([i, o, t]) => [i, o, t])).toEqual([
        [0, 40n, 1_000n],
        [1, 41n, 1_500n],
        [2, 42n, 1_200n],
      ]);
      // The places tile the records section exactly.
      expect(seen.reduce((sum, s) => sum + s[3], 0)).toBe(data.length);
    }
  });

  it('stops when the visitor returns false', () => {
    const batch = buildRecordBatch({ records });
    const offsets: bigint[] = [];
    walkRecords(batch, {}, (place) => {
      offsets.push(place.offset);
      return place.index < 1;
    });
    expect(offsets).toEqual([0n, 1n]);
  });

  it('gives LogAppendTime batches their max timestamp for every record', () => {
    const batch = buildRecordBatch({ records, timestampType: 'logAppend', logAppendTime: 9_999n });
    const timestamps: bigint[] = [];
    forEachRecordTimestamp(batch, (_i, _o, ts) => timestamps.push(ts));
    expect(timestamps).toEqual([9_999n, 9_999n, 9_999n]);
  });

  it('refuses bytes after the last record and records longer than the batch as CORRUPT_MESSAGE', () => {
    const batch = buildRecordBatch({ records });
    const padded = Buffer.concat([batch, Buffer.alloc(3)]);
    padded.writeInt32BE(batch.readInt32BE(BATCH_LENGTH) + 3, BATCH_LENGTH);
    expect(() => walkRecords(padded, {}, () => undefined)).toThrow(/3 bytes after the batch's 3 records/);
    const truncated = Buffer.from(batch.subarray(0, batch.length - 2));
    truncated.writeInt32BE(batch.readInt32BE(BATCH_LENGTH) - 2, BATCH_LENGTH);
    expect(() => walkRecords(truncated, {}, () => undefined)).toThrow(/malformed record/);
  });
});
