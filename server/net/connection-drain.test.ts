import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type FrameHandler } from './connection.js';
import { FrameReader } from './frame-reader.js';
import { withInPlaceReads } from './in-place-socket.js';

/**
 * Connection.drain (broker shutdown) on real sockets: requests read before the drain are
 * answered in order, a frame that arrives after it is never handled, and the socket ends after
 * the last response. Handlers finish when the test opens their gate, so nothing depends on time.
 */
const logger = pino({ level: 'silent' });
const MAX_FRAME = 1 << 20;

function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

describe.each(['data events', 'in-place reads'] as const)('Connection.drain (%s)', (mode) => {
  it('answers what was read, handles nothing read afterwards, then ends the socket', async () => {
    const handled: string[] = [];
    const gates: Array<() => void> = [];
    const handler: FrameHandler = async (request) => {
      const text = request.toString();
      handled.push(text);
      await new Promise<void>((resolve) => gates.push(resolve));
      return [frame(`re:${text}`)];
    };
    let connection: Connection | undefined;
    server = createServer({ pauseOnConnect: true }, (accepted) => {
      let socket: Socket = accepted;
      let reader: FrameReader | null = null;
      if (mode === 'in-place reads') {
        const r = (reader = new FrameReader(MAX_FRAME));
        socket = withInPlaceReads(accepted, () => r.readTarget(), (n) => connection?.onReadInPlace(n))!;
      } else accepted.resume();
      connection = new Connection(1, socket, handler, logger, MAX_FRAME, () => undefined, 0, reader);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    let received = '';
    let ended = false;
    client.on('data', (d: Buffer) => (received += d.toString('latin1')));
    client.on('end', () => (ended = true));
    await new Promise((resolve) => client.once('connect', resolve));

    client.write(Buffer.concat([frame('a'), frame('b'), frame('c')]));
    await until(() => handled.length === 3);
    const drained = connection!.drain();
    // Sent after the drain began; the server reads it (it reads on to see the client's FIN) but must not handle it.
    client.write(frame('late'));
    // Answers leave in request order even when the handlers finish in reverse.
    gates[2]!();
    gates[1]!();
    gates[0]!();
    await until(() => ended);
    client.end();
    expect(await drained).toBe(3);
    expect(connection!.isClosed).toBe(true);
    expect(connection!.closeReason).toBe('shutdown');
    // The client's FIN came after 'late' on the stream, so 'late' was read before the close: never handled.
    expect(handled).toEqual(['a', 'b', 'c']);
    const expected = Buffer.concat([frame('re:a'), frame('re:b'), frame('re:c')]).toString('latin1');
    expect(received).toBe(expected);
  });

  it('ends an idle connection at once', async () => {
    let connection: Connection | undefined;
    server = createServer({ pauseOnConnect: true }, (accepted) => {
      accepted.resume();
      connection = new Connection(1, accepted, async () => undefined, logger, MAX_FRAME, () => undefined);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    const ended = new Promise((resolve) => client.once('end', resolve));
    await until(() => connection !== undefined);
    const drained = connection!.drain();
    await ended;
    client.end();
    expect(await drained).toBe(0);
  });
});
