/**
 * Compression codecs for record batches (attribute bits 0-2): gzip (Node's zlib), snappy
 * (snappyjs, xerial framing), lz4 (LZ4 frame as Kafka writes it), zstd (fzstd to read,
 * zstd WebAssembly to write, loaded on demand by loadZstdCompressor()). All synchronous. Decompression is bounded by `maxBytes`;
 * anything malformed or too large fails with KafkaError CORRUPT_MESSAGE, an unknown codec
 * with UNSUPPORTED_COMPRESSION_TYPE.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorCode, KafkaError } from '../error-codes.js';
import { CompressionType } from '../records/batch-header.js';
import { corrupt, DEFAULT_MAX_DECOMPRESSED_BYTES, tooLarge } from './errors.js';
import { compressLz4, decompressLz4, type Lz4ReadOptions } from './lz4.js';
import { compressSnappy, decompressSnappy } from './snappy.js';
import { compressZstd, decompressZstd } from './zstd.js';

export { CompressionType } from '../records/batch-header.js';
export { DEFAULT_MAX_DECOMPRESSED_BYTES } from './errors.js';
export { compressLz4, decompressLz4, type Lz4ReadOptions } from './lz4.js';
export { compressSnappy, decompressSnappy, isXerial } from './snappy.js';
export { compressZstd, decompressZstd, DEFAULT_ZSTD_LEVEL, loadZstdCompressor, zstdCompressorLoaded } from './zstd.js';

export interface DecompressOptions extends Lz4ReadOptions {
  /** Largest output accepted; default DEFAULT_MAX_DECOMPRESSED_BYTES (64 MiB). */
  maxBytes?: number;
}

function unsupported(type: number): KafkaError {
  return new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unsupported compression type ${type}`);
}

export function compress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipSync(data);
    case CompressionType.Snappy:
      return compressSnappy(data);
    case CompressionType.Lz4:
      return compressLz4(data);
    case CompressionType.Zstd:
      return compressZstd(data);
    default:
      throw unsupported(type);
  }
}

export function decompress(type: CompressionType, data: Buffer, options: DecompressOptions | number = {}): Buffer {
  const opts: DecompressOptions = typeof options === 'number' ? { maxBytes: options } : options;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  switch (type) {
    case CompressionType.None:
      if (data.length > maxBytes) throw tooLarge('none', maxBytes);
      return data;
    case CompressionType.Gzip:
      try {
        return gunzipSync(data, { maxOutputLength: maxBytes });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', maxBytes);
        throw corrupt('gzip', (err as Error).message);
      }
    case CompressionType.Snappy:
      return decompressSnappy(data, maxBytes);
    case CompressionType.Lz4:
      return decompressLz4(data, maxBytes, opts);
    case CompressionType.Zstd:
      return decompressZstd(data, maxBytes);
    default:
      throw unsupported(type);
  }
}
