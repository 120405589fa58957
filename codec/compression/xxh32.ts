/** XXH32 (xxHash, 32-bit), as used by the LZ4 frame format for its header and block checksums. */
const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);

export function xxh32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  const length = end - start;
  let p = start;
  let acc: number;
  const lane = (at: number): number => buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
  if (length >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (p <= limit) {
      v1 = round(v1, lane(p));
      v2 = round(v2, lane(p + 4));
      v3 = round(v3, lane(p + 8));
      v4 = round(v4, lane(p + 12));
      p += 16;
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = (seed + P5) | 0;
  }
  acc = (acc + length) | 0;
  while (p + 4 <= end) {
    acc = Math.imul(rotl((acc + Math.imul(lane(p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    acc = Math.imul(rotl((acc + Math.imul(buf[p]!, P5)) | 0, 11), P1);
    p++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, P2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, P3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}
