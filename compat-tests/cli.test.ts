/**
 * The `kafka-mysql` CLI end to end: the built dist/server/cli.js spawned against a test
 * broker (topics, configs, groups, retention run), text and --json output, exit codes.
 */
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { connect } from '../storage/mysql.js';
import { createLogTableSql, logTableName } from '../storage/schema.js';
import { newTopicId } from '../storage/topic-catalog.js';
import { partitionState, runCli } from './retention-support.js';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  tb = await startTestBroker('cli');
  kafka = new Kafka({ clientId: 'cli-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
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

const cli = (...args: string[]) => runCli([...args, '--bootstrap-server', tb.bootstrap]);
const json = <T = any>(stdout: string): T => JSON.parse(stdout) as T;

describe('topics', () => {
  it('create, list, describe, alter and delete', async () => {
    const created = await cli('topics', 'create', '--topic', 'c-orders', '--partitions', '2', '--topic-config', 'retention.ms=2592000000', '--topic-config', 'retention.archive=table');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('Created topic c-orders.\n');
    expect(tb.broker.context.catalog.getTopic('c-orders')!.configs).toEqual({ 'retention.ms': '2592000000', 'retention.archive': 'table' });

    const list = await cli('topics', 'list', '--json');
    expect(json(list.stdout).topics).toContain('c-orders');

    // Its own producer: kafkajs keeps refreshing metadata of every topic it produced to, and this one gets deleted.
    const local = kafka.producer({ allowAutoTopicCreation: false });
    await local.connect();
    await local.send({ topic: 'c-orders', acks: -1, messages: [{ partition: 1, value: 'a' }, { partition: 1, value: 'b' }] });
    await local.disconnect();
    const described = await cli('topics', 'describe', '--topic', 'c-orders', '--json');
    expect(described.code, described.stderr).toBe(0);
    expect(json(described.stdout).topics).toEqual([
      {
        topic: 'c-orders',
        partitionCount: 2,
        configs: { 'retention.ms': '2592000000', 'retention.archive': 'table' },
        partitions: [
          { partition: 0, leader: 0, replicas: [0], isr: [0], logStartOffset: '0', highWatermark: '0' },
          { partition: 1, leader: 0, replicas: [0], isr: [0], logStartOffset: '0', highWatermark: '2' },
        ],
      },
    ]);
    const text = await cli('topics', 'describe', '--topic', 'c-orders');
    expect(text.stdout).toMatch(/^Topic: c-orders\tPartitionCount: 2\tConfigs: .*retention.archive=table/);
    expect(text.stdout).toMatch(/\n1\s+0\s+0\s+0\s+0\s+2\n/);

    const altered = await cli('topics', 'alter', '--topic', 'c-orders', '--partitions', '4');
    expect(altered.code, altered.stderr).toBe(0);
    expect(tb.broker.context.catalog.getTopic('c-orders')!.partitionCount).toBe(4);

    const shrink = await cli('topics', 'alter', '--topic', 'c-orders', '--partitions', '1');
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toContain('INVALID_PARTITIONS');

    const again = await cli('topics', 'create', '--topic', 'c-orders');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect((await cli('topics', 'create', '--topic', 'c-orders', '--if-not-exists')).code).toBe(0);

    const badConfig = await cli('topics', 'create', '--topic', 'c-bad', '--topic-config', 'retention.ms=soon');
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toContain('retention.ms');

    const deleted = await cli('topics', 'delete', '--topic', 'c-orders');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(tb.broker.context.catalog.getTopic('c-orders')).toBeUndefined();
    const missing = await cli('topics', 'delete', '--topic', 'c-orders');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('unknown topic: c-orders');
  });

  it('exit codes: 2 for usage errors, 3 when the broker cannot be reached', async () => {
    const usage = await cli('topics', 'list', '--frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown option '--frobnicate'");
    const sub = await cli('topics', 'explode');
    expect(sub.code).toBe(2);
    const unreachable = await runCli(['topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot connect to 127.0.0.1:1');
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('groups reset-offsets');
  });
});

describe('configs', () => {
  it('alters with --add-config / --delete-config and describes with sources', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'c-configs', configEntries: [{ name: 'retention.bytes', value: '1000' }] }] });
    const altered = await cli('configs', 'alter', '--topic', 'c-configs', '--add-config', 'retention.ms=-1,cleanup.policy=[compact,delete]', '--delete-config', 'retention.bytes');
    expect(altered.code, altered.stderr).toBe(0);
    expect(altered.stdout).toBe('Completed updating config for topic c-configs.\n');
    expect(tb.broker.context.catalog.getTopic('c-configs')!.configs).toEqual({ 'retention.ms': '-1', 'cleanup.policy': 'compact,delete' });

    const described = await cli('configs', 'describe', '--topic', 'c-configs', '--json');
    expect(json(described.stdout).configs.map((c: { name: string; value: string; source: string }) => [c.name, c.value, c.source])).toEqual([
      ['cleanup.policy', 'compact,delete', 'TOPIC_CONFIG'],
      ['retention.ms', '-1', 'TOPIC_CONFIG'],
    ]);
    const all = await cli('configs', 'describe', '--topic', 'c-configs', '--all', '--json');
    expect(json(all.stdout).configs.find((c: { name: string }) => c.name === 'retention.bytes')).toMatchObject({ value: '-1', source: 'DEFAULT_CONFIG' });

    const bad = await cli('configs', 'alter', '--topic', 'c-configs', '--add-config', 'retention.archive=tape');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_CONFIG');
    expect(bad.stderr).toContain('retention.archive');

    const broker = await cli('configs', 'describe', '--broker', '0', '--all');
    expect(broker.code, broker.stderr).toBe(0);
    expect(broker.stdout).toMatch(/log\.retention\.hours\s+720\s+DEFAULT_CONFIG/);
  });
});

