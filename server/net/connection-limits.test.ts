import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type FrameHandler } from './connection.js';
import { FrameReader } from './frame-reader.js';
import { withInPlaceReads } from './in-place-socket.js';
import { RequestByteBudget } from './limits/request-bytes.js';
import { RequestSlots } from './limits/request-slots.js';

const logger = pino({ level: 'silent' });

function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  expect(condition()).toBe(true);
}

let server: Server | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server whose connections share one set of slots and one budget; the handler is the test's. */
async function start(handler: FrameHandler, slots: RequestSlots, budget: RequestByteBudget, opened: Connection[] = []): Promise<number> {
  server = createServer({ pauseOnConnect: true }, (accepted) => {
    const reader = new FrameReader(8 << 20, budget);
    let connection: Connection | undefined;
    const socket = withInPlaceReads(accepted, () => reader.readTarget(), (n) => connection?.onReadInPlace(n))!;
    connection = new Connection(1, socket, handler, logger, 8 << 20, () => {}, 0, reader, { slots, budget });
    opened.push(connection);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as { port: number }).port;
}

async function client(port: number): Promise<{ socket: Socket; answers: string[] }> {
  const socket = connect({ host: '127.0.0.1', port });
  clients.push(socket);
  await new Promise((r) => socket.once('connect', r));
  const answers: string[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      const size = buffered.readInt32BE(0);
      answers.push(buffered.subarray(4, 4 + size).toString());
      buffered = buffered.subarray(4 + size);
    }
  });
  return { socket, answers };
}

describe('Connection with data events under queued.max.request.bytes', () => {
  it('stops reading a large partial frame the budget refuses and reads it on when memory comes back', async () => {
    const budget = new RequestByteBudget(1 << 20, 8 << 20);
    const handled: number[] = [];
    server = createServer((socket) => {
      new Connection(1, socket, async (f) => (handled.push(f.length), [frame('ok')]), logger, 8 << 20, () => {}, 0, null, { budget });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server!.address() as { port: number }).port;
    const big = (fill: number) => {
      const b = Buffer.alloc(4 + (4 << 20), fill);
      b.writeInt32BE(4 << 20, 0);
      return b;
    };
    const a = await client(port);
    const b = await client(port);
    const aBytes = big(1);
    const bBytes = big(2);
    // a passes the limit first and takes the turn to go over it; b, second, must wait.
    a.socket.write(aBytes.subarray(0, 2 << 20));
    await until(() => budget.used >= 2 << 20);
    b.socket.write(bBytes.subarray(0, 2 << 20));
    await until(() => budget.waiting === 1);
    const bHeld = budget.used - (2 << 20);
    expect(bHeld).toBeLessThan(2 << 20);
    // b stopped reading: what it counts does not grow while it waits.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(budget.used - (2 << 20)).toBe(bHeld);
    a.socket.write(aBytes.subarray(2 << 20));
    b.socket.write(bBytes.subarray(2 << 20));
    await until(() => a.answers.length === 1 && b.answers.length === 1);
    expect(handled).toEqual([4 << 20, 4 << 20]);
    await until(() => budget.used === 0 && budget.waiting === 0);
  });
});

describe('Connection under queued.max.requests', () => {
  it('holds a request read while every slot is taken, counted in the budget, and handles it when one frees', async () => {
    const slots = new RequestSlots(1);
    const budget = new RequestByteBudget(1 << 20, 1 << 20);
    const handled: string[] = [];
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const port = await start(async (f) => {
      handled.push(f.toString());
      if (f.toString() === 'slow') await gate;
      return [frame(`answer ${f.toString()}`)];
    }, slots, budget);
    const a = await client(port);
    const b = await client(port);
    a.socket.write(frame('slow'));
    await until(() => handled.length === 1);
    b.socket.write(frame('quick'));
    // B's request was read (it is counted) but not handed to the handler: the one slot is A's.
    await until(() => budget.used === 'slow'.length + 'quick'.length);
    expect(handled).toEqual(['slow']);
    expect(slots.used).toBe(1);
    open();
    await until(() => b.answers.length === 1 && a.answers.length === 1);
    expect(handled).toEqual(['slow', 'quick']);
    expect(b.answers).toEqual(['answer quick']);
    await until(() => budget.used === 0 && slots.used === 0);
  });

  it('a request parked in a long wait gives its slot back, so others are handled meanwhile', async () => {
    const slots = new RequestSlots(1);
    const budget = new RequestByteBudget(1 << 20, 1 << 20);
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const port = await start(async (f, connection) => {
      if (f.toString() === 'long poll') await connection.parked(gate);
      return [frame(`answer ${f.toString()}`)];
    }, slots, budget);
    const a = await client(port);
    const b = await client(port);
    a.socket.write(frame('long poll'));
    await until(() => slots.used === 0 && budget.used === 'long poll'.length);
    b.socket.write(frame('metadata'));
    await until(() => b.answers.length === 1);
    expect(a.answers).toEqual([]);
    open();
    await until(() => a.answers.length === 1);
    expect(a.answers).toEqual(['answer long poll']);
    await until(() => slots.used === 0 && budget.used === 0);
  });

  it('a closed connection aborts its signal and gives back the bytes of its held and partial frames', async () => {
    const slots = new RequestSlots(1);
    const budget = new RequestByteBudget(4 << 20, 1 << 20);
    const signals: AbortSignal[] = [];
    const opened: Connection[] = [];
    const port = await start(async (_f, connection) => {
      signals.push(connection.signal);
      await new Promise((r) => connection.signal.addEventListener('abort', r));
      return undefined;
    }, slots, budget, opened);
    const a = await client(port);
    a.socket.write(frame('first'));
    await until(() => signals.length === 1);
    // A second request (held: the slot is taken) and the start of a 3 MB frame (2 MiB allocated).
    const big = Buffer.alloc(100);
    big.writeInt32BE(3_000_000, 0);
    a.socket.write(Buffer.concat([frame('second'), big]));
    await until(() => budget.used === 'first'.length + 'second'.length + (2 << 20));
    // Closed by the broker (a paused socket does not see its client leave until it reads again,
    // or connections.max.idle.ms closes it).
    opened[0]!.abort('test');
    expect(signals[0]!.aborted).toBe(true);
    // The held and partial frames at once; the first request's bytes when its handler has returned.
    expect(budget.used).toBe('first'.length);
    await until(() => budget.used === 0 && slots.used === 0);
  });
});
