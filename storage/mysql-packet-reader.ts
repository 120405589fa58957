/** Result sets are mostly small packets (column definitions, short rows): several per slab. */
const SLAB_BYTES = 64 * 1024;
/** A slab with less room than this left is replaced before the next read. */
const MIN_READ_BYTES = 4 * 1024;
const HEADER_BYTES = 4;

function packetBytes(b: Buffer, at: number): number {
  return HEADER_BYTES + (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16));
}

/**
 * Cuts the MySQL client protocol's byte stream (3-byte length, sequence id, payload) into
 * chunks of whole packets while telling the socket where to read next (`onread` with a buffer
 * function). A packet larger than a slab, such as a row holding a 1 MiB record batch, is read
 * by the kernel straight into a buffer of exactly its size; handed to mysql2 as one chunk, it
 * is parsed in place (mysql2 copies only packets that span chunks), so the batch the broker
 * gets is a view of that buffer: no 64 KiB socket chunks and no reassembly copy per row.
 *
 * Small packets are read into slabs and handed out as views of them; a slab is only ever
 * written past what was handed out, so the views stay valid however long they are kept.
 */
export class MysqlPacketReader {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** First slab byte not yet handed out. */
  private start = 0;
  /** End of the bytes read into the slab. */
  private end = 0;
  /** The packet (header included) being read in place, and how much of it has arrived. */
  private large: Buffer | null = null;
  private largeFill = 0;

  /** Where the socket's next read should land. */
  readTarget(): Buffer {
    if (this.large) return this.large.subarray(this.largeFill);
    if (this.slab.length - this.end < MIN_READ_BYTES) this.moveToFreshSlab();
    return this.slab.subarray(this.end);
  }

  /** Accounts for `n` bytes read into the last `readTarget()`; returns chunks of whole packets, in stream order. */
  onRead(n: number): Buffer[] {
    if (this.large) {
      this.largeFill += n;
      if (this.largeFill < this.large.length) return [];
      const packet = this.large;
      this.large = null;
      return [packet];
    }
    this.end += n;
    let at = this.start;
    while (this.end - at >= HEADER_BYTES && this.end - at >= packetBytes(this.slab, at)) at += packetBytes(this.slab, at);
    const chunks: Buffer[] = [];
    if (at > this.start) {
      chunks.push(this.slab.subarray(this.start, at));
      this.start = at;
    }
    if (this.end - this.start >= HEADER_BYTES) {
      const bytes = packetBytes(this.slab, this.start);
      if (this.start + bytes > this.slab.length) {
        if (bytes <= SLAB_BYTES) this.moveToFreshSlab();
        else {
          // Larger than a slab: its own buffer, the rest read straight into it.
          this.large = Buffer.allocUnsafe(bytes);
          this.slab.copy(this.large, 0, this.start, this.end);
          this.largeFill = this.end - this.start;
          // Those bytes were copied, never handed out: the slab takes the next reads there again.
          this.end = this.start;
        }
      }
    }
    return chunks;
  }

  /** Carries the start of an incomplete packet over to a new slab; the old one stays with its views. */
  private moveToFreshSlab(): void {
    const fresh = Buffer.allocUnsafe(SLAB_BYTES);
    const pending = this.end - this.start;
    this.slab.copy(fresh, 0, this.start, this.end);
    this.slab = fresh;
    this.start = 0;
    this.end = pending;
  }
}
