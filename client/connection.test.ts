import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeRequestFrame, encodeResponseFrame } from '../codec/client.js';
import { createApiVersionsRequest, createApiVersionsResponse, createApiVersionsResponseApiVersion } from '../codec/generated/api-versions.js';
import { ConnectionClosedError, KafkaConnection, RequestTimeoutError } from './connection.js';
import { FrameSplitter, FrameTooLargeError } from './frames.js';
import { fakeKafkaBroker as fakeServer } from '../testing/fake-kafka-broker.js';

function apiVersionsResponse(correlationId: number, apiKey: number): Buffer {
  return encodeResponseFrame(18, 0, correlationId, createApiVersionsResponse({ apiKeys: [createApiVersionsResponseApiVersion({ apiKey, minVersion: 0, maxVersion: 3 })] }));
}

/** Writes `bytes` one byte per write, each after the previous was flushed. */
async function writeByteByByte(socket: Socket, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    await new Promise<void>((resolve) => socket.write(bytes.subarray(i, i + 1), () => resolve()));
  }
}

const servers: Server[] = [];
const connections: KafkaConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('FrameSplitter', () => {
  it('yields the same frames wherever the stream is split', () => {
    const stream = Buffer.concat([apiVersionsResponse(1, 7), apiVersionsResponse(2, 9), Buffer.from([0, 0, 0, 0])]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const splitter = new FrameSplitter(1024);
      const frames = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))].map((f) => Buffer.from(f));
      expect(frames).toEqual([apiVersionsResponse(1, 7), apiVersionsResponse(2, 9), Buffer.from([0, 0, 0, 0])]);
    }
  });

  it('assembles frames fed one byte at a time', () => {
    const stream = Buffer.concat([apiVersionsResponse(1, 7), apiVersionsResponse(2, 9)]);
    const splitter = new FrameSplitter(1024);
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...splitter.push(stream.subarray(i, i + 1)).map((f) => Buffer.from(f)));
    expect(frames).toEqual([apiVersionsResponse(1, 7), apiVersionsResponse(2, 9)]);
  });

  it('refuses a size over the limit, or negative, from the prefix alone', () => {
    expect(() => new FrameSplitter(100).push(Buffer.from([0, 0, 0, 101]))).toThrow(FrameTooLargeError);
    expect(() => new FrameSplitter(100).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameTooLargeError);
    expect(new FrameSplitter(100).push(Buffer.from([0, 0, 0, 100]))).toEqual([]);
  });
});

describe('KafkaConnection', () => {
  it('pipelines requests and matches responses sent out of order, one byte at a time', async () => {
    const received: Buffer[] = [];
    const { server, port } = await fakeServer((socket, frame) => {
      received.push(frame);
      if (received.length === 3) {
        // Answer the last first, each response split at every byte.
        void (async () => {
          for (const req of [...received].reverse()) {
            const { header } = decodeRequestFrame(req);
            await writeByteByByte(socket, apiVersionsResponse(header.correlationId, 100 + header.correlationId));
          }
        })();
      }
    });
    servers.push(server);
    const conn = await KafkaConnection.open({ port, clientId: 'unit' });
    connections.push(conn);
    const answers = await Promise.all([1, 2, 3].map(() => conn.request(18, 0, createApiVersionsRequest())));
    expect(answers.map((a) => a.apiKeys[0]!.apiKey)).toEqual([101, 102, 103]);
    expect(received.map((f) => decodeRequestFrame(f).header.clientId)).toEqual(['unit', 'unit', 'unit']);
    expect(conn.inFlight).toBe(0);
  });

  it('hands back the raw response frame', async () => {
    const { server, port } = await fakeServer((socket, frame) => {
      socket.write(apiVersionsResponse(decodeRequestFrame(frame).header.correlationId, 5));
    });
    servers.push(server);
    const conn = await KafkaConnection.open({ port });
    connections.push(conn);
    const raw = await conn.requestRaw(18, 0, createApiVersionsRequest());
    expect(Buffer.from(raw)).toEqual(apiVersionsResponse(1, 5));
  });

  it('writes a frame given in pieces as one frame', async () => {
    const received: Buffer[] = [];
    const { server, port } = await fakeServer((socket, frame) => {
      received.push(frame);
      socket.write(apiVersionsResponse(decodeRequestFrame(frame).header.correlationId, 6));
    });
    servers.push(server);
    const conn = await KafkaConnection.open({ port, clientId: 'pieces' });
    connections.push(conn);
    const id = conn.allocateCorrelationId();
    const whole = encodeRequestFrame(18, 0, id, 'pieces', createApiVersionsRequest());
    const raw = await conn.sendFrame(id, [whole.subarray(0, 5), whole.subarray(5, 9), whole.subarray(9)]);
    expect(received).toEqual([whole]);
    expect(Buffer.from(raw)).toEqual(apiVersionsResponse(id, 6));
  });

  it('fails pending requests and closes on a frame over the limit, before it arrives', async () => {
    const { server, port } = await fakeServer((socket) => {
      // Only the size prefix of a 1 MiB frame: the limit must trip without the body.
      socket.write(Buffer.from([0, 0x10, 0, 0]));
    });
    servers.push(server);
    const conn = await KafkaConnection.open({ port, maxFrameBytes: 1000 });
    connections.push(conn);
    await expect(conn.request(18, 0, createApiVersionsRequest())).rejects.toThrow(FrameTooLargeError);
    await conn.closed;
    expect(conn.isClosed).toBe(true);
  });

  it('fails pending requests when the broker closes, and refuses new ones', async () => {
    const { server, port } = await fakeServer((socket) => socket.destroy());
    servers.push(server);
    const conn = await KafkaConnection.open({ port });
    connections.push(conn);
    await expect(conn.request(18, 0, createApiVersionsRequest())).rejects.toThrow(ConnectionClosedError);
    await expect(conn.request(18, 0, createApiVersionsRequest())).rejects.toThrow(ConnectionClosedError);
  });

  it('times out a request with no answer, and the connection stays usable', async () => {
    let calls = 0;
    const { server, port } = await fakeServer((socket, frame) => {
      calls++;
      if (calls > 1) socket.write(apiVersionsResponse(decodeRequestFrame(frame).header.correlationId, 8));
    });
    servers.push(server);
    const conn = await KafkaConnection.open({ port, requestTimeoutMs: 50 });
    connections.push(conn);
    await expect(conn.request(18, 0, createApiVersionsRequest())).rejects.toThrow(RequestTimeoutError);
    const second = await conn.request(18, 0, createApiVersionsRequest());
    expect(second.apiKeys[0]!.apiKey).toBe(8);
  });

  it('rejects a connect to a closed port', async () => {
    const { server, port } = await fakeServer(() => undefined);
    await new Promise((r) => server.close(r));
    await expect(KafkaConnection.open({ port })).rejects.toThrow(/ECONNREFUSED/);
  });
});