describe('groups', () => {
  async function consumeAndCommit(groupId: string, topic: string, count: number): Promise<Consumer> {
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: true,
        autoCommitThreshold: 1,
        eachMessage: async () => {
          if (++seen === count) resolve();
        },
      });
    });
    return consumer;
  }

  it('list, describe with lag, reset-offsets preview vs execute (refused while members), delete', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'c-events' }] });
    const before = Date.now();
    await producer.send({ topic: 'c-events', acks: -1, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `e${i}`, timestamp: String(before - 60_000 + i * 1000) })) });
    await producer.send({ topic: 'c-events', acks: -1, messages: [{ value: 'e5' }] });
    const consumer = await consumeAndCommit('c-group', 'c-events', 6);

    const listed = await cli('groups', 'list', '--json');
    expect(json(listed.stdout).groups.map((g: { groupId: string }) => g.groupId)).toContain('c-group');

    // While the consumer is a member, reset is refused.
    const refused = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-earliest', '--execute');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/can only be reset if the group 'c-group' is inactive, but the current state is Stable/);
    const live = await cli('groups', 'describe', '--group', 'c-group', '--json');
    expect(json(live.stdout)).toMatchObject({ state: 'Stable', offsets: [{ topic: 'c-events', partition: 0, currentOffset: '6', logEndOffset: '6', lag: '0' }] });
    expect(json(live.stdout).offsets[0].consumerId).toMatch(/^cli-test-/);
    await consumer.disconnect();

    const preview = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-earliest');
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/c-group\s+c-events\s+0\s+6\s+0/);
    expect(preview.stdout).toContain('preview only');
    expect((await admin.fetchOffsets({ groupId: 'c-group', topics: ['c-events'] }))[0]!.partitions[0]!.offset).toBe('6');

    const executed = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-earliest', '--execute', '--json');
    expect(executed.code, executed.stderr).toBe(0);
    expect(json(executed.stdout)).toEqual({ group: 'c-group', executed: true, offsets: [{ topic: 'c-events', partition: 0, currentOffset: '6', newOffset: '0' }] });
    expect((await admin.fetchOffsets({ groupId: 'c-group', topics: ['c-events'] }))[0]!.partitions[0]!.offset).toBe('0');

    const shift = await cli('groups', 'reset-offsets', '--group', 'c-group', '--all-topics', '--shift-by', '2', '--execute', '--json');
    expect(json(shift.stdout).offsets[0]).toMatchObject({ currentOffset: '0', newOffset: '2' });
    const clamped = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events:0', '--to-offset', '99', '--json');
    expect(json(clamped.stdout).offsets[0]).toMatchObject({ newOffset: '6' });
    const byTime = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-datetime', new Date(before - 60_000 + 2500).toISOString(), '--execute', '--json');
    expect(json(byTime.stdout).offsets[0]).toMatchObject({ newOffset: '3' });
    const latest = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-latest', '--execute', '--json');
    expect(json(latest.stdout).offsets[0]).toMatchObject({ currentOffset: '3', newOffset: '6' });

    const twoModes = await cli('groups', 'reset-offsets', '--group', 'c-group', '--topic', 'c-events', '--to-latest', '--to-earliest');
    expect(twoModes.code).toBe(2);

    const described = await cli('groups', 'describe', '--group', 'c-group');
    expect(described.stdout).toMatch(/GROUP c-group\s+STATE Empty\s+MEMBERS 0/);
    const deleted = await cli('groups', 'delete', '--group', 'c-group');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(json((await cli('groups', 'list', '--json')).stdout).groups.map((g: { groupId: string }) => g.groupId)).not.toContain('c-group');
  }, 120_000);
});

