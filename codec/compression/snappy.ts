/**
 * Snappy, as Kafka clients write it. The Java client wraps snappy in snappy-java's stream
 * framing ("xerial": an 8-byte magic, version and compatible-version int32s, then blocks of
 * int32 compressed length + raw snappy); librdkafka and some others write one raw snappy
 * block. Java's reader, librdkafka and kafkajs-snappy all accept both, so:
 * - compress writes the xerial framing with 32 KiB blocks, as the Java client does;
 * - decompress accepts either, telling them apart by the magic.
 * Raw snappy blocks are handled by snappyjs (pure JS).
 */
import { createRequire } from 'node:module';
import { corrupt, tooLarge } from './errors.js';

interface SnappyJs {
  compress(data: Buffer): Buffer;
  uncompress(data: Buffer, maxLength?: number): Buffer;
}
const snappyjs = createRequire(import.meta.url)('snappyjs') as SnappyJs;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
const XERIAL_BLOCK = 32 * 1024;

export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

export function compressSnappy(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  parts.push(header);
  for (let start = 0; start < data.length; start += XERIAL_BLOCK) {
    const block = snappyjs.compress(data.subarray(start, Math.min(start + XERIAL_BLOCK, data.length)));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** Uncompressed length a raw snappy block declares (its leading varint), or -1. */
function declaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  return -1;
}

function rawBlock(block: Buffer, budget: number, maxBytes: number): Buffer {
  const length = declaredLength(block);
  if (length < 0) throw corrupt('snappy', 'invalid block length');
  if (length > budget) throw tooLarge('snappy', maxBytes);
  try {
    return snappyjs.uncompress(block, budget);
  } catch (err) {
    throw corrupt('snappy', (err as Error).message);
  }
}

export function decompressSnappy(data: Buffer, maxBytes: number): Buffer {
  if (!isXerial(data)) return rawBlock(data, maxBytes, maxBytes);
  const compatible = data.readInt32BE(12);
  if (compatible !== 1) throw corrupt('snappy', `unsupported xerial compatible version ${compatible}`);
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt('snappy', 'truncated xerial block length');
    const size = data.readInt32BE(pos);
    pos += 4;
    if (size < 0 || size > data.length - pos) throw corrupt('snappy', `xerial block of ${size} bytes overruns the input`);
    const block = rawBlock(data.subarray(pos, pos + size), maxBytes - total, maxBytes);
    blocks.push(block);
    total += block.length;
    pos += size;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, total);
}
