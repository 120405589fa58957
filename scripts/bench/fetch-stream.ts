/**
 * The harness's Fetch follower connection: it reads responses into one reused receive buffer
 * and parses them as they stream in, keeping only what a consumer needs to go on (the error
 * code and each batch's header), so it costs almost no CPU, like the Produce replayer. A
 * client that gathers each 8 MiB response into one buffer first spends as much CPU as the
 * broker on the same two cores and would measure itself rather than the broker.
 *
 * It understands Fetch v11 responses to requests for one topic and one partition. It shares
 * only the socket opening with client/connection.ts: that client gathers each response into
 * one buffer before matching it by correlation id, which is exactly the cost this connection
 * exists to avoid, so framing and in-order matching stay here.
 */
import type * as net from 'node:net';
import { openSocket } from '../../client/connection.js';

/** What one Fetch response carried: complete batches only (a batch cut at the end is not counted). */
export interface StreamedFetchAnswer {
  errorCode: number;
  batches: StreamedBatch[];
}

export interface StreamedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  records: number;
  bytes: number;
}

const BATCH_HEADER_BYTES = 61;
const RECEIVE_BUFFER_BYTES = 256 * 1024;
/** Response bytes before the records of a one-partition v11 response, with room to spare. */
const HEAD_BYTES = 4096;

interface ParsedHead {
  errorCode: number;
  /** Where the records start in the head buffer. */
  recordsAt: number;
  recordsBytes: number;
}

/**
 * Parses the part of a Fetch v11 response (after the size prefix) that precedes the first
 * partition's records; null while `length` bytes are not yet enough.
 */
export function parseFetchV11Head(b: Buffer, length: number): ParsedHead | null {
  // correlation id, throttle ms, top-level error code, session id, topic count
  if (length < 18) return null;
  const topError = b.readInt16BE(8);
  const topics = b.readInt32BE(14);
  let p = 18;
  if (topics <= 0) return { errorCode: topError, recordsAt: p, recordsBytes: 0 };
  if (length < p + 2) return null;
  p += 2 + Math.max(0, b.readInt16BE(p));
  if (length < p + 4) return null;
  const partitions = b.readInt32BE(p);
  p += 4;
  if (partitions <= 0) return { errorCode: topError, recordsAt: p, recordsBytes: 0 };
  // partition index, error code, high watermark, last stable offset, log start offset, aborted count
  if (length < p + 34) return null;
  const errorCode = b.readInt16BE(p + 4);
  const aborted = b.readInt32BE(p + 30);
  p += 34 + 16 * Math.max(0, aborted);
  // preferred read replica, records length
  if (length < p + 8) return null;
  const recordsBytes = Math.max(0, b.readInt32BE(p + 4));
  return { errorCode: errorCode !== 0 ? errorCode : topError, recordsAt: p + 8, recordsBytes };
}

/** Walks record batches fed in pieces, remembering only their headers. */
export class BatchHeaderScanner {
  private readonly header = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  private headerFill = 0;
  private skip = 0;
  private left = 0;
  batches: StreamedBatch[] = [];

  start(recordsBytes: number): void {
    this.left = recordsBytes;
    this.headerFill = 0;
    this.skip = 0;
    this.batches = [];
  }

  /** Feeds bytes [from, to) of `chunk`; bytes past the records are ignored. */
  feed(chunk: Buffer, from: number, to: number): void {
    let p = from;
    while (p < to && this.left > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, to - p, this.left);
        this.skip -= n;
        this.left -= n;
        p += n;
        continue;
      }
      const n = Math.min(BATCH_HEADER_BYTES - this.headerFill, to - p, this.left);
      chunk.copy(this.header, this.headerFill, p, p + n);
      this.headerFill += n;
      this.left -= n;
      p += n;
      if (this.headerFill < BATCH_HEADER_BYTES) continue;
      this.headerFill = 0;
      const bytes = this.header.readInt32BE(8) + 12;
      const rest = Math.max(0, bytes - BATCH_HEADER_BYTES);
      if (rest <= this.left) {
        const baseOffset = this.header.readBigInt64BE(0);
        this.batches.push({ baseOffset, lastOffset: baseOffset + BigInt(this.header.readInt32BE(23)), records: this.header.readInt32BE(57), bytes });
      }
      this.skip = rest;
    }
  }
}

