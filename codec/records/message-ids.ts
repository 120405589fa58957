/**
 * Message ids of a v2 batch for per-topic deduplication (server/dedupe/): each record's value
 * of one named header, with the record's offset delta, read from the (decompressed) records
 * that scanBatchForCompaction located. No I/O. Only called for topics with message.id.header
 * set, so other topics' produce path decodes nothing.
 */
import { ErrorCode, KafkaError } from '../error-codes.js';
import { DecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import { scanBatchForCompaction, type ScannedBatch, type ScanOptions } from './compaction.js';

export interface BatchMessageIds {
  scanned: ScannedBatch;
  /** Per record: the header's value (the first header with that key), or null when absent. */
  ids: (Buffer | null)[];
  /** Per record: its offset delta within the batch. */
  offsetDeltas: number[];
}

export function messageIdsOfBatch(batch: Buffer, headerKey: string, options: ScanOptions = {}): BatchMessageIds {
  const scanned = scanBatchForCompaction(batch, options);
  const wanted = Buffer.from(headerKey, 'utf8');
  const ids: (Buffer | null)[] = [];
  const offsetDeltas: number[] = [];
  try {
    for (const rec of scanned.records) {
      const r = new Reader(scanned.data.subarray(rec.start, rec.end));
      r.varint(); // length
      r.skip(1); // attributes
      r.varlong(); // timestamp delta
      offsetDeltas.push(r.varint());
      skipBytes(r); // key
      skipBytes(r); // value
      const count = r.varint();
      if (count < 0 || count > r.remaining) throw new DecodeError(`header count ${count}`);
      let found: Buffer | null = null;
      for (let h = 0; h < count; h++) {
        const keyLength = r.varint();
        if (keyLength < 0 || keyLength > r.remaining) throw new DecodeError(`header key length ${keyLength}`);
        const key = r.rawBytes(keyLength);
        const valueLength = r.varint();
        if (valueLength < -1 || valueLength > r.remaining) throw new DecodeError(`header value length ${valueLength}`);
        const value = valueLength === -1 ? null : r.rawBytes(valueLength);
        if (found === null && value !== null && key.equals(wanted)) found = value;
      }
      ids.push(found);
    }
  } catch (err) {
    if (err instanceof DecodeError) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `malformed record: ${err.message}`);
    throw err;
  }
  return { scanned, ids, offsetDeltas };
}

function skipBytes(r: Reader): void {
  const length = r.varint();
  if (length < -1 || length > r.remaining) throw new DecodeError(`length ${length}`);
  if (length > 0) r.skip(length);
}
