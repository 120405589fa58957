/**
 * ACLs with real principals: kafkajs over a SASL_PLAINTEXT listener with PLAIN users made in
 * MySQL (alice, bob, and the super user admin), a broker with
 * authorizer.class.name=kafka.security.authorizer.AclAuthorizer. For each API family a principal
 * with and without the permission (produce, consume and groups, metadata and topic listing,
 * topic admin and configs, transactions), literal, prefixed and DENY bindings, the super user,
 * and the ACL APIs themselves through kafkajs and raw frames (v0 and v3; SECURITY_DISABLED on a
 * broker without an authorizer; CLUSTER_AUTHORIZATION_FAILED for a principal without ALTER).
 * kafkajs hides FindCoordinator's error code, so the group and transactional-id refusals of
 * FindCoordinator are checked with raw frames as User:ANONYMOUS (the PLAINTEXT listener).
 */
import {
  AclOperationTypes as Ops,
  AclPermissionTypes as Perm,
  AclResourceTypes as Res,
  Kafka,
  logLevel,
  ResourcePatternTypes as Pat,
  ConfigResourceTypes as ResourceTypes,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { plainCredential } from '../server/security/sasl/credentials.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { pollUntil, RawClient } from './support/clients.js';
import { createMetadataRequest } from '../codec/generated/metadata.js';
import { createDescribeGroupsRequest } from '../codec/generated/describe-groups.js';
import { createDescribeTransactionsRequest } from '../codec/generated/describe-transactions.js';
import { createListTransactionsRequest } from '../codec/generated/list-transactions.js';
import { createDescribeUserScramCredentialsRequest } from '../codec/generated/describe-user-scram-credentials.js';
import { createAddPartitionsToTxnRequest } from '../codec/generated/add-partitions-to-txn.js';
import { createOffsetForLeaderEpochRequest } from '../codec/generated/offset-for-leader-epoch.js';
import { createDescribeLogDirsRequest } from '../codec/generated/describe-log-dirs.js';
import { createListGroupsRequest } from '../codec/generated/list-groups.js';
import { createCreateTopicsRequest } from '../codec/generated/create-topics.js';

let tb: TestBroker;
let saslPort: number;
let plainPort: number;

function kafka(user: string): Kafka {
  return new Kafka({
    clientId: `acl-${user}`,
    brokers: [`127.0.0.1:${saslPort}`],
    logLevel: logLevel.NOTHING,
    // One retry: kafkajs refreshes its metadata on a retry (authorization errors are not retried).
    retry: { retries: 1, initialRetryTime: 50 },
    sasl: { mechanism: 'plain', username: user, password: `${user}-pw` },
  });
}

/** The Kafka error name a kafkajs failure carries (it may be wrapped). */
function errorType(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: any): string | undefined => {
    if (!e || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    if (typeof e.type === 'string' && e.type !== 'UNKNOWN') return e.type;
    return walk(e.originalError) ?? walk(e.cause) ?? (Array.isArray(e.errors) ? e.errors.map(walk).find((x: unknown) => x) : undefined);
  };
  return walk(err);
}

async function failure(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return errorType(err) ?? `${String(err)} ${JSON.stringify(err)}`;
  }
  return 'no error';
}

const acl = (resourceType: number, resourceName: string, principal: string, operation: number, opts: { pattern?: number; permission?: number } = {}) => ({
  resourceType,
  resourceName,
  resourcePatternType: opts.pattern ?? Pat.LITERAL,
  principal,
  host: '*',
  operation,
  permissionType: opts.permission ?? Perm.ALLOW,
});

async function produce(user: string, topic: string, opts: { idempotent?: boolean } = {}): Promise<void> {
  const producer = kafka(user).producer({ idempotent: opts.idempotent ?? false, allowAutoTopicCreation: false, retry: { retries: opts.idempotent ? 2 : 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: `from ${user}` }] });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  tb = await startTestBroker('acls', {
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:admin',
    'sasl.enabled.mechanisms': 'PLAIN',
  });
  const listeners = tb.broker.context.cluster.self.listeners!;
  saslPort = listeners.SASL_PLAINTEXT!.port;
  plainPort = listeners.PLAINTEXT!.port;
  for (const user of ['admin', 'alice', 'bob']) await tb.broker.storage.users.upsert(user, plainCredential(`${user}-pw`));
  const admin = kafka('admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: ['orders', 'team-a.events', 'team-a.audit', 'secret'].map((topic) => ({ topic, numPartitions: 1 })) });
  await admin.createAcls({
    acl: [
      acl(Res.TOPIC, 'orders', 'User:alice', Ops.WRITE),
      acl(Res.TOPIC, 'orders', 'User:alice', Ops.READ),
      acl(Res.TOPIC, 'team-a.', 'User:alice', Ops.ALL, { pattern: Pat.PREFIXED }),
      acl(Res.TOPIC, 'team-a.audit', 'User:alice', Ops.WRITE, { pattern: Pat.PREFIXED, permission: Perm.DENY }),
      acl(Res.GROUP, 'alice-', 'User:alice', Ops.READ, { pattern: Pat.PREFIXED }),
      acl(Res.TRANSACTIONAL_ID, 'alice-tx', 'User:alice', Ops.WRITE),
    ],
  });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  await tb?.stop();
});

