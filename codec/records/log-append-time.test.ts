import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTES, CRC, MAX_TIMESTAMP, readBatchInfo } from './batch-header.js';
import { setLogAppendTime } from './log-append-time.js';
import { decodeBatchRecords } from './records.js';
import { parseRecordBatches } from './validate.js';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeKafkajs = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');

async function kafkajsBatch(compression: number): Promise<Buffer> {
  const records = [0, 1, 2].map((i) => Record({ offsetDelta: i, timestampDelta: i * 10, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }));
  const enc = await RecordBatch({ compression, records, lastOffsetDelta: 2, firstTimestamp: 1_000, maxTimestamp: 1_020 });
  return Buffer.from(enc.buffer as Buffer);
}

describe('setLogAppendTime', () => {
  for (const compression of [0, 1]) {
    it(`${compression ? 'gzip' : 'uncompressed'}: sets the type bit and max timestamp, keeps a valid CRC, kafkajs reads the append time`, async () => {
      const batch = await kafkajsBatch(compression);
      const before = Buffer.from(batch);
      setLogAppendTime(batch, 1_700_000_123_456n);

      const [info] = parseRecordBatches(batch, { maxBatchBytes: 1 << 20, origin: 'internal' });
      expect(info!.logAppendTime).toBe(true);
      expect(info!.maxTimestamp).toBe(1_700_000_123_456n);
      expect(info!.baseTimestamp).toBe(1_000n);
      expect(info!.compression).toBe(compression);

      const kjs = await decodeKafkajs(new Decoder(batch));
      expect(kjs.records.map((r: { timestamp: string }) => r.timestamp)).toEqual(Array(3).fill('1700000123456'));
      expect(decodeBatchRecords(batch).map((r) => r.timestamp)).toEqual(Array(3).fill(1_700_000_123_456n));

      // only attributes, max timestamp and CRC changed
      for (let i = 0; i < batch.length; i++) {
        const touched = (i >= CRC && i < CRC + 4) || (i >= ATTRIBUTES && i < ATTRIBUTES + 2) || (i >= MAX_TIMESTAMP && i < MAX_TIMESTAMP + 8);
        if (!touched) expect(batch[i]).toBe(before[i]);
      }
    });
  }
  it('works on a view inside a larger buffer without touching its neighbours', async () => {
    const a = await kafkajsBatch(0);
    const b = await kafkajsBatch(1);
    const both = Buffer.concat([a, b]);
    setLogAppendTime(both.subarray(a.length), 99n);
    expect(both.subarray(0, a.length).equals(a)).toBe(true);
    const infos = parseRecordBatches(both, { maxBatchBytes: 1 << 20, origin: 'internal' });
    expect(infos.map((i) => i.logAppendTime)).toEqual([false, true]);
    expect(readBatchInfo(both, a.length).maxTimestamp).toBe(99n);
  });
});
