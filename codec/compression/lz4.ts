/**
 * LZ4 frame format, as Kafka writes it for magic >= 1 (KafkaLZ4BlockOutputStream /
 * Lz4BlockOutputStream): version 01, independent blocks, 64 KiB maximum block size, no block
 * or content checksum, header checksum = second byte of XXH32 over the frame descriptor.
 *
 * The block codec is our own, both ways: a greedy single-probe compressor that keeps the LZ4
 * end-of-block rules (last match starts >= 12 bytes and ends >= 5 bytes before the block end;
 * decoders that fill a full-size block enforce them, and lz4js's compressor breaks them), and
 * a bounds-checked decoder, since a hostile frame must fail cleanly with CORRUPT_MESSAGE.
 *
 * Reading accepts what other writers produce too: any block size 64 KiB..4 MiB, dependent
 * blocks, block checksums, content size and content checksum (all verified when present).
 * KAFKA-3160: Kafka before 0.10 (magic 0) computed the header checksum over the magic number
 * as well; `ignoreHeaderChecksum` skips that check for legacy magic 0 message sets.
 */
import { corrupt, tooLarge } from './errors.js';
import { xxh32 } from './xxh32.js';

const MAGIC = 0x184d2204;
const FLG_VERSION = 0x40;
const FLG_VERSION_MASK = 0xc0;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x03;
const BD_64KB = 4 << 4;
const UNCOMPRESSED_BIT = 0x80000000;
const BLOCK_SIZE = 64 * 1024;
const MIN_MATCH = 4;
/** End-of-block rules of the LZ4 block format. */
const MF_LIMIT = 12;
const LAST_LITERALS = 5;
const HASH_LOG = 16;

const blockMaxSize = (bd: number): number => {
  const id = (bd >> 4) & 7;
  if ((bd & 0x8f) !== 0 || id < 4) return -1;
  return 1 << (8 + 2 * id); // 4 -> 64 KiB, 5 -> 256 KiB, 6 -> 1 MiB, 7 -> 4 MiB
};

