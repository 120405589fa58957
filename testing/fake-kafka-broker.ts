import { createServer, type Server, type Socket } from 'node:net';
import { FrameSplitter } from '../client/frames.js';

/**
 * A fake Kafka broker on 127.0.0.1 for client tests: it splits what clients send into frames
 * and hands each (a copy, with its size prefix) to `onRequest`, which writes whatever bytes
 * the test wants back on the socket.
 */
export async function fakeKafkaBroker(onRequest: (socket: Socket, frame: Buffer) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const splitter = new FrameSplitter(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of splitter.push(chunk)) onRequest(socket, Buffer.from(frame));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}
