/**
 * Dynamic broker configs against two real brokers sharing one MariaDB database: a change made
 * through broker 0 (raw AlterConfigs and IncrementalAlterConfigs, kafkajs, confluent-kafka-python
 * AdminClient.alter_configs) is in force on broker 1 without a restart, within its refresh
 * interval, and shows in DescribeConfigs with Kafka's sources and synonyms; a read-only key
 * refuses the whole resource with Kafka's message and writes nothing; synonyms come only with
 * include_synonyms; a restarted broker starts with the stored values.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { createProduceRequest } from '../codec/generated/produce.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { ConfigSourceCode as S } from '../server/config/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, pollUntil, requirePython, runPython } from './support/clients.js';

let b0: TestBroker;
let b1: TestBroker;
let admin0: Admin;
const REFRESH_MS = 200;

beforeAll(async () => {
  b0 = await startTestBroker('dynamic configs', { 'broker.id': 0, 'broker.config.refresh.ms': REFRESH_MS });
  b1 = await startTestBroker('dynamic configs b1', { 'broker.id': 1, 'broker.config.refresh.ms': REFRESH_MS }, b0.mysqlUrl);
  admin0 = new Kafka({ clientId: 'dynamic-configs', brokers: [b0.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } }).admin();
  await admin0.connect();
});

afterAll(async () => {
  await admin0?.disconnect();
  await b1?.stop();
  await b0?.stop();
});

async function raw<T>(port: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(port);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

type Entry = { name: string; value: string | null; readOnly: boolean; configSource: number; synonyms: { name: string; value: string | null; source: number }[] };

async function describeBroker(port: number, name: string, keys: string[] | null = null, includeSynonyms = true): Promise<Map<string, Entry>> {
  const r = await raw(port, (c) =>
    c.request(32, 4, { resources: [{ resourceType: 4, resourceName: name, configurationKeys: keys }], includeSynonyms, includeDocumentation: false }),
  );
  expect(r.results[0]!.errorCode).toBe(ErrorCode.NONE);
  return new Map((r.results[0]!.configs as Entry[]).map((c) => [c.name, c]));
}

const incremental = (port: number, name: string, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) =>
  raw(port, (c) => c.request(44, 1, { validateOnly, resources: [{ resourceType: 4, resourceName: name, configs }] }));

function produceBatch(port: number, topic: string, valueBytes: number) {
  const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(valueBytes, 7) }] });
  return raw(port, (c) =>
    c.request(0, 9, createProduceRequest({ acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] })),
  ).then((r) => r.responses[0]!.partitionResponses[0]!.errorCode);
}

describe('dynamic broker configs', () => {
  it('a cluster-wide default set through broker 0 is in force on broker 1 without a restart', async () => {
    await admin0.createTopics({ topics: [{ topic: 'dyn-size' }], waitForLeaders: false });
    await b1.broker.context.catalog.refresh();
    expect(await produceBatch(b1.port, 'dyn-size', 5000)).toBe(ErrorCode.NONE);

    // kafkajs refuses an empty resource name, so the default resource goes raw (AlterConfigs v1, as the Java admin sends it).
    const set = await raw(b0.port, (c) =>
      c.request(33, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'message.max.bytes', value: '4096' }] }] }),
    );
    expect(set.responses[0]).toMatchObject({ errorCode: ErrorCode.NONE, resourceName: '' });
    // Broker 0 took the change: in force at once; broker 1 follows within its refresh interval.
    expect(b0.broker.context.config.messageMaxBytes).toBe(4096);
    expect(await pollUntil(async () => b1.broker.context.config.messageMaxBytes === 4096, 20 * REFRESH_MS, 50)).toBe(true);
    expect(await produceBatch(b1.port, 'dyn-size', 5000)).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(await produceBatch(b1.port, 'dyn-size', 1000)).toBe(ErrorCode.NONE);

    const topic = await raw(b1.port, (c) =>
      c.request(32, 1, { resources: [{ resourceType: 2, resourceName: 'dyn-size', configurationKeys: ['max.message.bytes'] }], includeSynonyms: true, includeDocumentation: false }),
    );
    expect(topic.results[0]!.configs[0]).toMatchObject({ name: 'max.message.bytes', value: '4096', configSource: S.DYNAMIC_DEFAULT_BROKER_CONFIG });
    expect(topic.results[0]!.configs[0]!.synonyms).toEqual([
      { name: 'message.max.bytes', value: '4096', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '1048588', source: S.DEFAULT_CONFIG },
    ]);
  });

  it('a per-broker value wins over the default on that broker only; DescribeConfigs shows every level', async () => {
    const r = await incremental(b1.port, '1', [{ name: 'message.max.bytes', configOperation: 0, value: '8192' }]);
    expect(r.responses[0]).toMatchObject({ errorCode: ErrorCode.NONE, resourceType: 4, resourceName: '1' });
    expect(b1.broker.context.config.messageMaxBytes).toBe(8192);
    expect(b0.broker.context.config.messageMaxBytes).toBe(4096);
    const entry = (await describeBroker(b1.port, '1', ['message.max.bytes'])).get('message.max.bytes')!;
    expect(entry).toMatchObject({ value: '8192', readOnly: false, configSource: S.DYNAMIC_BROKER_CONFIG });
    expect(entry.synonyms).toEqual([
      { name: 'message.max.bytes', value: '8192', source: S.DYNAMIC_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '4096', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name: 'message.max.bytes', value: '1048588', source: S.DEFAULT_CONFIG },
    ]);
    // The default resource lists only what is set at that level.
    const defaults = await describeBroker(b0.port, '');
    expect([...defaults.values()].map((e) => [e.name, e.value, e.configSource])).toEqual([['message.max.bytes', '4096', S.DYNAMIC_DEFAULT_BROKER_CONFIG]]);
    // Broker 0 may not name broker 1.
    const other = await incremental(b0.port, '1', [{ name: 'message.max.bytes', configOperation: 0, value: '1' }]);
    expect(other.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Unexpected broker id, expected 0 or empty string, but received 1' });
    // DELETE goes back to the default level.
    expect((await incremental(b1.port, '1', [{ name: 'message.max.bytes', configOperation: 1, value: null }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(b1.broker.context.config.messageMaxBytes).toBe(4096);
  });

  it('refuses a read-only key for the whole resource with Kafka message, writing nothing', async () => {
    const before = b0.broker.context.config.retentionMs;
    const legacy = await raw(b0.port, (c) =>
      c.request(33, 1, {
        validateOnly: false,
        resources: [{ resourceType: 4, resourceName: '0', configs: [{ name: 'log.retention.ms', value: '1000' }, { name: 'num.partitions', value: '3' }] }],
      }),
    );
    expect(legacy.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Cannot update these configs dynamically: Set(num.partitions)' });
    const incr = await incremental(b0.port, '', [{ name: 'log.retention.hours', configOperation: 0, value: '1' }]);
    expect(incr.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Cannot update these configs dynamically: Set(log.retention.hours)' });
    await expect(
      admin0.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'auto.create.topics.enable', value: 'false' }] }] }),
    ).rejects.toMatchObject({ type: 'INVALID_REQUEST' });
    const bad = await incremental(b0.port, '', [{ name: 'log.retention.bytes', configOperation: 0, value: 'lots' }]);
    expect(bad.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Invalid value lots for configuration log.retention.bytes: Not a number of type LONG' });
    expect(b0.broker.context.config.retentionMs).toBe(before);
    expect((await describeBroker(b0.port, '0', ['num.partitions'])).get('num.partitions')).toMatchObject({ readOnly: true, configSource: S.DEFAULT_CONFIG });
  });

  it('APPEND and SUBTRACT on a list key, validate_only writing nothing, legacy AlterConfigs replacing the level', async () => {
    expect((await incremental(b0.port, '', [{ name: 'log.cleanup.policy', configOperation: 2, value: 'compact' }], true)).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(b0.broker.context.config.get('log.cleanup.policy')).toBe('delete');
    expect((await incremental(b0.port, '', [{ name: 'log.cleanup.policy', configOperation: 2, value: 'compact' }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(b0.broker.context.config.get('log.cleanup.policy')).toBe('delete,compact');
    expect((await incremental(b0.port, '', [{ name: 'log.cleanup.policy', configOperation: 3, value: 'delete' }])).responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(b0.broker.context.config.get('log.cleanup.policy')).toBe('compact');
    const appendInt = await incremental(b0.port, '', [{ name: 'message.max.bytes', configOperation: 2, value: '1' }]);
    expect(appendInt.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Config value append is not allowed for config key: message.max.bytes' });
    // Legacy AlterConfigs replaces the default level whole: message.max.bytes and log.cleanup.policy go.
    const legacy = await raw(b0.port, (c) =>
      c.request(33, 0, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.ms', value: '3600000' }] }] }),
    );
    expect(legacy.responses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect([...(await describeBroker(b0.port, '')).keys()]).toEqual(['log.retention.ms']);
    expect(b0.broker.context.config.get('log.cleanup.policy')).toBe('delete');
    expect(b0.broker.context.config.retentionMs).toBe(3_600_000);
    expect(await pollUntil(async () => b1.broker.context.config.retentionMs === 3_600_000, 20 * REFRESH_MS, 50)).toBe(true);
  });

  it('returns synonyms only when include_synonyms is set', async () => {
    const without = await describeBroker(b0.port, '0', ['log.retention.ms'], false);
    expect(without.get('log.retention.ms')).toMatchObject({ value: '3600000', configSource: S.DYNAMIC_DEFAULT_BROKER_CONFIG, synonyms: [] });
    const withSynonyms = await describeBroker(b0.port, '0', ['log.retention.ms'], true);
    expect(withSynonyms.get('log.retention.ms')!.synonyms).toEqual([
      { name: 'log.retention.ms', value: '3600000', source: S.DYNAMIC_DEFAULT_BROKER_CONFIG },
      { name: 'log.retention.hours', value: '720', source: S.DEFAULT_CONFIG },
    ]);
  });

  it('confluent-kafka-python AdminClient alters a broker resource and describes its sources', async () => {
    requirePython(['confluent_kafka']);
    const script = `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource
admin = AdminClient({'bootstrap.servers': sys.argv[1]})
out = {}
res = ConfigResource('broker', '0', set_config={'log.retention.bytes': '123456789'})
for r, f in admin.alter_configs([res]).items():
    f.result(timeout=30)
bad = ConfigResource('broker', '0', set_config={'broker.rack': 'r1'})
for r, f in admin.alter_configs([bad]).items():
    try:
        f.result(timeout=30)
        out['refused'] = None
    except Exception as e:
        out['refused'] = str(e)
for r, f in admin.describe_configs([ConfigResource('broker', '0')]).items():
    entries = f.result(timeout=30)
    e = entries['log.retention.bytes']
    out['value'] = e.value
    out['source'] = int(getattr(e.source, 'value', e.source))
    out['read_only'] = e.is_read_only
    # librdkafka keys synonyms by name, so two levels of one key show as one entry.
    out['synonym_names'] = sorted(e.synonyms.keys())
    out['num_partitions_read_only'] = entries['num.partitions'].is_read_only
print(json.dumps(out))
`;
    const result = await runPython(script, [b0.bootstrap]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.toString());
    expect(out.value).toBe('123456789');
    expect(out.source).toBe(S.DYNAMIC_BROKER_CONFIG);
    expect(out.read_only).toBe(false);
    expect(out.num_partitions_read_only).toBe(true);
    expect(out.synonym_names).toEqual(['log.retention.bytes']);
    expect(out.refused).toContain('Cannot update these configs dynamically: Set(broker.rack)');
    expect(b0.broker.context.config.retentionBytes).toBe(123456789);
  });

  it('a restarted broker starts with the stored values', async () => {
    await b1.stop();
    b1 = await startTestBroker('dynamic configs b1', { 'broker.id': 1, 'broker.config.refresh.ms': REFRESH_MS }, b0.mysqlUrl);
    expect(b1.broker.context.config.retentionMs).toBe(3_600_000);
    expect(b1.broker.context.config.sourceOf('log.retention.ms')).toBe('dynamic-default');
    // Broker 0's own value does not apply to broker 1.
    expect(b1.broker.context.config.retentionBytes).toBe(-1);
  });
});
