import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_TIMESTAMP,
  COMPRESSION_MASK,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT,
  TIMESTAMP_TYPE_LOG_APPEND,
} from '../codec/records/batch-header.js';
import type { OffsetAndTimestamp } from './types.js';

/**
 * Finding one record inside a stored batch, for ListOffsets. Prefers the codec's
 * implementation (codec/records/records.ts: findOffsetForTimestamp / maxTimestampRecord, which
 * also handles compressed batches); until that module exists, walks uncompressed batches here
 * and answers at batch granularity for compressed ones.
 */
interface RecordsModule {
  findOffsetForTimestamp(batch: Buffer, ts: bigint): OffsetAndTimestamp | null;
  maxTimestampRecord(batch: Buffer): OffsetAndTimestamp;
}

let codec: Promise<RecordsModule | null> | undefined;

function loadCodec(): Promise<RecordsModule | null> {
  // A computed specifier: the module is optional while the codec is being written.
  const specifier = '../codec/records/records.js';
  codec ??= import(specifier).then(
    (m: Partial<RecordsModule>) =>
      typeof m.findOffsetForTimestamp === 'function' && typeof m.maxTimestampRecord === 'function' ? (m as RecordsModule) : null,
    () => null,
  );
  return codec;
}

export async function findOffsetForTimestamp(batch: Buffer, ts: bigint): Promise<OffsetAndTimestamp | null> {
  const m = await loadCodec();
  if (m) return m.findOffsetForTimestamp(batch, ts);
  const base = batch.readBigInt64BE(BASE_OFFSET);
  const maxTs = batch.readBigInt64BE(MAX_TIMESTAMP);
  if (maxTs < ts) return null;
  const attributes = batch.readInt16BE(ATTRIBUTES);
  if (attributes & TIMESTAMP_TYPE_LOG_APPEND || attributes & COMPRESSION_MASK) return { offset: base, timestamp: maxTs };
  for (const r of walk(batch)) if (r.timestamp >= ts) return r;
  return { offset: base, timestamp: maxTs };
}

export async function maxTimestampRecord(batch: Buffer): Promise<OffsetAndTimestamp> {
  const m = await loadCodec();
  if (m) return m.maxTimestampRecord(batch);
  const base = batch.readBigInt64BE(BASE_OFFSET);
  const maxTs = batch.readBigInt64BE(MAX_TIMESTAMP);
  const attributes = batch.readInt16BE(ATTRIBUTES);
  if (attributes & TIMESTAMP_TYPE_LOG_APPEND) return { offset: base, timestamp: maxTs };
  if (attributes & COMPRESSION_MASK) return { offset: base + BigInt(batch.readInt32BE(LAST_OFFSET_DELTA)), timestamp: maxTs };
  let best: OffsetAndTimestamp | null = null;
  for (const r of walk(batch)) if (best === null || r.timestamp > best.timestamp) best = r;
  return best ?? { offset: base, timestamp: maxTs };
}

/** Offsets and timestamps of an uncompressed batch's records. */
function* walk(batch: Buffer): Generator<OffsetAndTimestamp> {
  const base = batch.readBigInt64BE(BASE_OFFSET);
  const baseTs = batch.readBigInt64BE(BASE_TIMESTAMP);
  const count = batch.readInt32BE(RECORDS_COUNT);
  let pos = RECORD_BATCH_OVERHEAD;
  for (let i = 0; i < count && pos < batch.length; i++) {
    const len = readVarlong(batch, pos);
    const bodyStart = len.next;
    const attrsEnd = bodyStart + 1;
    const tsDelta = readVarlong(batch, attrsEnd);
    const offDelta = readVarlong(batch, tsDelta.next);
    yield { offset: base + offDelta.value, timestamp: baseTs + tsDelta.value };
    pos = bodyStart + Number(len.value);
  }
}

function readVarlong(buf: Buffer, pos: number): { value: bigint; next: number } {
  let raw = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length || shift > 63n) throw new Error('malformed varint in stored batch');
    const b = buf[pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
  }
  return { value: (raw >> 1n) ^ -(raw & 1n), next: pos };
}
