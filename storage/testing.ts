import {
  ATTRIBUTES,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT,
  readBatchInfo,
  type BatchInfo,
} from '../codec/records/batch-header.js';
import { writeBatchCrc } from '../codec/records/crc32c.js';
import type { Pool } from 'mysql2/promise';
import type { Storage } from './index.js';
import { storageInternals } from './internals.js';
import type { MysqlLogManager } from './log-manager.js';
import type { MysqlTopicCatalog } from './topic-catalog.js';

/**
 * Test helpers: hand-built v2 record batches (uncompressed, valid CRC), so storage tests do not
 * depend on the client side of the codec.
 */
export interface TestBatchSpec {
  /** Record values (keys are null). */
  values: Array<Buffer | string>;
  baseTimestamp?: bigint;
  /** Per-record timestamps; default baseTimestamp + index. */
  timestamps?: bigint[];
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
}

export function buildTestBatch(spec: TestBatchSpec): Buffer {
  const baseTs = spec.baseTimestamp ?? 1_700_000_000_000n;
  const timestamps = spec.timestamps ?? spec.values.map((_, i) => baseTs + BigInt(i));
  const records: Buffer[] = [];
  spec.values.forEach((v, i) => {
    const value = typeof v === 'string' ? Buffer.from(v) : v;
    const body = Buffer.concat([
      Buffer.from([0]), // attributes
      varlong(timestamps[i]! - baseTs),
      varlong(BigInt(i)),
      varlong(-1n), // null key
      varlong(BigInt(value.length)),
      value,
      varlong(0n), // headers
    ]);
    records.push(varlong(BigInt(body.length)), body);
  });
  const recordBytes = Buffer.concat(records);
  const buf = Buffer.alloc(RECORD_BATCH_OVERHEAD + recordBytes.length);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, MAGIC);
  buf.writeInt16BE(spec.attributes ?? 0, ATTRIBUTES);
  buf.writeInt32BE(spec.values.length - 1, LAST_OFFSET_DELTA);
  buf.writeBigInt64BE(baseTs, BASE_TIMESTAMP);
  buf.writeBigInt64BE(timestamps.reduce((a, b) => (b > a ? b : a), baseTs), MAX_TIMESTAMP);
  buf.writeBigInt64BE(spec.producerId ?? -1n, PRODUCER_ID);
  buf.writeInt16BE(spec.producerEpoch ?? -1, PRODUCER_EPOCH);
  buf.writeInt32BE(spec.baseSequence ?? -1, BASE_SEQUENCE);
  buf.writeInt32BE(spec.values.length, RECORDS_COUNT);
  recordBytes.copy(buf, RECORD_BATCH_OVERHEAD);
  writeBatchCrc(buf);
  return buf;
}

/** Batches back to back, with their headers (what the produce path hands to append). */
export function concatBatches(batches: Buffer[]): { records: Buffer; infos: BatchInfo[] } {
  const records = Buffer.concat(batches);
  return { records, infos: readAllBatchInfos(records) };
}

export function readAllBatchInfos(records: Buffer): BatchInfo[] {
  const infos: BatchInfo[] = [];
  let pos = 0;
  while (pos < records.length) {
    const info = readBatchInfo(records, pos);
    infos.push(info);
    pos += info.size;
  }
  return infos;
}

function varlong(v: bigint): Buffer {
  let z = (v << 1n) ^ (v >> 63n);
  z &= (1n << 64n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

/**
 * The pools behind a Storage, for tests that set up or check rows with SQL. Production code
 * never reaches them: outside storage/, only the Storage interface's services exist.
 */
export function testPools(storage: Storage): { metadataPool: Pool; shardPools: Pool[] } {
  const { shards } = storageInternals(storage);
  return { metadataPool: shards.metadataPool, shardPools: shards.shardPools };
}

/** The MySQL catalog behind a Storage (its MySQL-only reads, e.g. storedTopicIds), for tests. */
export function testCatalog(storage: Storage): MysqlTopicCatalog {
  return storageInternals(storage).catalog;
}

/** The MySQL log manager behind a Storage (its partition logs' MySQL reads and cache state), for tests. */
export function testLogs(storage: Storage): MysqlLogManager {
  return storageInternals(storage).logs;
}
