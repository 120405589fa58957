import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../../compat-tests/support/mysql.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { MysqlOffsetStore } from '../../storage/offset-store.js';
import { SingleBrokerCluster } from '../cluster/single-broker.js';
import { loadConfig } from '../config/index.js';
import { Dispatcher } from '../dispatcher.js';
import type { BrokerContext } from '../handler-types.js';
import { createHandlers } from '../handlers/index.js';
import { KafkaListener } from '../listener.js';
import { createBrokerMetrics } from '../metrics.js';
import { GroupCoordinator } from './coordinator.js';
import { GROUP_COORDINATOR_SERVICE, groupHandlers } from './index.js';

/**
 * kafkajs consumer groups against the broker's own handlers plus the group handlers, on the
 * test MariaDB. Assembled here (not through startBroker) until the broker wires the groups in.
 */

interface TestBroker {
  port: number;
  stop(): Promise<void>;
}

async function startTestBroker(url: string): Promise<TestBroker> {
  const logger = pino({ level: 'silent' });
  const config = loadConfig({ env: {}, overrides: { 'mysql.url': url, listeners: 'PLAINTEXT://127.0.0.1:0' } });
  const storage: Storage = await openStorage({ metadataUrl: url, shardUrls: [url], logger });
  const self = { nodeId: config.brokerId, host: '127.0.0.1', port: 0, rack: null };
  const coordinator = new GroupCoordinator({
    offsetStore: new MysqlOffsetStore(storage.metadataPool),
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 1_800_000, offsetsRetentionMinutes: 10080, offsetMetadataMaxBytes: 4096 },
    logger,
  });
  const metrics = createBrokerMetrics();
  const context: BrokerContext = {
    config,
    logger,
    catalog: storage.catalog,
    logs: storage.logs,
    cluster: new SingleBrokerCluster(storage.clusterId, self),
    services: new Map<string, unknown>([
      ['storage', storage],
      [GROUP_COORDINATOR_SERVICE, coordinator],
    ]),
    metrics,
    now: () => Date.now(),
  };
  const dispatcher = new Dispatcher([...createHandlers(context), ...groupHandlers], context);
  context.services.set('dispatcher', dispatcher);
  const listener = new KafkaListener(dispatcher.handle, logger, metrics, config.socketRequestMaxBytes, config.int('connections.max.idle.ms'));
  const port = await listener.listen('127.0.0.1', 0);
  self.port = port;
  return {
    port,
    async stop() {
      await listener.close();
      coordinator.close();
      await storage.close();
    },
  };
}

function waitFor(check: () => boolean, what: string, timeoutMs = 45_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

describe('kafkajs consumer groups', () => {
  let url: string;
  let broker: TestBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    url = await createTestDatabase('groups kafkajs');
    broker = await startTestBroker(url);
    kafka = new Kafka({ clientId: 'groups-test', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await broker?.stop();
    if (url) await dropTestDatabase(url);
  });

  it('spreads partitions over two consumers, commits, and resumes from committed offsets', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 3 }] });
    const producer = kafka.producer();
    await producer.connect();
    const firstBatch = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3 }));
    await producer.send({ topic: 'events', messages: firstBatch });

    const seen = new Map<string, string[]>();
    const consumers: Consumer[] = [];
    const assigned = new Map<string, number[]>();
    for (const name of ['c1', 'c2']) {
      const consumer = kafka.consumer({ groupId: 'workers', sessionTimeout: 10_000, heartbeatInterval: 500 });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assigned.set(name, e.payload.memberAssignment.events ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'events', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          const list = seen.get(name) ?? [];
          list.push(message.value!.toString());
          seen.set(name, list);
        },
      });
      consumers.push(consumer);
    }
    const total = () => [...seen.values()].reduce((n, l) => n + l.length, 0);
    await waitFor(() => total() >= 30, 'the first 30 records');
    await waitFor(
      () => assigned.size === 2 && [...assigned.values()].every((p) => p.length > 0) && [...assigned.values()].flat().length === 3,
      'both consumers assigned',
    );
    expect([...assigned.values()].flat().sort()).toEqual([0, 1, 2]);

    const groups = await admin.listGroups();
    expect(groups.groups).toContainEqual({ groupId: 'workers', protocolType: 'consumer' });
    const described = await admin.describeGroups(['workers']);
    expect(described.groups[0]!.state).toBe('Stable');
    expect(described.groups[0]!.members).toHaveLength(2);

    for (const c of consumers) await c.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: 'workers', topics: ['events'] });
    expect(offsets[0]!.partitions.map((p) => p.offset).sort()).toEqual(['10', '10', '10']);

    // A new consumer in the same group starts where the group left off.
    await producer.send({ topic: 'events', messages: [{ value: 'after', partition: 1 }] });
    const later: string[] = [];
    const resumed = kafka.consumer({ groupId: 'workers', sessionTimeout: 10_000 });
    await resumed.connect();
    await resumed.subscribe({ topic: 'events', fromBeginning: true });
    await resumed.run({ eachMessage: async ({ message }) => void later.push(message.value!.toString()) });
    await waitFor(() => later.length >= 1, 'the record produced after the commit');
    await resumed.disconnect();
    expect(later).toEqual(['after']);

    await admin.setOffsets({ groupId: 'workers', topic: 'events', partitions: [{ partition: 0, offset: '3' }] });
    const reset = await admin.fetchOffsets({ groupId: 'workers', topics: ['events'] });
    expect(reset[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('3');
    await admin.deleteGroups(['workers']);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('workers');
    await producer.disconnect();
    await admin.disconnect();
  });
});
