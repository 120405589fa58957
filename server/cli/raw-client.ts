import { connect, type Socket } from 'node:net';
import { decodeResponseFrame, encodeRequestFrame } from '../../codec/client.js';
import type { ApiMessages } from '../../codec/generated/registry.js';

/**
 * A minimal Kafka protocol connection for the CLI requests kafkajs does not offer
 * (IncrementalAlterConfigs, Produce of stored batches): frames encoded with the project's
 * codec, responses matched by correlation id.
 */
export class RawConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, { apiKey: number; version: number; resolve(b: Buffer): void; reject(e: Error): void }>();
  private nextId = 1;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed by the broker'));
      this.pending.clear();
    });
  }

  static open(host: string, port: number, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out connecting to ${host}:${port}`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async request<K extends keyof ApiMessages>(apiKey: K, version: number, body: ApiMessages[K]['request']): Promise<ApiMessages[K]['response']> {
    const id = this.nextId++;
    const frame = encodeRequestFrame(apiKey, version, id, 'kafka-mysql-cli', body);
    const response = new Promise<Buffer>((resolve, reject) => this.pending.set(id, { apiKey, version, resolve, reject }));
    this.socket.write(frame);
    const raw = await response;
    return decodeResponseFrame(apiKey, version, raw).body as ApiMessages[K]['response'];
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(0, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const id = frame.readInt32BE(4);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      p.resolve(Buffer.from(frame));
    }
  }
}
