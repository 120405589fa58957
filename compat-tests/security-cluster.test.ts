/**
 * Listeners with several brokers: two brokers registered in ZooKeeper, each with a PLAINTEXT and
 * a SASL_PLAINTEXT listener on ports of their own. A client that authenticated on one broker's
 * SASL listener gets every broker at its SASL_PLAINTEXT address in Metadata, and a PLAINTEXT
 * client gets the PLAINTEXT addresses (each broker registers all of its advertised listeners).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { RawClient } from './support/clients.js';

let cluster: TestCluster;
const saslPorts = new Map<number, number>();

beforeAll(async () => {
  cluster = await startTestCluster('security_listeners', 2, {
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_ops="ops-secret";',
  });
  for (const [id, b] of cluster.brokers) {
    const line = b.output().split('\n').find((l) => l.includes('kafka-mysql broker listening'))!;
    saslPorts.set(id, (JSON.parse(line) as { listeners: Record<string, { port: number }> }).listeners.SASL_PLAINTEXT!.port);
  }
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function brokersSeen(port: number, sasl: boolean): Promise<Map<number, number>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = await RawClient.connect(port);
    try {
      if (sasl) {
        expect((await client.request(17, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
        expect((await client.request(36, 1, { authBytes: Buffer.from('\u0000ops\u0000ops-secret') })).errorCode).toBe(0);
      }
      const metadata = await client.request(3, 9, createMetadataRequest({ topics: [] }));
      const seen = new Map(metadata.brokers.map((b) => [b.nodeId, b.port]));
      if (seen.size === 2 || Date.now() > deadline) return seen;
    } finally {
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('listeners across brokers', () => {
  it('Metadata lists every broker at the address of the listener the client used', async () => {
    expect(await brokersSeen(saslPorts.get(1)!, true)).toEqual(new Map([[1, saslPorts.get(1)], [2, saslPorts.get(2)]]));
    expect(await brokersSeen(cluster.ports.get(2)!, false)).toEqual(new Map([[1, cluster.ports.get(1)], [2, cluster.ports.get(2)]]));
    expect(new Set([...saslPorts.values(), ...cluster.ports.values()]).size).toBe(4);
  });
});