/**
 * Splits a stream of Fetch v11 response bytes into answers, without keeping the bytes: each
 * piece is read once, when it arrives (the caller may reuse its buffer afterwards).
 */
export class FetchResponseStream {
  private readonly sizeBytes = Buffer.allocUnsafe(4);
  private sizeFill = 0;
  private readonly head = Buffer.allocUnsafe(HEAD_BYTES);
  private headFill = 0;
  private inRecords = false;
  private frameLeft = -1;
  private errorCode = 0;
  private readonly scanner = new BatchHeaderScanner();

  constructor(private readonly onAnswer: (answer: StreamedFetchAnswer) => void) {}

  /** Reads bytes [0, n) of `buf`; throws when a response head is not a one-partition Fetch v11 head. */
  push(buf: Buffer, n: number): void {
    let p = 0;
    while (p < n) {
      if (this.frameLeft < 0) {
        const take = Math.min(4 - this.sizeFill, n - p);
        buf.copy(this.sizeBytes, this.sizeFill, p, p + take);
        this.sizeFill += take;
        p += take;
        if (this.sizeFill < 4) return;
        this.frameLeft = this.sizeBytes.readInt32BE(0);
        this.sizeFill = 0;
        this.headFill = 0;
        this.inRecords = false;
        this.errorCode = 0;
        this.scanner.start(0);
      } else if (!this.inRecords) {
        const take = Math.min(n - p, this.frameLeft, HEAD_BYTES - this.headFill);
        buf.copy(this.head, this.headFill, p, p + take);
        this.headFill += take;
        this.frameLeft -= take;
        p += take;
        const parsed = parseFetchV11Head(this.head, this.headFill);
        if (parsed) {
          this.inRecords = true;
          this.errorCode = parsed.errorCode;
          this.scanner.start(parsed.recordsBytes);
          this.scanner.feed(this.head, Math.min(parsed.recordsAt, this.headFill), this.headFill);
        } else if (this.headFill === HEAD_BYTES || this.frameLeft === 0) {
          throw new Error('Fetch response head not understood');
        }
      } else {
        const take = Math.min(n - p, this.frameLeft);
        this.scanner.feed(buf, p, p + take);
        this.frameLeft -= take;
        p += take;
      }
      if (this.frameLeft === 0) {
        this.frameLeft = -1;
        this.onAnswer({ errorCode: this.errorCode, batches: this.scanner.batches });
      }
    }
  }
}

/** A connection answering Fetch requests in order, reading into one reused receive buffer. */
export class StreamingFetchConnection {
  private readonly socket: net.Socket;
  private readonly waiting: Array<{ resolve: (a: StreamedFetchAnswer) => void; reject: (e: Error) => void }> = [];
  private readonly responses = new FetchResponseStream((answer) => this.waiting.shift()?.resolve(answer));
  private closed = false;
  correlation = 1;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects through the shared client's openSocket, with reads landing in one reused buffer. */
  static async connect(host: string, port: number): Promise<StreamingFetchConnection> {
    let conn: StreamingFetchConnection | undefined;
    const socket = await openSocket({
      host,
      port,
      onread: {
        buffer: Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          conn?.onRead(buf as Buffer, n);
          return true;
        },
      },
    });
    conn = new StreamingFetchConnection(socket);
    return conn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one encoded Fetch v11 request frame; resolves when its whole response has arrived. */
  request(frame: Buffer): Promise<StreamedFetchAnswer> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('connection closed'));
        return;
      }
      this.waiting.push({ resolve, reject });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onRead(buf: Buffer, n: number): void {
    try {
      this.responses.push(buf, n);
    } catch (e) {
      this.close();
      this.fail(e as Error);
    }
  }

  private fail(error: Error): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}