describe('retention run', () => {
  it('--dry-run reports without deleting; a real run deletes; mysql.url is required', async () => {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'c-retention', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    for (let i = 0; i < 3; i++) await producer.send({ topic: 'c-retention', acks: -1, messages: [{ value: `old${i}`, timestamp: String(Date.now() - 7_200_000) }] });
    await producer.send({ topic: 'c-retention', acks: -1, messages: [{ value: 'new' }] });
    const id = tb.broker.context.catalog.getTopic('c-retention')!.topicId;

    const dry = await runCli(['retention', 'run', '--topic', 'c-retention', '--dry-run', '--set', `mysql.url=${tb.mysqlUrl}`]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/c-retention\s+0\s+time\s+3\s+\d+\s+0\s+3\s+none/);
    expect(dry.stdout).toMatch(/would delete 3 batches/);
    expect(await partitionState(tb.mysqlUrl, id, 0)).toMatchObject({ logStart: 0n, rows: 4 });

    const real = await runCli(['retention', 'run', '--topic', 'c-retention', '--json', '--set', `mysql.url=${tb.mysqlUrl}`]);
    expect(real.code, real.stderr).toBe(0);
    expect(json(real.stdout)).toMatchObject({ dryRun: false, batches: 3, errors: [], partitions: [{ topic: 'c-retention', partition: 0, logStartBefore: '0', logStartAfter: '3', reasons: ['time'] }] });
    expect(real.stderr).toContain('retention: chunk deleted');
    expect(await partitionState(tb.mysqlUrl, id, 0)).toMatchObject({ logStart: 3n, rows: 1 });

    const unknown = await runCli(['retention', 'run', '--topic', 'c-nope', '--set', `mysql.url=${tb.mysqlUrl}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown topic: c-nope');
    const noUrl = await runCli(['retention', 'run']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('needs mysql.url');
  });

  it('sweeps orphan log tables: --dry-run reports them, --topic leaves them, a run drops them', async () => {
    const orphan = logTableName(newTopicId());
    const conn = await connect(tb.mysqlUrl);
    const exists = async () => {
      const [rows] = await conn.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [orphan]);
      return (rows as unknown[]).length > 0;
    };
    try {
      await conn.query(createLogTableSql(orphan));
      const set = ['--set', `mysql.url=${tb.mysqlUrl}`, '--set', 'log.orphan.table.grace.ms=0'];

      const dry = await runCli(['retention', 'run', '--dry-run', '--json', ...set]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(json(dry.stdout).orphanTables).toMatchObject({ dryRun: true, graceMs: 0, found: 1, dropped: 0, tables: [{ shard: 0, table: orphan, dropped: false }], errors: [] });
      expect(await exists()).toBe(true);

      const limited = await runCli(['retention', 'run', '--topic', 'c-retention', '--json', ...set]);
      expect(limited.code, limited.stderr).toBe(0);
      expect(json(limited.stdout).orphanTables).toBeNull();
      expect(await exists()).toBe(true);

      const real = await runCli(['retention', 'run', ...set]);
      expect(real.code, real.stderr).toBe(0);
      expect(real.stdout).toMatch(new RegExp(`\\n0\\s+${orphan}\\s+\\S+\\s+\\d+\\n`));
      expect(real.stdout).toMatch(/dropped 1 orphan log table\(s\), ~\d+ bytes \(grace 0 ms\)/);
      expect(real.stderr).toContain('orphan log table dropped');
      expect(await exists()).toBe(false);
    } finally {
      await conn.end();
    }
  });
});
