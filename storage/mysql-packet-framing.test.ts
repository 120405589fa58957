import { describe, expect, it } from 'vitest';
import { playInto } from '../codec/primitives/in-place-reader.testing.js';
import { mysqlPacketReader } from './mysql-socket.js';

function packet(length: number, sequenceId: number): Buffer {
  const b = Buffer.allocUnsafe(4 + length);
  b.writeUIntLE(length, 0, 3);
  b[3] = sequenceId & 0xff;
  for (let i = 0; i < length; i++) b[4 + i] = (i * 7 + sequenceId) & 0xff;
  return b;
}

/** Splits chunks back into packets; throws if a chunk does not hold whole packets. */
function packetsOf(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    let at = 0;
    while (at < c.length) {
      const bytes = 4 + c.readUIntLE(at, 3);
      if (at + bytes > c.length) throw new Error('a chunk ends inside a packet');
      out.push(c.subarray(at, at + bytes));
      at += bytes;
    }
  }
  return out;
}

// A result set's shape: small packets, packets around the 64 KiB slab, 1 MiB rows.
const packets = [
  packet(0, 1), packet(1, 2), packet(50, 3), packet(64 * 1024 - 4, 4), packet(64 * 1024 - 3, 5), packet(9, 6),
  packet(1 << 20, 7), packet(5000, 8), packet(1 << 20, 9), packet(300, 10), packet(70_000, 11), packet(7, 12),
];
const stream = Buffer.concat(packets);
const hex = (bs: Buffer[]) => bs.map((b) => b.toString('hex'));

describe('MySQL packets read in place (mysqlPacketReader)', () => {
  it('hands out whole packets, in order, whatever the read sizes', () => {
    for (const size of [1, 3, 4, 5, 1000, 4096, 65536, 1 << 20, stream.length]) {
      const chunks = playInto(mysqlPacketReader(), stream, () => size);
      // Compared at the end: views of earlier slabs must not have been overwritten by later reads.
      expect(hex(packetsOf(chunks))).toEqual(hex(packets));
    }
  });

  it('hands out whole packets with irregular read sizes', () => {
    let seed = 99;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return 1 + (seed % 90_000);
    };
    expect(hex(packetsOf(playInto(mysqlPacketReader(), stream, next)))).toEqual(hex(packets));
  });

  it('reads a packet larger than a slab into a buffer of exactly its size, handed out alone', () => {
    const chunks = playInto(mysqlPacketReader(), stream, () => 65536);
    const large = chunks.filter((c) => c.length > 64 * 1024);
    expect(large.map((c) => c.length)).toEqual([64 * 1024 + 1, (1 << 20) + 4, (1 << 20) + 4, 70_004]);
    for (const c of large) {
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
    }
  });

  it('takes the largest packet the protocol allows (16 MiB - 1 bytes of payload)', () => {
    const max = packet(0xffffff, 1);
    const both = Buffer.concat([max, packet(0, 2)]);
    expect(hex(packetsOf(playInto(mysqlPacketReader(), both, () => 1 << 20)))).toEqual(hex([max, packet(0, 2)]));
  });
});
