import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../error-codes.js';
import { CompressionType, compress, decompress, decompressLz4, isXerial, loadZstdCompressor } from './index.js';
import { xxh32 } from './xxh32.js';
import { codeOf } from '../error-codes.testing.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const pattern = (() => {
  const b = Buffer.alloc(150000);
  for (let i = 0; i < b.length; i++) b[i] = ((i * 7) % 251) ^ ((i >> 12) & 1 ? 0x55 : 0);
  return b;
})();
const small = Buffer.from('hello kafka-mysql, hello kafka-mysql, hello kafka-mysql!\n');
const text = Buffer.from(Array.from({ length: 5000 }, (_, i) => `record ${i} value ${i % 17};`).join(''));

/** Runs an ES module script in a fresh Node process against the built dist/ and parses its JSON output. */
function inFreshProcess(script: string): unknown {
  const dist = (file: string) => JSON.stringify(new URL(`../../dist/${file}`, import.meta.url).href);
  const source = script.replace(/DIST\('([^']+)'\)/g, (_, file: string) => dist(file));
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8' }));
}

describe('zstd compressor loaded on demand (fresh processes, built dist/)', () => {
  it('is absent until loadZstdCompressor(), then compresses synchronously', () => {
    const result = inFreshProcess(`
      const z = await import(DIST('codec/compression/index.js'));
      const before = z.zstdCompressorLoaded();
      let error = '';
      try { z.compress(z.CompressionType.Zstd, Buffer.from('abc')); } catch (err) { error = err.message; }
      await Promise.all([z.loadZstdCompressor(), z.loadZstdCompressor()]);
      const data = Buffer.from('hello hello hello hello');
      const back = z.decompress(z.CompressionType.Zstd, z.compress(z.CompressionType.Zstd, data)).toString();
      console.log(JSON.stringify({ before, error, after: z.zstdCompressorLoaded(), back }));`);
    expect(result).toEqual({
      before: false,
      error: 'zstd compressor not loaded: await loadZstdCompressor() first',
      after: true,
      back: 'hello hello hello hello',
    });
  });

  it('is not loaded into a process that imports the broker', () => {
    const result = inFreshProcess(`
      await import(DIST('server/broker.js'));
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ zstdWasm: loaded.some((f) => f.includes('zstd-wasm')), snappyjs: loaded.some((f) => f.includes('snappyjs')) }));`);
    // snappyjs, a CommonJS package the broker does load, shows the probe sees such packages.
    expect(result).toEqual({ zstdWasm: false, snappyjs: true });
  });
});

beforeAll(() => loadZstdCompressor());

const codecs = [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd] as const;

describe('round trips', () => {
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([42])],
    ['small text', small],
    ['text over several blocks', text],
    ['random 200 KiB', randomBytes(200 * 1024)],
    ['pattern 150 KB', pattern],
    ['exactly one 64 KiB block', Buffer.alloc(65536, 9)],
  ];
  for (const type of codecs) {
    for (const [name, input] of inputs) {
      it(`${CompressionType[type]}: ${name}`, () => {
        const packed = compress(type, input);
        expect(decompress(type, packed).equals(input)).toBe(true);
      });
    }
    it(`${CompressionType[type]} actually compresses repetitive data`, () => {
      expect(compress(type, text).length).toBeLessThan(text.length / 2);
    });
  }
  it('None passes data through', () => {
    expect(compress(CompressionType.None, small)).toBe(small);
    expect(decompress(CompressionType.None, small)).toBe(small);
  });
});

describe('frames written by other implementations', () => {
  it('lz4 CLI: dependent 64 KiB blocks with content checksum', () => {
    expect(decompress(CompressionType.Lz4, fixture('fx-dep.lz4')).equals(pattern)).toBe(true);
  });
  it('lz4 CLI: block and content checksums', () => {
    expect(decompress(CompressionType.Lz4, fixture('fx-bx.lz4')).equals(pattern)).toBe(true);
  });
  it('lz4 CLI: content size field', () => {
    expect(decompress(CompressionType.Lz4, fixture('fx-cs.lz4')).equals(small)).toBe(true);
  });
  it('zstd CLI: one frame with checksum, and two frames back to back', () => {
    expect(decompress(CompressionType.Zstd, fixture('fx.zst')).equals(pattern)).toBe(true);
    expect(decompress(CompressionType.Zstd, fixture('fx-multi.zst')).equals(Buffer.concat([small, pattern]))).toBe(true);
  });
  it('gzip CLI: two members', () => {
    expect(decompress(CompressionType.Gzip, fixture('fx-multi.gz')).equals(Buffer.concat([small, small]))).toBe(true);
  });
  it('kafkajs gzip codec output', async () => {
    const { createRequire } = await import('node:module');
    const gzip = createRequire(import.meta.url)('kafkajs/src/protocol/message/compression/gzip.js') as {
      compress(e: { buffer: Buffer }): Promise<Buffer>;
    };
    const packed = await gzip.compress({ buffer: text });
    expect(decompress(CompressionType.Gzip, packed).equals(text)).toBe(true);
  });
  it('snappy: a raw block (as librdkafka writes) built by hand from the format', () => {
    // varint length 11, literal tag (11-1)<<2, "hello world"
    const raw = Buffer.concat([Buffer.from([11, 10 << 2]), Buffer.from('hello world')]);
    expect(decompress(CompressionType.Snappy, raw).toString()).toBe('hello world');
    // "abcd" literal then a copy of 8 bytes at offset 4 (tag type 1: len-4 in bits 2-4, offset in 8 bits)
    const withCopy = Buffer.from([12, 3 << 2, 0x61, 0x62, 0x63, 0x64, 0x01 | ((8 - 4) << 2), 4]);
    expect(decompress(CompressionType.Snappy, withCopy).toString()).toBe('abcdabcdabcd');
  });
  it('snappy: xerial framing as the Java client writes it', () => {
    const block = Buffer.concat([Buffer.from([5, 4 << 2]), Buffer.from('kafka')]);
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    const framed = Buffer.concat([header, len, block, len, block]);
    expect(decompress(CompressionType.Snappy, framed).toString()).toBe('kafkakafka');
  });
  it('snappy: compress writes the xerial header with version 1 / compatible 1', () => {
    const packed = compress(CompressionType.Snappy, text);
    expect(isXerial(packed)).toBe(true);
    expect(packed.readInt32BE(8)).toBe(1);
    expect(packed.readInt32BE(12)).toBe(1);
  });
});