describe('ACLs', () => {
  it('produce: WRITE on the topic (literal and prefixed), a prefixed DENY wins, nothing for bob', async () => {
    await produce('alice', 'orders');
    await produce('alice', 'team-a.events');
    expect(await failure(produce('alice', 'team-a.audit'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await failure(produce('alice', 'secret'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await failure(produce('bob', 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    await produce('admin', 'secret');
  });

  it('idempotent produce: WRITE on some topic suffices (KIP-679); none: CLUSTER_AUTHORIZATION_FAILED', async () => {
    await produce('alice', 'orders', { idempotent: true });
    expect(await failure(produce('bob', 'orders', { idempotent: true }))).toBe('CLUSTER_AUTHORIZATION_FAILED');
  });

  it('metadata lists only the topics the principal may describe', async () => {
    const list = async (user: string) => {
      const admin = kafka(user).admin();
      await admin.connect();
      try {
        return (await admin.listTopics()).sort();
      } finally {
        await admin.disconnect();
      }
    };
    expect(await list('alice')).toEqual(['orders', 'team-a.audit', 'team-a.events']);
    expect(await list('bob')).toEqual([]);
    expect(await list('admin')).toEqual(['orders', 'secret', 'team-a.audit', 'team-a.events']);
  });

  it('consume: READ on the group and the topic; other groups GROUP_AUTHORIZATION_FAILED', async () => {
    const consumer = kafka('alice').consumer({ groupId: 'alice-readers', retry: { retries: 0 } });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    const deadline = Date.now() + 20_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    expect(got).toEqual(['from alice', 'from alice']);

    const admin = kafka('alice').admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: 'alice-readers', topics: ['orders'] });
      expect(offsets[0]!.partitions[0]!.offset).toBe('2');
      // kafkajs drops FindCoordinator's error code (it tries every broker, then reports none found);
      // the raw-frame test below checks the code itself.
      expect(await failure(admin.fetchOffsets({ groupId: 'other-group', topics: ['orders'] }))).toMatch(/Failed to find group coordinator/);
    } finally {
      await admin.disconnect();
    }
    // bob may not even DESCRIBE the topic: his consumer stops at its Metadata.
    const stranger = kafka('bob').consumer({ groupId: 'alice-readers', retry: { retries: 0 } });
    await stranger.connect();
    expect(await failure(stranger.subscribe({ topic: 'orders' }).then(() => stranger.run({ eachMessage: async () => undefined })).then(() => new Promise((_, reject) => stranger.on(stranger.events.CRASH, (e) => reject(e.payload.error)))))).toBe('TOPIC_AUTHORIZATION_FAILED');
    await stranger.disconnect();
  }, 40_000);

  it('topic admin and configs: CREATE, DELETE, ALTER_CONFIGS, DESCRIBE_CONFIGS', async () => {
    const alice = kafka('alice').admin();
    await alice.connect();
    try {
      await alice.createTopics({ topics: [{ topic: 'team-a.new' }] });
      expect(await failure(alice.createTopics({ topics: [{ topic: 'elsewhere' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      const described = await alice.describeConfigs({ resources: [{ type: ResourceTypes.TOPIC, name: 'team-a.new' }], includeSynonyms: false });
      expect(described.resources[0]!.errorCode).toBe(0);
      expect(await failure(alice.describeConfigs({ resources: [{ type: ResourceTypes.TOPIC, name: 'secret' }], includeSynonyms: false }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(await failure(alice.alterConfigs({ validateOnly: false, resources: [{ type: ResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(await failure(alice.deleteTopics({ topics: ['orders'] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      await alice.deleteTopics({ topics: ['team-a.new'] });
    } finally {
      await alice.disconnect();
    }
  });

  it('transactions: WRITE on the transactional id', async () => {
    const ok = kafka('alice').producer({ transactionalId: 'alice-tx', idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
    await ok.connect();
    const txn = await ok.transaction();
    await txn.send({ topic: 'orders', messages: [{ value: 'in a transaction' }] });
    await txn.commit();
    await ok.disconnect();
    const refused = kafka('alice').producer({ transactionalId: 'bob-tx', idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
    expect(await failure(refused.connect().then(() => refused.transaction()))).toMatch(/Failed to find group coordinator/);
    await refused.disconnect();
  });

  it('ACL APIs: describe and delete through kafkajs; a DENY added and removed takes effect at once', async () => {
    const admin = kafka('admin').admin();
    await admin.connect();
    try {
      const d = await admin.describeAcls({ resourceType: Res.TOPIC, resourceName: 'orders', resourcePatternType: Pat.MATCH, principal: 'User:alice', host: '*', operation: Ops.ANY, permissionType: Perm.ANY });
      expect(d.resources.map((r) => [r.resourceName, r.resourcePatternType, r.acls.map((a) => a.operation).sort()])).toEqual([['orders', Pat.LITERAL, [Ops.READ, Ops.WRITE]]]);
      await admin.createAcls({ acl: [acl(Res.TOPIC, 'orders', 'User:alice', Ops.WRITE, { permission: Perm.DENY })] });
      expect(await failure(produce('alice', 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
      const deleted = await admin.deleteAcls({ filters: [{ resourceType: Res.TOPIC, resourceName: 'orders', resourcePatternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Ops.WRITE, permissionType: Perm.DENY }] });
      expect(deleted.filterResponses[0]!.matchingAcls.map((a) => [a.resourceName, a.operation, a.permissionType])).toEqual([['orders', Ops.WRITE, Perm.DENY]]);
      await produce('alice', 'orders');
    } finally {
      await admin.disconnect();
    }
    const alice = kafka('alice').admin();
    await alice.connect();
    try {
      expect(await failure(alice.createAcls({ acl: [acl(Res.TOPIC, 'secret', 'User:alice', Ops.ALL)] }))).toBe('CLUSTER_AUTHORIZATION_FAILED');
      expect(await failure(alice.describeAcls({ resourceType: Res.ANY, resourcePatternType: Pat.ANY, operation: Ops.ANY, permissionType: Perm.ANY }))).toBe('CLUSTER_AUTHORIZATION_FAILED');
    } finally {
      await alice.disconnect();
    }
  });

  it('raw frames: ANONYMOUS on the PLAINTEXT listener is refused (DescribeAcls v0 and v3, Metadata, DescribeGroups, FindCoordinator, InitProducerId, OffsetFetch, Produce)', async () => {
    const raw = await RawClient.connect(plainPort);
    try {
      for (const v of [0, 3]) {
        const d = await raw.request(29, v, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: v === 0 ? 3 : 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
        expect(d.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
        const m = await raw.request(3, 12, createMetadataRequest({ topics: null, allowAutoTopicCreation: false }));
        expect(m.topics).toEqual([]);
      }
      const g = await raw.request(15, 5, createDescribeGroupsRequest({ groups: ['alice-readers'], includeAuthorizedOperations: true }));
      expect(g.groups.map((x) => [x.groupId, x.errorCode])).toEqual([['alice-readers', ErrorCode.GROUP_AUTHORIZATION_FAILED]]);
      const fc = await raw.request(10, 4, { key: '', keyType: 0, coordinatorKeys: ['alice-readers'] });
      expect(fc.coordinators.map((c) => c.errorCode)).toEqual([ErrorCode.GROUP_AUTHORIZATION_FAILED]);
      const ft = await raw.request(10, 4, { key: '', keyType: 1, coordinatorKeys: ['alice-tx'] });
      expect(ft.coordinators.map((c) => c.errorCode)).toEqual([ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
      const ip = await raw.request(22, 4, { transactionalId: 'alice-tx', transactionTimeoutMs: 10000, producerId: -1n, producerEpoch: -1 });
      expect(ip.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const ii = await raw.request(22, 4, { transactionalId: null, transactionTimeoutMs: 10000, producerId: -1n, producerEpoch: -1 });
      expect(ii.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const of = await raw.request(9, 7, { groupId: 'alice-readers', topics: null, requireStable: false, groups: [] });
      expect(of.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const p = await raw.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: null }] }] });
      expect(p!.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    } finally {
      raw.close();
    }
  });
});

describe('ANONYMOUS before and after ACLs for it (raw frames)', () => {
  it('transactions, groups, log dirs, SCRAM users, leader epochs: refused, then listed once allowed', async () => {
    const raw = await RawClient.connect(plainPort);
    const admin = kafka('admin').admin();
    await admin.connect();
    try {
      const dt = await raw.request(65, 0, createDescribeTransactionsRequest({ transactionalIds: ['alice-tx'] }));
      expect(dt.transactionStates.map((t) => t.errorCode)).toEqual([ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
      const lt = await raw.request(66, 0, createListTransactionsRequest());
      expect(lt.transactionStates).toEqual([]);
      const lg = await raw.request(16, 4, createListGroupsRequest());
      expect(lg.groups).toEqual([]);
      const ap = await raw.request(24, 3, createAddPartitionsToTxnRequest({ v3AndBelowTransactionalId: 'alice-tx', v3AndBelowProducerId: 1n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 'orders', partitions: [0] }] }));
      expect(ap.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const oe = await raw.request(23, 4, createOffsetForLeaderEpochRequest({ topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }));
      expect(oe.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const ld = await raw.request(35, 4, createDescribeLogDirsRequest({ topics: null }));
      expect(ld.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const us = await raw.request(50, 0, createDescribeUserScramCredentialsRequest({ users: null }));
      expect(us.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

      await admin.createAcls({
        acl: [
          acl(Res.TRANSACTIONAL_ID, 'alice-', 'User:ANONYMOUS', Ops.DESCRIBE, { pattern: Pat.PREFIXED }),
          acl(Res.GROUP, '*', 'User:ANONYMOUS', Ops.DESCRIBE),
          acl(Res.CLUSTER, 'kafka-cluster', 'User:ANONYMOUS', Ops.DESCRIBE),
          acl(Res.TOPIC, 'orders', 'User:ANONYMOUS', Ops.READ),
        ],
      });
      const dt2 = await raw.request(65, 0, createDescribeTransactionsRequest({ transactionalIds: ['alice-tx'] }));
      expect(dt2.transactionStates.map((t) => [t.errorCode, t.transactionState])).toEqual([[ErrorCode.NONE, 'CompleteCommit']]);
      const lt2 = await raw.request(66, 0, createListTransactionsRequest());
      expect(lt2.transactionStates.map((t) => t.transactionalId)).toEqual(['alice-tx']);
      const lg2 = await raw.request(16, 4, createListGroupsRequest());
      expect(lg2.groups.map((g) => g.groupId)).toEqual(['alice-readers']);
      const oe2 = await raw.request(23, 4, createOffsetForLeaderEpochRequest({ topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }));
      expect(oe2.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
      const ld2 = await raw.request(35, 4, createDescribeLogDirsRequest({ topics: null }));
      expect(ld2.errorCode).toBe(ErrorCode.NONE);
      const us2 = await raw.request(50, 0, createDescribeUserScramCredentialsRequest({ users: null }));
      expect(us2.errorCode).toBe(ErrorCode.NONE);
      const dg = await raw.request(15, 5, createDescribeGroupsRequest({ groups: ['alice-readers'], includeAuthorizedOperations: true }));
      // Bit field of the group operations ANONYMOUS has: DESCRIBE (8) only.
      expect([dg.groups[0]!.errorCode, dg.groups[0]!.authorizedOperations]).toEqual([ErrorCode.NONE, 1 << 8]);
    } finally {
      raw.close();
      await admin.disconnect();
    }
  });
});

describe('CreateTopics v5+: the configs returned follow DESCRIBE_CONFIGS (raw frames, ANONYMOUS)', () => {
  it('with DESCRIBE_CONFIGS (or ALTER_CONFIGS): configs, partitions and replication factor; without: TOPIC_AUTHORIZATION_FAILED as topic_config_error_code and none', async () => {
    const admin = kafka('admin').admin();
    await admin.connect();
    const raw = await RawClient.connect(plainPort);
    try {
      await admin.createAcls({
        acl: [
          acl(Res.TOPIC, 'anon.', 'User:ANONYMOUS', Ops.CREATE, { pattern: Pat.PREFIXED }),
          acl(Res.TOPIC, 'anon.visible', 'User:ANONYMOUS', Ops.DESCRIBE_CONFIGS, { pattern: Pat.PREFIXED }),
          acl(Res.TOPIC, 'anon.tunable', 'User:ANONYMOUS', Ops.ALTER_CONFIGS, { pattern: Pat.PREFIXED }),
        ],
      });
      const create = (version: number, validateOnly: boolean) =>
        raw.request(19, version, createCreateTopicsRequest({
          topics: ['anon.visible', 'anon.hidden', 'anon.tunable', 'other'].map((name) => ({
            name: `${name}${validateOnly ? '' : `-v${version}`}`,
            numPartitions: 2,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '3600000' }],
          })),
          timeoutMs: 5000,
          validateOnly,
        }));
      for (const [version, validateOnly] of [[7, false], [5, false], [7, true]] as const) {
        const r = await create(version, validateOnly);
        const [visible, hidden, tunable, other] = r.topics;
        expect([visible.errorCode, visible.topicConfigErrorCode, visible.numPartitions, visible.replicationFactor]).toEqual([0, 0, 2, 1]);
        expect(visible.configs!.find((c: { name: string }) => c.name === 'retention.ms')).toMatchObject({ value: '3600000', configSource: 1 });
        expect([tunable.errorCode, tunable.topicConfigErrorCode, tunable.numPartitions]).toEqual([0, 0, 2]);
        // Created all the same (v7: with its id), but nothing of its configuration is shown.
        expect([hidden.errorCode, hidden.topicConfigErrorCode, hidden.numPartitions, hidden.replicationFactor, hidden.configs]).toEqual([0, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1, []]);
        if (version >= 7 && !validateOnly) expect(hidden.topicId).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
        expect([other.errorCode, other.topicConfigErrorCode, other.configs]).toEqual([ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0, null]);
      }
      expect(tb.broker.context.catalog.getTopic('anon.hidden-v7')?.partitionCount).toBe(2);
      expect(tb.broker.context.catalog.getTopic('anon.hidden')).toBeUndefined();
    } finally {
      raw.close();
      await admin.disconnect();
    }
  });
});

describe('two brokers on one metadata database', () => {
  it('a binding made through one broker is applied by the other after its refresh', async () => {
    const other = await startTestBroker('acls second', { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'acl.refresh.ms': 200 }, tb.mysqlUrl);
    const raw = await RawClient.connect(other.port);
    const admin = kafka('admin').admin();
    await admin.connect();
    const visible = async () => (await raw.request(3, 12, createMetadataRequest({ topics: null, allowAutoTopicCreation: false }))).topics.map((t) => t.name);
    try {
      expect(await visible()).not.toContain('team-a.events');
      await admin.createAcls({ acl: [acl(Res.TOPIC, 'team-a.events', 'User:ANONYMOUS', Ops.DESCRIBE)] });
      expect(await pollUntil(async () => (await visible()).includes('team-a.events'), 10_000)).toBe(true);
      await admin.deleteAcls({ filters: [{ resourceType: Res.TOPIC, resourceName: 'team-a.events', resourcePatternType: Pat.LITERAL, principal: 'User:ANONYMOUS', host: '*', operation: Ops.DESCRIBE, permissionType: Perm.ALLOW }] });
      expect(await pollUntil(async () => !(await visible()).includes('team-a.events'), 10_000)).toBe(true);
    } finally {
      raw.close();
      await admin.disconnect();
      await other.stop();
    }
  });
});

describe('ACL APIs without an authorizer', () => {
  it('answers SECURITY_DISABLED, every version', async () => {
    const plain = await startTestBroker('acls off', {}, tb.mysqlUrl);
    const raw = await RawClient.connect(plain.port);
    try {
      for (const v of [0, 1, 2, 3]) {
        const d = await raw.request(29, v, { resourceTypeFilter: 2, resourceNameFilter: null, patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
        expect([d.errorCode, d.errorMessage]).toEqual([ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.']);
        const c = await raw.request(30, v, { creations: [{ resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:x', host: '*', operation: 3, permissionType: 3 }] });
        expect(c.results.map((r) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
        const del = await raw.request(31, v, { filters: [{ resourceTypeFilter: 2, resourceNameFilter: null, patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] });
        expect(del.filterResults.map((r) => r.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
      }
      // Nothing changes without an authorizer: ANONYMOUS sees every topic.
      const m = await raw.request(3, 12, createMetadataRequest({ topics: null, allowAutoTopicCreation: false }));
      expect(m.topics.map((t) => t.name).sort()).toContain('secret');
    } finally {
      raw.close();
      await plain.stop();
    }
  });
});
