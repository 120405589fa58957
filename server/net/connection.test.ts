import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type FrameHandler } from './connection.js';
import { FrameReader } from './frame-reader.js';
import { withInPlaceReads } from './in-place-socket.js';

const logger = pino({ level: 'silent' });
const MAX_FRAME = 1 << 20;

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Answers each request with its own bytes reversed, after a delay that is longer for earlier requests. */
const reverseLater: FrameHandler = async (request) => {
  const reversed = Buffer.from(request).reverse();
  await new Promise((r) => setTimeout(r, request.length % 7));
  return [frame(reversed)];
};

type Mode = 'data events' | 'in-place reads';

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function startServer(
  mode: Mode,
  closed: Connection[],
  handler: FrameHandler = reverseLater,
  opened: Connection[] = [],
): Promise<number> {
  server = createServer({ pauseOnConnect: true }, (accepted) => {
    let socket: Socket = accepted;
    let reader: FrameReader | null = null;
    let connection: Connection | undefined;
    if (mode === 'in-place reads') {
      reader = new FrameReader(MAX_FRAME);
      const r = reader;
      socket = withInPlaceReads(accepted, () => r.readTarget(), (n) => connection?.onReadInPlace(n))!;
      expect(socket).not.toBeNull();
    } else {
      accepted.resume();
    }
    connection = new Connection(1, socket, handler, logger, MAX_FRAME, (c) => closed.push(c), 0, reader);
    opened.push(connection);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as { port: number }).port;
}

/** Sends `bytes` and collects `count` response frames (payloads). */
function exchange(port: number, bytes: Buffer, count: number): Promise<{ responses: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1', () => client.write(bytes));
    let received = Buffer.alloc(0);
    const responses: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        const size = received.readInt32BE(0);
        responses.push(received.subarray(4, 4 + size));
        received = received.subarray(4 + size);
      }
      if (responses.length === count) {
        client.end();
        resolve({ responses, closed: false });
      }
    });
    client.on('close', () => resolve({ responses, closed: true }));
    client.on('error', () => undefined);
  });
}

describe.each<Mode>(['data events', 'in-place reads'])('Connection with %s', (mode) => {
  it('answers pipelined requests of every size in request order', async () => {
    const port = await startServer(mode, []);
    const requests = [Buffer.from('one'), Buffer.alloc(200_000, 3), Buffer.from('three'), Buffer.alloc(17_000, 4), Buffer.alloc(0)];
    const { responses } = await exchange(port, Buffer.concat(requests.map(frame)), requests.length);
    expect(responses.map((r) => r.toString('hex'))).toEqual(requests.map((r) => Buffer.from(r).reverse().toString('hex')));
  });

  it('stops reading with 64 requests in flight and resumes when they are answered', async () => {
    let started = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: FrameHandler = async (request) => {
      started++;
      await released;
      return [frame(request)];
    };
    const opened: Connection[] = [];
    const port = await startServer(mode, [], held, opened);
    // 20 KB requests: each is read in place (larger than a slab), a few per socket read at most.
    const requests = Array.from({ length: 100 }, (_, i) => Buffer.alloc(20_000, i));
    const done = exchange(port, Buffer.concat(requests.map(frame)), requests.length);
    await waitUntil(() => started >= 64);
    // The read that started the 64th request paused the socket in the same turn: the rest of
    // the requests wait in the socket, not in the broker. (That a paused socket delivers
    // nothing is checked without a network below, with a hand-driven socket.)
    expect(opened).toHaveLength(1);
    expect(opened[0]!.socket.isPaused()).toBe(true);
    expect(started).toBeLessThan(100);
    release();
    const { responses } = await done;
    expect(started).toBe(100);
    expect(responses.map((r) => r[0])).toEqual(requests.map((_, i) => i));
  });

  it('closes only the connection that sends a frame over the limit', async () => {
    const closed: Connection[] = [];
    const port = await startServer(mode, closed);
    const oversized = Buffer.alloc(4);
    oversized.writeInt32BE(MAX_FRAME + 1);
    const bad = await exchange(port, oversized, 1);
    expect(bad).toEqual({ responses: [], closed: true });
    expect(closed.map((c) => c.closeReason)).toEqual(['protocol']);
    const good = await exchange(port, frame(Buffer.from('still serving')), 1);
    expect(good.responses[0]!.toString()).toBe(Buffer.from('still serving').reverse().toString());
  });
});

