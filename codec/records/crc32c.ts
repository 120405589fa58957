import crc32cImpl from 'fast-crc32c';
import { ATTRIBUTES, CRC } from './batch-header.js';

/** CRC-32C (Castagnoli) of `data`, optionally continuing from a previous value; unsigned. */
export function crc32c(data: Buffer, initial?: number): number {
  return crc32cImpl.calculate(data, initial);
}

/** The CRC-32C a v2 batch at `buf[position, position+size)` should carry (attributes to the end). */
export function computeBatchCrc(buf: Buffer, position: number, size: number): number {
  return crc32cImpl.calculate(buf.subarray(position + ATTRIBUTES, position + size));
}

/** Recomputes and writes the CRC of the single v2 batch that is `batch`. */
export function writeBatchCrc(batch: Buffer): void {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC);
}