export function compressLz4(data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  // worst case: every block stored uncompressed with a 4-byte size, plus header and end mark
  const out = Buffer.allocUnsafe(7 + blocks * (4 + BLOCK_SIZE) + 4);
  out.writeUInt32LE(MAGIC, 0);
  out[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENCE;
  out[5] = BD_64KB;
  out[6] = (xxh32(out, 4, 6) >>> 8) & 0xff;
  let pos = 7;
  const table = new Int32Array(1 << HASH_LOG);
  const scratch = Buffer.allocUnsafe(BLOCK_SIZE + Math.ceil(BLOCK_SIZE / 255) + 16);
  for (let start = 0; start < data.length; start += BLOCK_SIZE) {
    const length = Math.min(BLOCK_SIZE, data.length - start);
    const n = compressBlock(data, start, start + length, scratch, table);
    if (n < length) {
      out.writeUInt32LE(n, pos);
      scratch.copy(out, pos + 4, 0, n);
      pos += 4 + n;
    } else {
      out.writeUInt32LE((UNCOMPRESSED_BIT | length) >>> 0, pos);
      data.copy(out, pos + 4, start, start + length);
      pos += 4 + length;
    }
  }
  out.writeUInt32LE(0, pos);
  return out.subarray(0, pos + 4);
}

/** Writes an LZ4 length continuation (the part past the 4-bit token field). */
function writeLength(dst: Buffer, d: number, n: number): number {
  while (n >= 255) {
    dst[d++] = 255;
    n -= 255;
  }
  dst[d++] = n;
  return d;
}

function writeSequence(src: Buffer, anchor: number, literals: number, dst: Buffer, d: number, offset: number, match: number): number {
  const m = match - MIN_MATCH;
  dst[d++] = ((literals >= 15 ? 15 : literals) << 4) | (match === 0 ? 0 : m >= 15 ? 15 : m);
  if (literals >= 15) d = writeLength(dst, d, literals - 15);
  src.copy(dst, d, anchor, anchor + literals);
  d += literals;
  if (match === 0) return d;
  dst[d++] = offset & 0xff;
  dst[d++] = offset >>> 8;
  if (m >= 15) d = writeLength(dst, d, m - 15);
  return d;
}

/**
 * Compresses src[start, end) as one independent LZ4 block into dst (which must hold
 * end-start + (end-start)/255 + 16 bytes); returns the compressed size.
 */
function compressBlock(src: Buffer, start: number, end: number, dst: Buffer, table: Int32Array): number {
  table.fill(-1);
  let d = 0;
  let anchor = start;
  let s = start;
  const matchStartLimit = end - MF_LIMIT;
  const matchEndLimit = end - LAST_LITERALS;
  let misses = 0;
  while (s <= matchStartLimit) {
    const seq = src.readUInt32LE(s);
    const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
    const ref = table[h]!;
    table[h] = s;
    if (ref < 0 || s - ref > 0xffff || src.readUInt32LE(ref) !== seq) {
      s += 1 + (misses++ >> 6); // skip faster through incompressible data
      continue;
    }
    misses = 0;
    let length = MIN_MATCH;
    while (s + length < matchEndLimit && src[s + length] === src[ref + length]) length++;
    d = writeSequence(src, anchor, s - anchor, dst, d, s - ref, length);
    s += length;
    anchor = s;
  }
  return writeSequence(src, anchor, end - anchor, dst, d, 0, 0);
}

export interface Lz4ReadOptions {
  /** Skip the frame header checksum (magic 0 message sets, KAFKA-3160). */
  ignoreHeaderChecksum?: boolean;
}

export function decompressLz4(data: Buffer, maxBytes: number, options: Lz4ReadOptions = {}): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) throw corrupt('lz4', 'not an LZ4 frame');
  const flg = data[4]!;
  const bd = data[5]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION || (flg & FLG_RESERVED) !== 0) throw corrupt('lz4', `unsupported FLG ${flg}`);
  const maxBlock = blockMaxSize(bd);
  if (maxBlock < 0) throw corrupt('lz4', `invalid BD ${bd}`);
  let pos = 6;
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    if (data.length < pos + 9) throw corrupt('lz4', 'truncated frame descriptor');
    const size = data.readBigUInt64LE(pos);
    if (size > BigInt(maxBytes)) throw tooLarge('lz4', maxBytes);
    contentSize = Number(size);
    pos += 8;
  }
  if (options.ignoreHeaderChecksum !== true && data[pos] !== ((xxh32(data, 4, pos) >>> 8) & 0xff)) {
    throw corrupt('lz4', 'frame descriptor checksum mismatch');
  }
  pos++;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;

  // First pass: walk the block headers to check the structure and bound the output.
  let bound = 0;
  let p = pos;
  for (;;) {
    if (p + 4 > data.length) throw corrupt('lz4', 'truncated block header');
    const word = data.readUInt32LE(p);
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BIT;
    if (size > maxBlock) throw corrupt('lz4', `block of ${size} bytes exceeds maximum ${maxBlock}`);
    p += 4 + size + (blockChecksum ? 4 : 0);
    if (p > data.length) throw corrupt('lz4', 'truncated block');
    bound += word & UNCOMPRESSED_BIT ? size : maxBlock;
  }
  const out = Buffer.allocUnsafe(Math.min(bound, maxBytes, contentSize >= 0 ? contentSize : Infinity));

  let outPos = 0;
  for (;;) {
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BIT;
    if (blockChecksum && xxh32(data, pos, pos + size) !== data.readUInt32LE(pos + size)) {
      throw corrupt('lz4', 'block checksum mismatch');
    }
    if (word & UNCOMPRESSED_BIT) {
      if (size > out.length - outPos) throw tooLarge('lz4', maxBytes);
      data.copy(out, outPos, pos, pos + size);
      outPos += size;
    } else {
      const blockStart = outPos;
      outPos = decodeBlock(data, pos, pos + size, out, outPos, independent ? blockStart : 0, maxBytes);
      if (outPos - blockStart > maxBlock) throw corrupt('lz4', 'block decompresses past its maximum size');
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize >= 0 && outPos !== contentSize) throw corrupt('lz4', 'content size mismatch');
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (pos + 4 > data.length) throw corrupt('lz4', 'truncated content checksum');
    if (xxh32(out, 0, outPos) !== data.readUInt32LE(pos)) throw corrupt('lz4', 'content checksum mismatch');
  }
  return out.subarray(0, outPos);
}

/**
 * Decodes one LZ4 block from src[s, sEnd) into dst at d; matches may reach back to `windowStart`.
 * Every length and offset is checked; returns the new output position.
 */
function decodeBlock(src: Buffer, s: number, sEnd: number, dst: Buffer, d: number, windowStart: number, maxBytes: number): number {
  const dEnd = dst.length;
  for (;;) {
    if (s >= sEnd) throw corrupt('lz4', 'block ends inside a sequence');
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('lz4', 'block ends inside a literal length');
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > sEnd - s) throw corrupt('lz4', 'literals overrun the block');
    if (literals > dEnd - d) throw tooLarge('lz4', maxBytes);
    src.copy(dst, d, s, s + literals);
    s += literals;
    d += literals;
    if (s === sEnd) return d; // the last sequence carries literals only
    if (sEnd - s < 2) throw corrupt('lz4', 'block ends inside a match offset');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d - windowStart) throw corrupt('lz4', `match offset ${offset} out of range`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt('lz4', 'block ends inside a match length');
        b = src[s++]!;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += MIN_MATCH;
    if (matchLength > dEnd - d) throw tooLarge('lz4', maxBytes);
    let from = d - offset;
    if (offset >= matchLength) {
      dst.copy(dst, d, from, from + matchLength);
      d += matchLength;
    } else {
      const stop = d + matchLength;
      while (d < stop) dst[d++] = dst[from++]!;
    }
  }
}