/** A socket the test drives: it delivers reads only while the connection keeps it resumed, as the kernel does. */
class HandDrivenSocket extends EventEmitter {
  paused = false;
  readonly written: Buffer[] = [];
  readonly writableNeedDrain = false;
  readonly remoteAddress = '127.0.0.1';
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }
  destroy(): this {
    return this;
  }
  end(): this {
    return this;
  }
}

/** A connection on a hand-driven socket, and `read(bytes)`: one socket read of `bytes` in the given mode. */
function handDriven(mode: Mode, handler: FrameHandler): { socket: HandDrivenSocket; read(bytes: Buffer): void } {
  const socket = new HandDrivenSocket();
  const reader = mode === 'in-place reads' ? new FrameReader(MAX_FRAME) : null;
  const connection = new Connection(1, socket as unknown as Socket, handler, logger, MAX_FRAME, () => undefined, 0, reader);
  const read = (bytes: Buffer): void => {
    if (!reader) {
      socket.emit('data', Buffer.from(bytes));
      return;
    }
    // The reader chooses where each read lands; a frame larger than a slab takes several reads.
    for (let at = 0; at < bytes.length; ) {
      const target = reader.readTarget();
      const n = Math.min(target.length, bytes.length - at);
      bytes.copy(target, 0, at, at + n);
      at += n;
      connection.onReadInPlace(n);
    }
  };
  return { socket, read };
}

/** Lets every pending promise reaction and nextTick run (a macrotask turn, not a wall-clock wait). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe.each<Mode>(['data events', 'in-place reads'])('Connection with %s on a hand-driven socket', (mode) => {
  it('pauses exactly when the 64th request is in flight, and resumes below 32', async () => {
    let started = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { socket, read } = handDriven(mode, async (request) => {
      started++;
      await released;
      return [frame(request)];
    });
    const requests = Array.from({ length: 100 }, (_, i) => frame(Buffer.alloc(20_000, i)));
    let sent = 0;
    const readWhileResumed = () => {
      while (!socket.paused && sent < requests.length) read(requests[sent++]!);
    };
    readWhileResumed();
    expect(socket.paused).toBe(true);
    expect(sent).toBe(64);
    expect(started).toBe(64);
    expect(socket.written).toEqual([]);
    release();
    await settle();
    // All 64 answered in order; the socket was resumed once fewer than 32 were left in flight.
    expect(socket.written.map((r) => r[4])).toEqual(requests.slice(0, 64).map((_, i) => i));
    expect(socket.paused).toBe(false);
    readWhileResumed();
    await settle();
    expect(started).toBe(100);
    expect(socket.written.map((r) => r[4])).toEqual(requests.map((_, i) => i));
  });

  it('tells the handler which frames lie in memory of their own', async () => {
    const seen: Array<{ size: number; owned: boolean }> = [];
    const { read } = handDriven(mode, async (request, _connection, frameOwned) => {
      seen.push({ size: request.length, owned: frameOwned });
      return undefined;
    });
    const big = frame(Buffer.alloc(100_000, 1));
    const small = frame(Buffer.alloc(100, 2));
    // A small frame inside one read, then a big frame arriving in two reads.
    read(small);
    read(big.subarray(0, 30_000));
    read(big.subarray(30_000));
    await settle();
    // In place: the big frame is read into a buffer of its own. With data events: it is
    // assembled from the two chunks into memory of the connection's own.
    expect(seen).toEqual([
      { size: 100, owned: false },
      { size: 100_000, owned: true },
    ]);
  });
});
