import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeResponseFrame } from '../codec/client.js';
import { ErrorCode } from '../codec/error-codes.js';
import { createApiVersionsResponse } from '../codec/generated/api-versions.js';
import { createFindCoordinatorResponse } from '../codec/generated/find-coordinator.js';
import { createMetadataResponse } from '../codec/generated/metadata.js';
import { fakeKafkaBroker } from '../testing/fake-kafka-broker.js';
import { KafkaCluster } from './cluster.js';
import { KafkaResponseError } from './errors.js';

interface Seen {
  apiKey: number;
  version: number;
  body: unknown;
}

/** A one-broker fake cluster (node 1, itself) advertising `apis`; `answer` may override a response body. */
async function fakeCluster(apis: Array<[number, number, number]>, answer: (seen: Seen, count: number) => unknown = () => undefined) {
  const seen: Seen[] = [];
  let port = 0;
  const { server, port: p } = await fakeKafkaBroker((socket, frame) => {
    const { header, body } = decodeRequestFrame(frame);
    const request = { apiKey: header.requestApiKey, version: header.requestApiVersion, body };
    seen.push(request);
    const count = seen.filter((s) => s.apiKey === request.apiKey).length;
    let response = answer(request, count);
    if (response === undefined && request.apiKey === 18) {
      response = createApiVersionsResponse({ apiKeys: apis.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })) });
    }
    if (response === undefined && request.apiKey === 3) {
      response = createMetadataResponse({ brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], controllerId: 1 });
    }
    if (response === undefined && request.apiKey === 10) response = createFindCoordinatorResponse({ nodeId: 1, host: '127.0.0.1', port });
    socket.write(encodeResponseFrame(request.apiKey, request.version, header.correlationId, response));
  });
  port = p;
  servers.push(server);
  return { port, seen };
}

const servers: Server[] = [];
const clusters: KafkaCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const ALL: Array<[number, number, number]> = [
  [18, 0, 3],
  [3, 0, 12],
  [10, 0, 4],
];

describe('KafkaCluster', () => {
  it('speaks the highest version both sides have, and never asks Metadata to create topics', async () => {
    const { port, seen } = await fakeCluster([
      [18, 0, 3],
      [3, 1, 5],
      [10, 0, 1],
    ]);
    const cluster = await KafkaCluster.connect({ bootstrap: [{ host: '127.0.0.1', port }] });
    clusters.push(cluster);
    await cluster.metadata(['orders']);
    await cluster.coordinator('g');
    expect(seen.map((s) => [s.apiKey, s.version])).toEqual([
      [18, 0],
      [3, 5],
      [3, 5],
      [10, 1],
    ]);
    expect(seen[2]!.body).toMatchObject({ topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
    expect(cluster.brokerIds()).toEqual([1]);
  });

  it('refuses a broker with no common version before sending the request', async () => {
    const { port, seen } = await fakeCluster([
      [18, 0, 3],
      [3, 0, 3],
    ]);
    const err = await KafkaCluster.connect({ bootstrap: [{ host: '127.0.0.1', port }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaResponseError);
    expect((err as KafkaResponseError).type).toBe('UNSUPPORTED_VERSION');
    expect(seen.map((s) => s.apiKey)).toEqual([18]);
  });

  it('bootstraps through the next address when one refuses', async () => {
    const closed = await fakeKafkaBroker(() => undefined);
    await new Promise((r) => closed.server.close(r));
    const { port } = await fakeCluster(ALL);
    const cluster = await KafkaCluster.connect({ bootstrap: [{ host: '127.0.0.1', port: closed.port }, { host: '127.0.0.1', port }] });
    clusters.push(cluster);
    expect(cluster.brokerIds()).toEqual([1]);
  });

  it('retries a coordinator that is not available yet, but not an error that will not pass', async () => {
    const { port, seen } = await fakeCluster(ALL, (s, count) => {
      if (s.apiKey !== 10) return undefined;
      const key = (s.body as { key: string }).key;
      if (key === 'loading' && count === 1) return createFindCoordinatorResponse({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      if (key === 'secret') return createFindCoordinatorResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
      return undefined;
    });
    const cluster = await KafkaCluster.connect({ bootstrap: [{ host: '127.0.0.1', port }] });
    clusters.push(cluster);
    const node = await cluster.retrying(() => cluster.coordinator('loading'));
    expect(node.address).toEqual({ host: '127.0.0.1', port });
    expect(seen.filter((s) => s.apiKey === 10)).toHaveLength(2);

    const refused = await cluster.retrying(() => cluster.coordinator('secret')).catch((e: unknown) => e);
    expect((refused as KafkaResponseError).type).toBe('GROUP_AUTHORIZATION_FAILED');
    expect(seen.filter((s) => s.apiKey === 10)).toHaveLength(3);
  });
});
