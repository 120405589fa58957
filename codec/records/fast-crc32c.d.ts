/** fast-crc32c (CJS): hardware CRC-32C via sse4_crc32 when it loads, table-driven JS otherwise. */
declare module 'fast-crc32c' {
  /** CRC-32C of `data`, continuing from `initial` (a previous result) when given; unsigned 32-bit. */
  export function calculate(data: Buffer | string, initial?: number): number;
  const crc32c: { calculate: typeof calculate };
  export default crc32c;
}
