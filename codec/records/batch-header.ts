/**
 * Record batch v2 (magic 2) header layout, read at fixed offsets. The CRC-32C covers
 * attributes to the end of the batch, so base offset and partition leader epoch can be
 * patched in place without recomputing it.
 */
export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORDS_COUNT = 57;
/** Size of the v2 header; records follow. */
export const RECORD_BATCH_OVERHEAD = 61;
/** base offset + batch length: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

export enum CompressionType {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** What the storage layer needs to know about one batch, read from its header. */
export interface BatchInfo {
  /** Byte offset of this batch inside the buffer it was parsed from. */
  position: number;
  /** Total size in bytes (batchLength + 12). */
  size: number;
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  magic: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  compression: CompressionType;
  isTransactional: boolean;
  isControl: boolean;
  logAppendTime: boolean;
}

export function readBatchInfo(buf: Buffer, position: number): BatchInfo {
  const attributes = buf.readInt16BE(position + ATTRIBUTES);
  return {
    position,
    size: buf.readInt32BE(position + BATCH_LENGTH) + LOG_OVERHEAD,
    baseOffset: buf.readBigInt64BE(position + BASE_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(position + MAGIC),
    attributes,
    lastOffsetDelta: buf.readInt32BE(position + LAST_OFFSET_DELTA),
    baseTimestamp: buf.readBigInt64BE(position + BASE_TIMESTAMP),
    maxTimestamp: buf.readBigInt64BE(position + MAX_TIMESTAMP),
    producerId: buf.readBigInt64BE(position + PRODUCER_ID),
    producerEpoch: buf.readInt16BE(position + PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(position + BASE_SEQUENCE),
    recordCount: buf.readInt32BE(position + RECORDS_COUNT),
    compression: (attributes & COMPRESSION_MASK) as CompressionType,
    isTransactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    isControl: (attributes & CONTROL_FLAG) !== 0,
    logAppendTime: (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0,
  };
}

/** Writes the broker-assigned base offset and leader epoch into a batch in place (CRC unaffected). */
export function assignBatchOffsets(batch: Buffer, baseOffset: bigint, partitionLeaderEpoch: number): void {
  batch.writeBigInt64BE(baseOffset, BASE_OFFSET);
  batch.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH);
}
