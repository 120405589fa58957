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

async function startServer(mode: Mode, closed: Connection[], handler: FrameHandler = reverseLater): Promise<number> {
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
    const port = await startServer(mode, [], held);
    // 20 KB requests: each is read in place (larger than a slab), a few per socket read at most.
    const requests = Array.from({ length: 100 }, (_, i) => Buffer.alloc(20_000, i));
    const done = exchange(port, Buffer.concat(requests.map(frame)), requests.length);
    await waitUntil(() => started >= 64);
    await new Promise((r) => setTimeout(r, 200));
    // Paused: the rest of the requests wait in the socket, not in the broker.
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
