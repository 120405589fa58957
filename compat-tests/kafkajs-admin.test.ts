/**
 * Topic administration through kafkajs's admin client (and raw requests where kafkajs hides
 * the error code): CreateTopics with partitions, configs and validate_only; duplicates,
 * invalid names and configs; listTopics, fetchTopicMetadata, DeleteTopics, DescribeConfigs
 * for topics and the broker; ListOffsets earliest, latest, by timestamp and max timestamp;
 * auto-creation through Metadata, on and off.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCreateTopicsRequest } from '../codec/generated/create-topics.js';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { createListOffsetsRequest } from '../codec/generated/list-offsets.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient } from './support/clients.js';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  tb = await startTestBroker('kafkajs admin');
  kafka = new Kafka({ clientId: 'compat-admin', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

async function rawCreate(topics: { name: string; numPartitions?: number; configs?: { name: string; value: string | null }[] }[], validateOnly = false) {
  const client = await RawClient.connect(tb.port);
  try {
    const response = await client.request(
      19,
      7,
      createCreateTopicsRequest({
        validateOnly,
        topics: topics.map((t) => ({ name: t.name, numPartitions: t.numPartitions ?? 1, replicationFactor: 1, assignments: [], configs: t.configs ?? [] })),
      }),
    );
    return response.topics;
  } finally {
    client.close();
  }
}

async function rawMetadata(port: number, names: string[], allowAutoTopicCreation: boolean) {
  const client = await RawClient.connect(port);
  try {
    return await client.request(3, 12, createMetadataRequest({ topics: names.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })), allowAutoTopicCreation }));
  } finally {
    client.close();
  }
}

describe('kafkajs admin', () => {
  it('creates topics with partitions and configs, lists and describes them', async () => {
    const created = await admin.createTopics({
      topics: [
        { topic: 'admin-30-days', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '2592000000' }, { name: 'cleanup.policy', value: 'delete' }] },
        { topic: 'admin-forever', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'max.message.bytes', value: '20000' }] },
      ],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    const topics = await admin.listTopics();
    expect(topics).toEqual(expect.arrayContaining(['admin-30-days', 'admin-forever']));

    const metadata = await admin.fetchTopicMetadata({ topics: ['admin-30-days', 'admin-forever'] });
    const byName = new Map(metadata.topics.map((t) => [t.name, t]));
    expect(byName.get('admin-30-days')!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    expect(byName.get('admin-forever')!.partitions).toHaveLength(2);
    for (const t of metadata.topics) {
      for (const p of t.partitions) expect(p).toMatchObject({ partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] });
    }

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'admin-30-days', configNames: ['retention.ms', 'cleanup.policy', 'max.message.bytes'] },
        { type: ConfigResourceTypes.TOPIC, name: 'admin-forever', configNames: ['retention.ms', 'max.message.bytes'] },
      ],
    });
    const configs = (name: string) =>
      Object.fromEntries(described.resources.find((r) => r.resourceName === name)!.configEntries.map((e) => [e.configName, { value: e.configValue, isDefault: e.isDefault }]));
    expect(configs('admin-30-days')).toEqual({
      'retention.ms': { value: '2592000000', isDefault: false },
      'cleanup.policy': { value: 'delete', isDefault: false },
      'max.message.bytes': { value: '1048588', isDefault: true },
    });
    expect(configs('admin-forever')).toEqual({ 'retention.ms': { value: '-1', isDefault: false }, 'max.message.bytes': { value: '20000', isDefault: false } });
  });

  it('describes every config of a topic and the broker configuration', async () => {
    await admin.createTopics({ topics: [{ topic: 'admin-describe-all' }] });
    const described = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'admin-describe-all' },
        { type: ConfigResourceTypes.BROKER, name: '0' },
      ],
    });
    const [topic, broker] = described.resources;
    expect(topic!.errorCode).toBe(0);
    const topicConfigs = new Map(topic!.configEntries.map((e) => [e.configName, e]));
    // Kafka's defaults: retention 7 days in Kafka, 30 days here (the broker's log.retention.hours=720).
    expect(topicConfigs.get('retention.ms')?.configValue).toBe('2592000000');
    expect(topicConfigs.get('cleanup.policy')?.configValue).toBe('delete');
    expect(topicConfigs.get('message.timestamp.type')?.configValue).toBe('CreateTime');
    expect(topicConfigs.size).toBeGreaterThan(20);

    expect(broker!.errorCode).toBe(0);
    expect(broker!.resourceName).toBe('0');
    const brokerConfigs = new Map(broker!.configEntries.map((e) => [e.configName, e]));
    expect(brokerConfigs.get('num.partitions')?.configValue).toBe('1');
    expect(brokerConfigs.get('auto.create.topics.enable')?.configValue).toBe('true');
    expect(brokerConfigs.get('broker.id')?.configValue).toBe('0');
    const mysqlUrl = brokerConfigs.get('mysql.url');
    expect(mysqlUrl?.isSensitive).toBe(true);
    expect(mysqlUrl?.configValue).toBeNull();
  });

  it('validate_only checks without creating', async () => {
    // waitForLeaders must be off: kafkajs would wait for metadata of a topic that (rightly) does not exist.
    const ok = await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'admin-validate-only', numPartitions: 4 }] });
    expect(ok).toBe(true);
    expect(await admin.listTopics()).not.toContain('admin-validate-only');
    const raw = await rawCreate([{ name: 'admin-validate-only', numPartitions: 4 }], true);
    expect(raw[0]).toMatchObject({ name: 'admin-validate-only', errorCode: 0, numPartitions: 4 });
    const invalid = await rawCreate([{ name: 'admin-validate-bad', configs: [{ name: 'retention.ms', value: 'soon' }] }], true);
    expect(invalid[0]!.errorCode).toBe(40);
    expect(await admin.listTopics()).not.toContain('admin-validate-only');
  });

  it('rejects duplicates (TOPIC_ALREADY_EXISTS), invalid names and invalid configs (INVALID_CONFIG naming the key)', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'admin-dup', numPartitions: 2 }] })).toBe(true);
    // kafkajs reports an already existing topic as false, not as an error.
    expect(await admin.createTopics({ topics: [{ topic: 'admin-dup', numPartitions: 2 }] })).toBe(false);
    const dup = await rawCreate([{ name: 'admin-dup' }]);
    expect(dup[0]).toMatchObject({ name: 'admin-dup', errorCode: 36 });

    await expect(admin.createTopics({ topics: [{ topic: 'bad name!' }] })).rejects.toMatchObject({
      errors: [expect.objectContaining({ type: 'INVALID_TOPIC_EXCEPTION' })],
    });
    for (const name of ['bad name!', '.', '..', 'x'.repeat(250), '']) {
      const [result] = await rawCreate([{ name }]);
      expect({ name, errorCode: result!.errorCode }).toEqual({ name, errorCode: 17 });
    }

    await expect(admin.createTopics({ topics: [{ topic: 'admin-bad-config', configEntries: [{ name: 'retention.ms', value: 'forever' }] }] })).rejects.toMatchObject({
      errors: [expect.objectContaining({ type: 'INVALID_CONFIG' })],
    });
    const [badValue] = await rawCreate([{ name: 'admin-bad-config', configs: [{ name: 'retention.ms', value: 'forever' }] }]);
    expect(badValue!.errorCode).toBe(40);
    expect(badValue!.errorMessage).toContain('retention.ms');
    const [unknownKey] = await rawCreate([{ name: 'admin-bad-config', configs: [{ name: 'no.such.config', value: '1' }] }]);
    expect(unknownKey!.errorCode).toBe(40);
    expect(unknownKey!.errorMessage).toContain('no.such.config');
    const [badPartitions] = await rawCreate([{ name: 'admin-bad-partitions', numPartitions: 0 }]);
    expect(badPartitions!.errorCode).toBe(37);
    expect(await admin.listTopics()).not.toEqual(expect.arrayContaining(['admin-bad-config']));
    expect(await admin.listTopics()).not.toContain('admin-bad-partitions');
  });

  it('deletes topics: they are gone from listings and metadata, and can be created again empty', async () => {
    await admin.createTopics({ topics: [{ topic: 'admin-doomed', numPartitions: 2 }], waitForLeaders: true });
    await producer.send({ topic: 'admin-doomed', messages: [{ value: 'a' }, { value: 'b' }] });
    await admin.deleteTopics({ topics: ['admin-doomed'] });
    expect(await admin.listTopics()).not.toContain('admin-doomed');
    const metadata = await rawMetadata(tb.port, ['admin-doomed'], false);
    expect(metadata.topics).toEqual([expect.objectContaining({ name: 'admin-doomed', errorCode: 3 })]);
    await expect(admin.deleteTopics({ topics: ['admin-doomed'] })).rejects.toThrow();

    await admin.createTopics({ topics: [{ topic: 'admin-doomed', numPartitions: 1 }], waitForLeaders: true });
    const offsets = await admin.fetchTopicOffsets('admin-doomed');
    expect(offsets).toEqual([{ partition: 0, offset: '0', high: '0', low: '0' }]);
  });

  it('ListOffsets: earliest, latest, by timestamp and max timestamp', async () => {
    const topic = 'admin-offsets';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const base = 1_700_000_000_000;
    // Partition 0: timestamps base, base+1000, ..., base+9000, one record per send.
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic, messages: [{ partition: 0, value: `r${i}`, timestamp: String(base + i * 1000) }] });
    }
    // Partition 1: one batch whose timestamps are not monotonic; the largest is in the middle.
    await producer.send({
      topic,
      messages: [500, 3000, 9500, 200, 7000].map((d, i) => ({ partition: 1, value: `m${i}`, timestamp: String(base + d) })),
    });

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, offset: '10', high: '10', low: '0' },
      { partition: 1, offset: '5', high: '5', low: '0' },
    ]);
    const byTime = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).sort((a, b) => a.partition - b.partition);
    expect(await byTime(base)).toEqual([
      { partition: 0, offset: '0' },
      { partition: 1, offset: '0' },
    ]);
    expect(await byTime(base + 2500)).toEqual([
      { partition: 0, offset: '3' },
      { partition: 1, offset: '1' },
    ]);
    expect(await byTime(base + 9000)).toEqual([
      { partition: 0, offset: '9' },
      { partition: 1, offset: '2' },
    ]);
    // Later than every record: Kafka answers -1, which kafkajs turns into the high watermark.
    expect(await byTime(base + 60_000)).toEqual([
      { partition: 0, offset: '10' },
      { partition: 1, offset: '5' },
    ]);

    const client = await RawClient.connect(tb.port);
    try {
      const ask = async (timestamp: bigint, version = 7) => {
        const response = await client.request(
          2,
          version,
          createListOffsetsRequest({
            replicaId: -1,
            topics: [{ name: topic, partitions: [0, 1].map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
          }),
        );
        return response.topics[0]!.partitions.map((p) => ({ p: p.partitionIndex, e: p.errorCode, o: p.offset, t: p.timestamp }));
      };
      expect(await ask(-2n)).toEqual([
        { p: 0, e: 0, o: 0n, t: -1n },
        { p: 1, e: 0, o: 0n, t: -1n },
      ]);
      expect(await ask(-1n)).toEqual([
        { p: 0, e: 0, o: 10n, t: -1n },
        { p: 1, e: 0, o: 5n, t: -1n },
      ]);
      expect(await ask(-3n)).toEqual([
        { p: 0, e: 0, o: 9n, t: BigInt(base + 9000) },
        { p: 1, e: 0, o: 2n, t: BigInt(base + 9500) },
      ]);
      expect(await ask(BigInt(base + 7000))).toEqual([
        { p: 0, e: 0, o: 7n, t: BigInt(base + 7000) },
        { p: 1, e: 0, o: 2n, t: BigInt(base + 9500) },
      ]);
      expect(await ask(BigInt(base + 60_000))).toEqual([
        { p: 0, e: 0, o: -1n, t: -1n },
        { p: 1, e: 0, o: -1n, t: -1n },
      ]);
    } finally {
      client.close();
    }
  });

  it('auto-creates a topic when a producer sends to it (auto.create.topics.enable=true)', async () => {
    const topic = 'admin-auto-created';
    expect(await admin.listTopics()).not.toContain(topic);
    const [result] = await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'first' }] });
    expect(result).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' });
    expect(await admin.listTopics()).toContain(topic);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    // num.partitions defaults to 1.
    expect(metadata.topics[0]!.partitions).toHaveLength(1);
    // Metadata with allowAutoTopicCreation=false does not create.
    const raw = await rawMetadata(tb.port, ['admin-not-created'], false);
    expect(raw.topics).toEqual([expect.objectContaining({ name: 'admin-not-created', errorCode: 3, partitions: [] })]);
    expect(await admin.listTopics()).not.toContain('admin-not-created');
  });

  it('describes the cluster (kafkajs describeCluster, raw DescribeCluster v0 and v1)', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: tb.port }]);
    expect(cluster.controller).toBe(0);
    expect(cluster.clusterId).toMatch(/\S/);
    const client = await RawClient.connect(tb.port);
    try {
      for (const version of [0, 1]) {
        const described = await client.request(60, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
        expect(described).toMatchObject({ errorCode: 0, clusterId: cluster.clusterId, controllerId: 0, brokers: [{ brokerId: 0, host: '127.0.0.1', port: tb.port, rack: null }] });
      }
      // Endpoint type 2 (controller): clients talk to brokers here.
      const controller = await client.request(60, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
      expect(controller.errorCode).toBe(114);
    } finally {
      client.close();
    }
  });

  it('does not auto-create when auto.create.topics.enable=false', async () => {
    const strict = await startTestBroker('kafkajs admin strict', { 'auto.create.topics.enable': false });
    const client = new Kafka({ clientId: 'compat-admin-strict', brokers: [strict.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
    const strictProducer = client.producer();
    const strictAdmin = client.admin();
    try {
      await strictProducer.connect();
      await strictAdmin.connect();
      await expect(strictProducer.send({ topic: 'never-created', messages: [{ value: 'x' }] })).rejects.toThrow(/does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/i);
      const raw = await rawMetadata(strict.port, ['never-created'], true);
      expect(raw.topics).toEqual([expect.objectContaining({ name: 'never-created', errorCode: 3 })]);
      expect(await strictAdmin.listTopics()).not.toContain('never-created');
      // Explicit creation still works.
      expect(await strictAdmin.createTopics({ topics: [{ topic: 'created-explicitly' }], waitForLeaders: true })).toBe(true);
      const [sent] = await strictProducer.send({ topic: 'created-explicitly', messages: [{ value: 'x' }] });
      expect(sent!.errorCode).toBe(0);
    } finally {
      await strictProducer.disconnect();
      await strictAdmin.disconnect();
      await strict.stop();
    }
  });
});
