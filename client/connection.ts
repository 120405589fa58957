/**
 * One bounded Kafka connection on the generated codec, shared by the CLI, the compat tests
 * and the benchmark: TCP connect with a timeout, correlation ids, several requests in
 * flight, responses matched by id, a frame-size limit checked before allocation, and
 * clean errors on close, timeout and oversized frames. `requestRaw` hands back the raw
 * response frame for callers that decode (or skip) it themselves.
 */
import { connect, type OnReadOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { decodeResponseFrame, encodeRequestFrame } from '../codec/client.js';
import type { ApiMessages } from '../codec/generated/registry.js';
import { FrameSplitter } from './frames.js';
import { authenticate, type SaslCredentials } from './sasl.js';

export interface ConnectionOptions {
  host?: string;
  port: number;
  clientId?: string | null;
  connectTimeoutMs?: number;
  /** 0 means no timeout. */
  requestTimeoutMs?: number;
  maxFrameBytes?: number;
  /** TLS (SSL and SASL_SSL); absent: plaintext. */
  tls?: TlsOptions;
  /** SASL credentials, used right after connecting (client/sasl.ts). */
  sasl?: SaslCredentials;
}

export class ConnectionClosedError extends Error {
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(correlationId: number, ms: number) {
    super(`no response to request ${correlationId} within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

interface Pending {
  resolve(frame: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

export class KafkaConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly splitter: FrameSplitter;
  private nextCorrelationId = 1;
  private failure: Error | undefined;
  /** Resolves once the socket has closed, whichever side closed it. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly options: Required<Omit<ConnectionOptions, 'host' | 'port' | 'tls' | 'sasl'>>,
  ) {
    this.splitter = new FrameSplitter(options.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.failure ??= err;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.failAll(this.failure ?? new ConnectionClosedError());
        resolve();
      });
    });
  }

  static async open(options: ConnectionOptions): Promise<KafkaConnection> {
    const resolved = {
      clientId: options.clientId === undefined ? 'kafka-mysql-client' : options.clientId,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    };
    const connection = new KafkaConnection(await openSocket(options), resolved);
    if (options.sasl) {
      try {
        await authenticate(connection, options.sasl);
      } catch (err) {
        connection.close();
        throw err;
      }
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** A correlation id for a frame the caller encodes itself (then `sendFrame`). */
  allocateCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  async request<K extends keyof ApiMessages>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
  ): Promise<ApiMessages[K]['response']> {
    const frame = await this.requestRaw(apiKey, version, body);
    return decodeResponseFrame(apiKey, version, frame).body as ApiMessages[K]['response'];
  }

  /** Sends a request and resolves with its raw response frame (size prefix included). */
  requestRaw<K extends keyof ApiMessages>(apiKey: K, version: number, body: ApiMessages[K]['request']): Promise<Buffer> {
    const id = this.allocateCorrelationId();
    return this.sendFrame(id, encodeRequestFrame(apiKey, version, id, this.options.clientId, body));
  }

  /**
   * Writes an already encoded request frame whose correlation id is `correlationId`; a frame
   * given in pieces (e.g. a header around shared record bytes) is written corked, not joined.
   */
  sendFrame(correlationId: number, frame: Buffer | readonly Buffer[]): Promise<Buffer> {
    if (this.socket.destroyed) return Promise.reject(this.failure ?? new ConnectionClosedError());
    if (this.pending.has(correlationId)) return Promise.reject(new Error(`correlation id ${correlationId} already in flight`));
    return new Promise<Buffer>((resolve, reject) => {
      const ms = this.options.requestTimeoutMs;
      const timer =
        ms > 0
          ? setTimeout(() => {
              this.pending.delete(correlationId);
              reject(new RequestTimeoutError(correlationId, ms));
            }, ms)
          : undefined;
      this.pending.set(correlationId, { resolve, reject, timer });
      this.write(frame);
    });
  }

  /** Writes bytes that get no response: hostile-input tests, Produce with acks=0. */
  sendRaw(bytes: Buffer | readonly Buffer[]): void {
    this.write(bytes);
  }

  private write(bytes: Buffer | readonly Buffer[]): void {
    if (Buffer.isBuffer(bytes)) {
      this.socket.write(bytes);
      return;
    }
    this.socket.cork();
    for (const b of bytes) this.socket.write(b);
    this.socket.uncork();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Half-closes our side (FIN); responses already on their way still arrive. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      this.failure = err as Error;
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.length < 8) {
        this.failure = new Error(`response frame of ${frame.length - 4} bytes has no correlation id`);
        this.socket.destroy();
        return;
      }
      const id = frame.readInt32BE(4);
      const entry = this.pending.get(id);
      if (entry === undefined) continue; // timed out earlier: dropped
      this.pending.delete(id);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.resolve(frame);
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

export interface SocketOptions {
  host?: string;
  port: number;
  connectTimeoutMs?: number;
  /** Node's `onread`: reads land in the caller's buffer (streaming parsers). */
  onread?: OnReadOpts;
  /** TLS options; the handshake completes before the socket is handed over. */
  tls?: TlsOptions;
}

/** A connected TCP socket (no Nagle), or the connect error; fails after connectTimeoutMs (5 s). */
export function openSocket(options: SocketOptions): Promise<Socket> {
  const host = options.host ?? '127.0.0.1';
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tlsConnect({ servername: /^[\d.]+$|:/.test(host) ? undefined : host, ...options.tls, host, port: options.port })
      : connect({ host, port: options.port, ...(options.onread ? { onread: options.onread } : {}) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out connecting to ${host}:${options.port}`));
    }, connectTimeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
