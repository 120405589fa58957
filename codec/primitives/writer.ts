/**
 * Growable output that can also carry borrowed buffers (stored record batches) without
 * copying them: `appendRef` closes the current scratch chunk and links the caller's buffer.
 * `toChunks()` gives the list to write corked on a socket; `toBuffer()` concatenates, for tests.
 * Size prefixes are written by reserving space and patching it later (`reserveInt32`).
 */
export class Writer {
  private chunks: Buffer[] = [];
  private scratch: Buffer;
  private pos = 0;
  private chunkStart = 0;
  /** bytes in `chunks` already closed */
  private closedLength = 0;

  constructor(initialSize = 1024) {
    this.scratch = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.closedLength + (this.pos - this.chunkStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    // Close what is written so far and continue in a fresh, larger scratch buffer.
    this.closeScratch();
    const size = Math.max(n, this.scratch.length * 2);
    this.scratch = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.chunkStart = 0;
  }

  private closeScratch(): void {
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.scratch.subarray(this.chunkStart, this.pos));
      this.closedLength += this.pos - this.chunkStart;
    }
    this.chunkStart = this.pos;
  }

  int8(v: number): this {
    this.ensure(1);
    this.scratch.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  uint8(v: number): this {
    this.ensure(1);
    this.scratch[this.pos++] = v;
    return this;
  }
  int16(v: number): this {
    this.ensure(2);
    this.scratch.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  uint16(v: number): this {
    this.ensure(2);
    this.scratch.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.scratch.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  uint32(v: number): this {
    this.ensure(4);
    this.scratch.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: bigint): this {
    this.ensure(8);
    // Offsets, timestamps and -1 fit a double exactly: two 32-bit writes, no BigInt arithmetic
    // (writeBigInt64BE allocates several BigInts per call; this is half its time).
    const n = Number(v);
    if (Number.isSafeInteger(n)) {
      const hi = Math.floor(n / 4294967296);
      this.scratch.writeInt32BE(hi, this.pos);
      this.scratch.writeUInt32BE(n - hi * 4294967296, this.pos + 4);
    } else {
      this.scratch.writeBigInt64BE(v, this.pos);
    }
    this.pos += 8;
    return this;
  }
  float64(v: number): this {
    this.ensure(8);
    this.scratch.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.uint8(v ? 1 : 0);
  }

  uvarint(v: number): this {
    this.ensure(5);
    let value = v >>> 0;
    while (value >= 0x80) {
      this.scratch[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.scratch[this.pos++] = value;
    return this;
  }
  varint(v: number): this {
    return this.uvarint((v << 1) ^ (v >> 31));
  }
  varlong(v: bigint): this {
    this.ensure(10);
    let value = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (value >= 0x80n) {
      this.scratch[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.scratch[this.pos++] = Number(value);
    return this;
  }

  /** Kafka's unpadded base64url form back to 16 bytes. */
  uuid(v: string): this {
    const bytes = Buffer.from(v, 'base64url');
    if (bytes.length !== 16) throw new RangeError(`not a 16-byte uuid: ${v}`);
    return this.raw(bytes);
  }

  /** Copies `b` into the output. */
  raw(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.scratch, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Links `b` into the output without copying; large stored batches go out this way. */
  appendRef(b: Buffer): this {
    if (b.length < 256) return this.raw(b);
    this.closeScratch();
    this.chunks.push(b);
    this.closedLength += b.length;
    return this;
  }

  private text(v: string): number {
    return Buffer.byteLength(v, 'utf8');
  }
  private writeText(v: string, byteLength: number): void {
    this.ensure(byteLength);
    this.scratch.write(v, this.pos, byteLength, 'utf8');
    this.pos += byteLength;
  }

  string(v: string): this {
    const n = this.text(v);
    this.int16(n);
    this.writeText(v, n);
    return this;
  }
  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    return this.string(v);
  }
  compactString(v: string): this {
    const n = this.text(v);
    this.uvarint(n + 1);
    this.writeText(v, n);
    return this;
  }
  compactNullableString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    return this.compactString(v);
  }

  bytes(v: Buffer | readonly Buffer[]): this {
    this.int32(totalLength(v));
    return this.bytesBody(v);
  }
  nullableBytes(v: Buffer | readonly Buffer[] | null): this {
    if (v === null) return this.int32(-1);
    return this.bytes(v);
  }
  compactBytes(v: Buffer | readonly Buffer[]): this {
    this.uvarint(totalLength(v) + 1);
    return this.bytesBody(v);
  }
  compactNullableBytes(v: Buffer | readonly Buffer[] | null): this {
    if (v === null) return this.uvarint(0);
    return this.compactBytes(v);
  }
  private bytesBody(v: Buffer | readonly Buffer[]): this {
    if (Buffer.isBuffer(v)) return this.appendRef(v);
    for (const part of v) this.appendRef(part);
    return this;
  }

  arrayLength(n: number): this {
    return this.int32(n);
  }
  compactArrayLength(n: number): this {
    return this.uvarint(n + 1);
  }

  /** One tagged field: tag, size, then the bytes `body` holds (linked, not re-encoded). */
  taggedField(tag: number, body: Writer): this {
    this.uvarint(tag);
    this.uvarint(body.length);
    for (const chunk of body.toChunks()) this.appendRef(chunk);
    return this;
  }

  /** Reserves 4 bytes for a length/size filled in later with `patchInt32`. */
  reserveInt32(): { chunk: Buffer; at: number } {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return { chunk: this.scratch, at };
  }
  patchInt32(slot: { chunk: Buffer; at: number }, v: number): void {
    slot.chunk.writeInt32BE(v, slot.at);
  }

  toChunks(): Buffer[] {
    this.closeScratch();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.closedLength);
  }
}

function totalLength(v: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(v)) return v.length;
  let n = 0;
  for (const part of v) n += part.length;
  return n;
}
