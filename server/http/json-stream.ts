/**
 * Splits a byte stream of concatenated JSON objects (Confluent's streaming produce body:
 * `{...}{...}` with optional whitespace between) into one text per object, without parsing
 * them: strings and escapes are tracked so braces inside strings do not count. An object
 * longer than `maxObjectBytes` is refused before it is buffered further.
 */
import { RestError } from './errors.js';

const OPEN = 0x7b;
const CLOSE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class JsonObjectSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxObjectBytes: number) {}

  /** The objects completed by this chunk. Throws a 400 on bytes that cannot start an object. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = this.depth > 0 ? 0 : -1;
    // Where the next backslash is, from a native search, kept until passed (base64 values have none).
    let backslash = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.depth === 0) {
        if (c === OPEN) {
          this.depth = 1;
          start = i;
        } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
          throw new RestError(400, 400, `Malformed JSON: expected '{' at a record's start, found '${String.fromCharCode(c)}'`);
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        // Jump to the string's next quote or backslash with native searches rather than a byte
        // at a time in JS: most of a produce body is long string values.
        if (backslash < i) backslash = indexOrEnd(chunk, BACKSLASH, i);
        const quote = indexOrEnd(chunk, QUOTE, i);
        if (backslash < quote) {
          // Skip the escaped byte (it may be in the next chunk).
          if (backslash + 1 < chunk.length) i = backslash + 1;
          else {
            this.escaped = true;
            i = chunk.length;
          }
          continue;
        }
        if (quote < chunk.length) this.inString = false;
        i = quote;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN || c === 0x5b) this.depth++;
      else if (c === CLOSE || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          const part = chunk.subarray(start, i + 1);
          this.checkSize(part.length);
          out.push(this.pendingBytes === 0 ? part.toString('utf8') : Buffer.concat([...this.pending, part]).toString('utf8'));
          this.pending = [];
          this.pendingBytes = 0;
          start = -1;
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      const part = chunk.subarray(start);
      this.checkSize(part.length);
      // Copied: the socket's chunk is not ours to keep.
      this.pending.push(Buffer.from(part));
      this.pendingBytes += part.length;
    }
    return out;
  }

  /** Throws a 400 when the stream ended inside an object. */
  end(): void {
    if (this.depth > 0) throw new RestError(400, 400, 'Malformed JSON: the body ends inside a record');
  }

  private checkSize(more: number): void {
    if (this.pendingBytes + more > this.maxObjectBytes) {
      throw new RestError(413, 413, `A record's JSON exceeds the limit of ${this.maxObjectBytes} bytes (socket.request.max.bytes)`);
    }
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}
