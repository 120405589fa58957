/**
 * Every record of a v2 batch with its key, value and headers, plus the scan rewriteBatch needs
 * to drop some of them (codec/records/compaction.ts). No I/O. Used by delayed delivery
 * (server/delayed/) only for topics with delayed.delivery.enable, so other topics' produce
 * path decodes nothing.
 */
import { ErrorCode, KafkaError } from '../error-codes.js';
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import { scanBatchForCompaction, type ScannedBatch, type ScanOptions } from './compaction.js';
import type { RecordHeader } from './records.js';

export interface HeaderedRecord {
  offsetDelta: number;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface HeaderedBatch {
  scanned: ScannedBatch;
  records: HeaderedRecord[];
}

function readVarBytes(r: Reader): Buffer | null {
  const length = r.varint();
  if (length < -1 || length > r.remaining) throw new DecodeError(`length ${length}`);
  return length === -1 ? null : r.rawBytes(length);
}

export function headeredRecordsOfBatch(batch: Buffer, options: ScanOptions = {}): HeaderedBatch {
  const scanned = scanBatchForCompaction(batch, options);
  const records: HeaderedRecord[] = [];
  try {
    for (const rec of scanned.records) {
      const r = new Reader(scanned.data.subarray(rec.start, rec.end));
      r.varint(); // length
      r.skip(1); // attributes
      r.varlong(); // timestamp delta (scanned.records has the absolute timestamp)
      const offsetDelta = r.varint();
      const key = readVarBytes(r);
      const value = readVarBytes(r);
      const count = r.varint();
      if (count < 0 || count > r.remaining) throw new DecodeError(`header count ${count}`);
      const headers: RecordHeader[] = [];
      for (let h = 0; h < count; h++) {
        const k = readVarBytes(r);
        if (k === null) throw new DecodeError('null header key');
        headers.push({ key: k.toString('utf8'), value: readVarBytes(r) });
      }
      records.push({ offsetDelta, timestamp: rec.timestamp, key, value, headers });
    }
  } catch (err) {
    if (err instanceof DecodeError) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `malformed record: ${err.message}`);
    throw err;
  }
  return { scanned, records };
}