describe('lz4 frame as Kafka writes it', () => {
  it('independent blocks, 64 KiB maximum, no checksums, correct header checksum', () => {
    const packed = compress(CompressionType.Lz4, text);
    expect(packed.readUInt32LE(0)).toBe(0x184d2204);
    expect(packed[4]).toBe(0x60);
    expect(packed[5]).toBe(0x40);
    expect(packed[6]).toBe((xxh32(packed, 4, 6) >>> 8) & 0xff);
    expect(packed.readUInt32LE(packed.length - 4)).toBe(0);
  });
  it('a bad header checksum is corrupt unless ignored (magic 0, KAFKA-3160)', () => {
    const packed = Buffer.from(compress(CompressionType.Lz4, small));
    packed[6] = packed[6]! ^ 0xff;
    expect(codeOf(() => decompress(CompressionType.Lz4, packed))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(decompressLz4(packed, 1 << 20, { ignoreHeaderChecksum: true }).equals(small)).toBe(true);
  });
  it('a bad block checksum is corrupt', () => {
    const packed = Buffer.from(fixture('fx-bx.lz4'));
    packed[12] = packed[12]! ^ 1;
    expect(codeOf(() => decompress(CompressionType.Lz4, packed))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('a bad content checksum is corrupt', () => {
    const packed = Buffer.from(fixture('fx-dep.lz4'));
    packed[packed.length - 1] = packed[packed.length - 1]! ^ 1;
    expect(codeOf(() => decompress(CompressionType.Lz4, packed))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('xxh32', () => {
  it('matches published test values', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('a'))).toBe(0x550d7456);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });
});

describe('bounded decompression', () => {
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (const type of codecs) {
    it(`${CompressionType[type]}: output past maxBytes fails with CORRUPT_MESSAGE`, () => {
      const bomb = compress(type, zeros);
      expect(bomb.length).toBeLessThan(zeros.length / 20);
      expect(codeOf(() => decompress(type, bomb, { maxBytes: 1024 * 1024 }))).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(decompress(type, bomb, { maxBytes: zeros.length }).length).toBe(zeros.length);
    });
  }
  it('gzip: inflating 64 MiB of zeros stops at a 1 KiB limit', () => {
    // 64 MiB of zeros compresses to ~64 KiB; the limit stops inflating long before the end
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(codeOf(() => decompress(CompressionType.Gzip, bomb, 1024))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('zstd: a frame declaring a huge content size is refused before allocating', () => {
    // frame header: magic, FHD = FCS 8 bytes + single segment, content size 2^40, then a raw last block of 0 bytes
    const frame = Buffer.alloc(4 + 1 + 8 + 3);
    frame.writeUInt32LE(0xfd2fb528, 0);
    frame[4] = (3 << 6) | (1 << 5);
    frame.writeBigUInt64LE(1n << 40n, 5);
    frame.writeUIntLE(1, 13, 3);
    expect(codeOf(() => decompress(CompressionType.Zstd, frame))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('zstd: a frame declaring a 2 GiB window is refused', () => {
    const frame = Buffer.alloc(4 + 1 + 1 + 3);
    frame.writeUInt32LE(0xfd2fb528, 0);
    frame[4] = 0; // no FCS, not single segment
    frame[5] = (31 - 10) << 3; // window 2^31
    frame.writeUIntLE(1, 6, 3);
    expect(codeOf(() => decompress(CompressionType.Zstd, frame))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('snappy: a block declaring more than maxBytes is refused before allocating', () => {
    const raw = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]);
    expect(codeOf(() => decompress(CompressionType.Snappy, raw))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

describe('malformed input', () => {
  for (const type of codecs) {
    it(`${CompressionType[type]}: truncated and garbage input fail with CORRUPT_MESSAGE`, () => {
      const packed = compress(type, text);
      expect(codeOf(() => decompress(type, packed.subarray(0, Math.floor(packed.length / 2))))).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(codeOf(() => decompress(type, Buffer.from('this is not compressed at all, not even a little')))).toBe(
        ErrorCode.CORRUPT_MESSAGE,
      );
    });
  }
  it('lz4: a match reaching before the start of the output is corrupt', () => {
    // frame header (independent, 64 KiB) + one block: token 0x10 (1 literal, match 4) 'a', offset 5
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
    header[6] = (xxh32(header, 4, 6) >>> 8) & 0xff;
    const block = Buffer.from([0x10, 0x61, 5, 0, 0x00]);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length);
    const frame = Buffer.concat([header, size, block, Buffer.alloc(4)]);
    expect(codeOf(() => decompress(CompressionType.Lz4, frame))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
  it('unknown codec ids give UNSUPPORTED_COMPRESSION_TYPE', () => {
    expect(codeOf(() => compress(5 as CompressionType, small))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect(codeOf(() => decompress(7 as CompressionType, small))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });
});
