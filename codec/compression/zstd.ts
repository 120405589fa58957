/**
 * Zstandard. Decompression is fzstd (pure JS, synchronous, always available); compression is
 * the reference zstd compiled to WebAssembly (@bokuweb/zstd-wasm, shipped inside its npm
 * package). Only log compaction (rewriting a zstd batch) and tests write zstd: produce stores
 * batches as sent and legacy message sets cannot be zstd. So the WebAssembly module is loaded
 * on demand: `await loadZstdCompressor()` once, after which `compressZstd` is synchronous. This
 * keeps the module (and its memory) out of a broker process until it compacts zstd data. There is no well-kept pure-JS zstd
 * compressor, and Node 20's zlib has no zstd.
 *
 * fzstd allocates a frame's window (or declared content size) up front, so the frame headers
 * are walked first and a frame whose window or content size passes the limit is refused
 * before anything is allocated; the streaming decoder then counts output and stops at the limit.
 */
import { createRequire } from 'node:module';
import { Decompress } from 'fzstd';
import { corrupt, tooLarge } from './errors.js';

interface ZstdWasm {
  init(): Promise<void>;
  compress(data: Uint8Array, level?: number): Uint8Array;
}

let compressor: ZstdWasm | null = null;
let loading: Promise<void> | null = null;

/** Instantiates the zstd WebAssembly compressor (once; later calls share the first). */
export function loadZstdCompressor(): Promise<void> {
  loading ??= (async () => {
    // A CommonJS package; require() resolves it only now, not when this module is imported.
    const wasm = createRequire(import.meta.url)('@bokuweb/zstd-wasm') as ZstdWasm;
    await wasm.init();
    compressor = wasm;
  })().catch((err: unknown) => {
    loading = null;
    throw new Error(`zstd compressor unavailable: ${(err as Error).message}`);
  });
  return loading;
}

/** True once loadZstdCompressor() has finished. */
export function zstdCompressorLoaded(): boolean {
  return compressor !== null;
}

/** zstd level used by Kafka's producer default (3). */
export const DEFAULT_ZSTD_LEVEL = 3;
const FRAME_MAGIC = 0xfd2fb528;
/** Windows up to this size are always accepted (zstd's level-19 default windowLog is 23). */
const MIN_WINDOW_LIMIT = 8 * 1024 * 1024;

export function compressZstd(data: Buffer, level = DEFAULT_ZSTD_LEVEL): Buffer {
  if (compressor === null) throw new Error('zstd compressor not loaded: await loadZstdCompressor() first');
  const out = compressor.compress(data, level);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Walks frame headers and block headers, refusing windows or content sizes past the limits. */
function checkFrames(data: Buffer, maxBytes: number): void {
  const windowLimit = Math.max(maxBytes, MIN_WINDOW_LIMIT);
  let pos = 0;
  if (data.length === 0) throw corrupt('zstd', 'empty input');
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt('zstd', 'truncated frame magic');
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (pos + 8 > data.length) throw corrupt('zstd', 'truncated skippable frame');
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt('zstd', 'not a zstd frame');
    let p = pos + 4;
    if (p + 1 > data.length) throw corrupt('zstd', 'truncated frame header');
    const fhd = data[p++]!;
    if (fhd & 0x08) throw corrupt('zstd', 'reserved frame header bit set');
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    const headerEnd = p + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
    if (headerEnd > data.length) throw corrupt('zstd', 'truncated frame header');
    let window = 0;
    if (!singleSegment) {
      const wd = data[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += dictBytes;
    let contentSize = -1;
    if (fcsBytes > 0) {
      contentSize = fcsBytes === 8 ? Number(data.readBigUInt64LE(p)) : data.readUIntLE(p, fcsBytes);
      if (fcsBytes === 2) contentSize += 256;
      if (contentSize > maxBytes) throw tooLarge('zstd', maxBytes);
    }
    if (singleSegment) window = contentSize;
    if (window > windowLimit) throw corrupt('zstd', `window of ${window} bytes exceeds ${windowLimit}`);
    p = headerEnd;
    for (;;) {
      if (p + 3 > data.length) throw corrupt('zstd', 'truncated block header');
      const header = data.readUIntLE(p, 3);
      const type = (header >> 1) & 3;
      if (type === 3) throw corrupt('zstd', 'reserved block type');
      p += 3 + (type === 1 ? 1 : header >>> 3);
      if (p > data.length) throw corrupt('zstd', 'truncated block');
      if (header & 1) break;
    }
    if (fhd & 0x04) p += 4;
    if (p > data.length) throw corrupt('zstd', 'truncated checksum');
    pos = p;
  }
}

export function decompressZstd(data: Buffer, maxBytes: number): Buffer {
  checkFrames(data, maxBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Decompress((chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge('zstd', maxBytes);
    chunks.push(chunk);
  });
  try {
    stream.push(data, true);
  } catch (err) {
    if (err instanceof Error && err.name === 'KafkaError') throw err;
    throw corrupt('zstd', (err as Error).message);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
