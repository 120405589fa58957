import { DecodeError } from './errors.js';

const UUID_BYTES = 16;

/**
 * Cursor over one buffer. Every length read from the wire is checked against the bytes
 * left before anything is allocated, so a hostile length fails with DecodeError instead of
 * allocating. `bytes()` returns views (subarray), never copies; strings are decoded copies.
 */
export class Reader {
  offset: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    readonly end = buf.length,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end) {
      throw new DecodeError(`need ${n} bytes at offset ${at}, ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  uint8(): number {
    return this.buf[this.need(1)]!;
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }

  /** Unsigned LEB128 varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.uint8();
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new DecodeError('varint longer than 5 bytes');
  }

  /** Zig-zag signed varint (32 bits). */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zig-zag signed varlong (64 bits). */
  varlong(): bigint {
    let raw = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.uint8();
      raw |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (raw >> 1n) ^ -(raw & 1n);
    }
    throw new DecodeError('varlong longer than 10 bytes');
  }

  /** 16 raw bytes, returned as Kafka prints them: unpadded base64url. */
  uuid(): string {
    const at = this.need(UUID_BYTES);
    return this.buf.toString('base64url', at, at + UUID_BYTES);
  }

  rawBytes(length: number): Buffer {
    const at = this.need(length);
    return this.buf.subarray(at, at + length);
  }

  private text(length: number): string {
    const at = this.need(length);
    return this.buf.toString('utf8', at, at + length);
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw new DecodeError('null where a string is required');
    return this.text(length);
  }
  nullableString(): string | null {
    const length = this.int16();
    return length < 0 ? null : this.text(length);
  }
  compactString(): string {
    const length = this.uvarint() - 1;
    if (length < 0) throw new DecodeError('null where a compact string is required');
    return this.text(length);
  }
  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.text(length);
  }

  bytes(): Buffer {
    const length = this.int32();
    if (length < 0) throw new DecodeError('null where bytes are required');
    return this.rawBytes(length);
  }
  nullableBytes(): Buffer | null {
    const length = this.int32();
    return length < 0 ? null : this.rawBytes(length);
  }
  compactBytes(): Buffer {
    const length = this.uvarint() - 1;
    if (length < 0) throw new DecodeError('null where compact bytes are required');
    return this.rawBytes(length);
  }
  compactNullableBytes(): Buffer | null {
    const length = this.uvarint() - 1;
    return length < 0 ? null : this.rawBytes(length);
  }

  /**
   * Array length (int32, -1 = null). Each element takes at least `minElementBytes`, so a
   * count that cannot fit in what is left is rejected before any array is allocated.
   */
  arrayLength(minElementBytes = 1): number {
    return this.checkCount(this.int32(), minElementBytes);
  }
  compactArrayLength(minElementBytes = 1): number {
    return this.checkCount(this.uvarint() - 1, minElementBytes);
  }

  private checkCount(count: number, minElementBytes: number): number {
    if (count < -1) throw new DecodeError(`negative array length ${count}`);
    if (count > 0 && count * Math.max(minElementBytes, 1) > this.remaining) {
      throw new DecodeError(`array of ${count} cannot fit in ${this.remaining} bytes`);
    }
    return count;
  }

  /** Reads a tagged field's size and returns the offset where the field ends (checked against what is left). */
  taggedFieldEnd(): number {
    const size = this.uvarint();
    if (size > this.remaining) throw new DecodeError(`tagged field of ${size} bytes, ${this.remaining} left`);
    return this.offset + size;
  }

  /** Moves past a tagged field whose known part was read; reading beyond its size is an error. */
  endTaggedField(end: number): void {
    if (this.offset > end) throw new DecodeError(`tagged field overran its size by ${this.offset - end} bytes`);
    this.offset = end;
  }

  /** Reads a tagged-field buffer, skipping every field in it. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.offset = this.taggedFieldEnd();
    }
  }

  skip(length: number): void {
    this.need(length);
  }
}
