/**
 * The admin APIs of the retention issue against a real broker: CreatePartitions (kafkajs and
 * raw), AlterConfigs (kafkajs: replace semantics, validation, broker resources),
 * IncrementalAlterConfigs (raw: SET, DELETE, APPEND, SUBTRACT, errors), DescribeConfigs
 * synonyms and sources, DescribeLogDirs sizes, and ApiVersions advertising them.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import type { IncrementalAlterConfigsRequest } from '../codec/generated/incremental-alter-configs.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, readPartition } from './support/clients.js';
import { partitionState } from './retention-support.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  tb = await startTestBroker('admin apis', { 'log.retention.hours': 48 });
  const kafka = new Kafka({ clientId: 'admin-apis', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

async function raw<T>(fn: (c: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(tb.port);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

async function topicConfigs(name: string): Promise<Record<string, string>> {
  return { ...tb.broker.context.catalog.getTopic(name)!.configs };
}

describe('CreatePartitions', () => {
  it('grows a topic through kafkajs; the new partitions take produce and fetch', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-grow', numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'a-grow', count: 5 }] });
    const md = await admin.fetchTopicMetadata({ topics: ['a-grow'] });
    expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
    await producer.send({ topic: 'a-grow', acks: -1, messages: [{ partition: 4, value: 'in the new partition' }] });
    const read = await readPartition(tb.port, 'a-grow', 4);
    expect(read.records.map((r) => r.value?.toString())).toEqual(['in the new partition']);
    expect((await partitionState(tb.mysqlUrl, tb.broker.context.catalog.getTopic('a-grow')!.topicId, 4)).logStart).toBe(0n);
  });

  it('refuses to shrink or keep the count (INVALID_PARTITIONS), checks assignments, and validate_only changes nothing', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-fixed', numPartitions: 3 }] });
    const response = await raw((c) =>
      c.request(37, 3, {
        timeoutMs: 5000,
        validateOnly: false,
        topics: [
          { name: 'a-fixed', count: 2, assignments: null },
          { name: 'a-missing', count: 4, assignments: null },
        ],
      }),
    );
    expect(response.results.map((r) => [r.name, r.errorCode])).toEqual([
      ['a-fixed', ErrorCode.INVALID_PARTITIONS],
      ['a-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(response.results[0]!.errorMessage).toBe('Topic currently has 3 partitions, which is higher than the requested 2.');
    const same = await raw((c) => c.request(37, 0, { timeoutMs: 5000, validateOnly: false, topics: [{ name: 'a-fixed', count: 3, assignments: null }] }));
    expect(same.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 3 partitions.' });
    const badAssignment = await raw((c) =>
      c.request(37, 1, { timeoutMs: 5000, validateOnly: false, topics: [{ name: 'a-fixed', count: 5, assignments: [{ brokerIds: [0] }] }] }),
    );
    expect(badAssignment.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const validated = await raw((c) => c.request(37, 2, { timeoutMs: 5000, validateOnly: true, topics: [{ name: 'a-fixed', count: 6, assignments: null }] }));
    expect(validated.results[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(tb.broker.context.catalog.getTopic('a-fixed')!.partitionCount).toBe(3);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'a-fixed', count: 1 }] })).rejects.toThrow();
  });
});

describe('AlterConfigs and DescribeConfigs', () => {
  it('replaces the whole set of topic configs and reports sources and synonyms', async () => {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic: 'a-configs', configEntries: [{ name: 'retention.ms', value: '1000' }, { name: 'cleanup.policy', value: 'delete' }] }],
    });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'a-configs', configEntries: [{ name: 'retention.bytes', value: '1048576' }] }],
    });
    expect(await topicConfigs('a-configs')).toEqual({ 'retention.bytes': '1048576' });
    const described = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'a-configs', configNames: ['retention.ms', 'retention.bytes', 'retention.archive'] }],
    });
    const entries = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e]));
    // retention.ms falls back to the broker's log.retention.hours=48 (static broker config). As in
    // Kafka, its synonyms start at log.retention.ms, which no level sets: none, source DEFAULT_CONFIG.
    expect(entries['retention.ms']).toMatchObject({ configValue: String(48 * 3_600_000), configSource: 5 });
    expect(entries['retention.ms']!.configSynonyms).toEqual([]);
    expect(entries['retention.bytes']).toMatchObject({ configValue: '1048576', isDefault: false, configSource: 1 });
    expect(entries['retention.bytes']!.configSynonyms.map((s) => [s.configName, s.configSource])).toEqual([
      ['retention.bytes', 1],
      ['log.retention.bytes', 5],
    ]);
    expect(entries['retention.archive']).toMatchObject({ configValue: 'none', configSource: 5 });
  });

  it('validates every key: INVALID_CONFIG naming the key, unknown keys rejected, validate_only writes nothing', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-validate', configEntries: [{ name: 'retention.ms', value: '5000' }] }] });
    const response = await raw((c) =>
      c.request(33, 1, {
        validateOnly: false,
        resources: [
          { resourceType: 2, resourceName: 'a-validate', configs: [{ name: 'retention.ms', value: 'soon' }] },
          { resourceType: 2, resourceName: 'a-validate', configs: [{ name: 'no.such.key', value: '1' }] },
          { resourceType: 2, resourceName: 'a-nothing', configs: [{ name: 'retention.ms', value: '1' }] },
        ],
      }),
    );
    expect(response.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(response.responses[0]!.errorMessage).toContain('retention.ms');
    expect(response.responses[1]!.errorMessage).toBe('Unknown topic config name: no.such.key');
    const validateOnly = await raw((c) =>
      c.request(33, 2, { validateOnly: true, resources: [{ resourceType: 2, resourceName: 'a-validate', configs: [{ name: 'retention.ms', value: '9' }] }] }),
    );
    expect(validateOnly.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-validate')).toEqual({ 'retention.ms': '5000' });
  });

  it('refuses read-only broker keys and broker loggers with INVALID_REQUEST (dynamic keys: dynamic-broker-configs.test.ts)', async () => {
    const response = await raw((c) =>
      c.request(33, 0, {
        validateOnly: false,
        resources: [
          { resourceType: 4, resourceName: '0', configs: [{ name: 'log.retention.hours', value: '1' }] },
          { resourceType: 4, resourceName: '0', configs: [] },
          { resourceType: 8, resourceName: '0', configs: [{ name: 'kafka.server', value: 'DEBUG' }] },
        ],
      }),
    );
    expect(response.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.NONE, ErrorCode.INVALID_REQUEST]);
    expect(response.responses[0]!.errorMessage).toBe('Cannot update these configs dynamically: Set(log.retention.hours)');
    await expect(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'num.partitions', value: '3' }] }] }),
    ).rejects.toMatchObject({ type: 'INVALID_REQUEST' });
  });
});

describe('IncrementalAlterConfigs', () => {
  type Op = IncrementalAlterConfigsRequest['resources'][number]['configs'][number];
  const alter = (version: number, name: string, configs: Op[], validateOnly = false) =>
    raw((c) => c.request(44, version, { validateOnly, resources: [{ resourceType: 2, resourceName: name, configs }] }));

  it('SET and DELETE change single keys and keep the others', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-incr', configEntries: [{ name: 'retention.ms', value: '1000' }, { name: 'retention.bytes', value: '2000' }] }] });
    const r = await alter(1, 'a-incr', [
      { name: 'retention.ms', configOperation: 0, value: '2592000000' },
      { name: 'retention.bytes', configOperation: 1, value: null },
      { name: 'retention.archive', configOperation: 0, value: 'file' },
    ]);
    expect(r.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-incr')).toEqual({ 'retention.ms': '2592000000', 'retention.archive': 'file' });
    const deleteUnset = await alter(0, 'a-incr', [{ name: 'segment.ms', configOperation: 1, value: null }]);
    expect(deleteUnset.responses[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('APPEND and SUBTRACT edit list-type keys starting from the value in force', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-lists' }] });
    expect((await alter(1, 'a-lists', [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-lists')).toEqual({ 'cleanup.policy': 'delete,compact' });
    expect((await alter(1, 'a-lists', [{ name: 'cleanup.policy', configOperation: 2, value: 'delete' }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-lists')).toEqual({ 'cleanup.policy': 'delete,compact' });
    expect((await alter(1, 'a-lists', [{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-lists')).toEqual({ 'cleanup.policy': 'compact' });
  });

  it('rejects APPEND on a non-list key, bad values, duplicates and unknown operations; validate_only writes nothing', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-incr-bad', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    const append = await alter(1, 'a-incr-bad', [{ name: 'retention.ms', configOperation: 2, value: '5' }]);
    expect(append.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Config value append is not allowed for config key: retention.ms' });
    const bad = await alter(1, 'a-incr-bad', [{ name: 'retention.archive', configOperation: 0, value: 'tape' }]);
    expect(bad.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(bad.responses[0]!.errorMessage).toContain('retention.archive');
    const dup = await alter(1, 'a-incr-bad', [
      { name: 'retention.ms', configOperation: 0, value: '1' },
      { name: 'retention.ms', configOperation: 1, value: null },
    ]);
    expect(dup.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const op = await alter(1, 'a-incr-bad', [{ name: 'retention.ms', configOperation: 9, value: '1' }]);
    expect(op.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const dry = await alter(1, 'a-incr-bad', [{ name: 'retention.ms', configOperation: 0, value: '7' }], true);
    expect(dry.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await topicConfigs('a-incr-bad')).toEqual({ 'retention.ms': '1000' });
    const broker = await raw((c) => c.request(44, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '0', configs: [{ name: 'log.retention.hours', configOperation: 0, value: '1' }] }] }));
    expect(broker.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('DescribeLogDirs', () => {
  it('reports one log dir per shard with each partition size from the stored batches', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'a-sizes', numPartitions: 2 }] });
    // Batches are stored as sent: the size is the byte length of the batches this test produced.
    const sent = [
      buildRecordBatch({ records: [{ value: Buffer.alloc(1000, 1) }] }),
      buildRecordBatch({ records: [{ value: Buffer.alloc(500, 2) }, { value: 'second record' }] }),
    ];
    for (const records of sent) {
      const response = await raw((c) =>
        c.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 30_000, topicData: [{ name: 'a-sizes', partitionData: [{ index: 0, records }] }] })),
      );
      expect(response.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    }
    const expected = sent[0]!.length + sent[1]!.length;
    for (const version of [0, 1, 2, 3, 4]) {
      const response = await raw((c) => c.request(35, version, { topics: [{ topic: 'a-sizes', partitions: [0, 1, 9] }, { topic: 'a-none', partitions: [0] }] }));
      expect(response.results).toHaveLength(1);
      const dir = response.results[0]!;
      expect(dir.errorCode).toBe(ErrorCode.NONE);
      expect(dir.logDir).toMatch(/^mysql:shard-0\/t_admin_apis_/);
      expect(dir.topics).toEqual([
        {
          name: 'a-sizes',
          partitions: [
            { partitionIndex: 0, partitionSize: BigInt(expected), offsetLag: 0n, isFutureKey: false },
            { partitionIndex: 1, partitionSize: 0n, offsetLag: 0n, isFutureKey: false },
          ],
        },
      ]);
    }
    const all = await raw((c) => c.request(35, 4, { topics: null }));
    expect(all.results[0]!.topics.map((t) => t.name)).toContain('a-sizes');
  });
});

describe('ApiVersions', () => {
  it('reports authorized operations only when asked, all the resource supports without an authorizer (KIP-430)', async () => {
    await admin.createTopics({ topics: [{ topic: 'a-ops', numPartitions: 1 }] });
    // AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
    // DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
    const topicOps = 0b1101_1111_1000; // 3-8, 10, 11
    const clusterOps = 0b1_1111_1010_0000; // 5, 7-12
    const omitted = -2147483648;
    const metadata = (asked: boolean) =>
      raw((c) =>
        c.request(3, 10, {
          topics: [{ name: 'a-ops', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: asked,
          includeTopicAuthorizedOperations: asked,
        }),
      );
    const asked = await metadata(true);
    expect(asked.topics[0]!.topicAuthorizedOperations).toBe(topicOps);
    expect(asked.clusterAuthorizedOperations).toBe(clusterOps);
    const notAsked = await metadata(false);
    expect(notAsked.topics[0]!.topicAuthorizedOperations).toBe(omitted);
    expect(notAsked.clusterAuthorizedOperations).toBe(omitted);
    const cluster = await raw((c) => c.request(60, 0, { includeClusterAuthorizedOperations: true, endpointType: 1 }));
    expect(cluster.clusterAuthorizedOperations).toBe(clusterOps);
    const groups = await raw((c) => c.request(15, 5, { groups: ['a-ops-group'], includeAuthorizedOperations: true }));
    expect(groups.groups[0]!.authorizedOperations).toBe((1 << 3) | (1 << 6) | (1 << 8));
  });

  it('advertises the new admin APIs at their served versions', async () => {
    const response = await raw((c) => c.request(18, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
    const byKey = new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    expect(byKey.get(21)).toEqual([0, 2]);
    expect(byKey.get(33)).toEqual([0, 2]);
    expect(byKey.get(35)).toEqual([0, 4]);
    expect(byKey.get(37)).toEqual([0, 3]);
    expect(byKey.get(44)).toEqual([0, 1]);
  });
});
