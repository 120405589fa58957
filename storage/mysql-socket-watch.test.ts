import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectMysqlSocket } from './mysql-socket.js';

/**
 * The reply watchdog of storage/mysql-socket.ts against a local TCP server standing in for
 * MySQL: one that never answers (a paused server: the kernel accepts, nobody replies) gets the
 * socket destroyed with ETIMEDOUT; one that answers keeps it open; the pool's socket set
 * forgets a closed socket.
 */
let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

async function listen(onData: (s: Socket, d: Buffer) => void): Promise<number> {
  server = createServer((s) => s.on('data', (d) => onData(s, d)));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

function closed(s: Socket): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let error: Error | undefined;
    s.on('error', (e) => (error = e));
    s.on('close', () => resolve(error));
  });
}

describe('MySQL socket reply watchdog', () => {
  it('destroys the socket when a request gets no reply, and tracks it in the set until then', async () => {
    const port = await listen(() => undefined);
    const sockets = new Set<Socket>();
    const s = connectMysqlSocket({ host: '127.0.0.1', port }, 10_000, { replyTimeoutMs: 200, sockets });
    const done = closed(s);
    await new Promise((r) => s.once('connect', r));
    expect(sockets.has(s)).toBe(true);
    s.write(Buffer.from([1, 0, 0, 0, 0x0e])); // a COM_PING packet
    const err = await done;
    expect((err as { code?: string } | undefined)?.code).toBe('ETIMEDOUT');
    expect(sockets.has(s)).toBe(false);
  });

  it('keeps a socket whose requests are answered', async () => {
    // Answers each request with an OK packet, a little later than half the timeout.
    const port = await listen((c) => setTimeout(() => c.write(Buffer.from([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])), 120));
    const s = connectMysqlSocket({ host: '127.0.0.1', port }, 10_000, { replyTimeoutMs: 200 });
    const done = closed(s);
    await new Promise((r) => s.once('connect', r));
    let replies = 0;
    s.on('data', () => replies++);
    for (let i = 0; i < 5; i++) {
      const before = replies;
      s.write(Buffer.from([1, 0, 0, 0, 0x0e]));
      while (replies === before && !s.destroyed) await new Promise((r) => setTimeout(r, 10));
    }
    expect(s.destroyed).toBe(false);
    expect(replies).toBe(5);
    s.destroy();
    expect(await done).toBeUndefined();
  });
});
