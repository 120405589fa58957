/**
 * Transactions on three brokers (docs/transactions.md, docs/cluster.md): a transactional id is
 * coordinated by one broker while its partitions are led by the others, so a partition leader
 * checks a transactional Produce (KIP-890 verification) against the transaction as its
 * coordinator wrote it to MySQL, and the coordinator has the markers written by each partition's
 * leader (WriteTxnMarkers). A kafkajs transactional producer commits and aborts across all
 * three leaders; a read_committed consumer sees exactly the committed records. Fault trial: the
 * coordinator is SIGKILLed while a commit's marker is pending (its partition's leader was killed
 * just before the commit, so that marker waits for the partition to move); the last broker,
 * which now coordinates the id and leads every partition, completes the commit, and every
 * committed record is read once.
 * Security: on a SASL_PLAINTEXT-only cluster with ACLs, the brokers' WriteTxnMarkers log in as
 * the broker user (a super user) and pass; the same request from a client without
 * CLUSTER_ACTION is refused.
 */
import { AclOperationTypes as Ops, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pat } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { KafkaConnection } from '../client/connection.js';
import { ErrorCode } from '../codec/error-codes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { openTestPool } from '../testing/mysql.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { coordinatorOf, createTopic, kafka, metadataFrom } from './support/cluster-clients.js';
import { waitFor } from './support/wait.js';

describe.skipIf(!zookeeperInstalled())('transactions on several brokers', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster('cluster-transactions', 3);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('commits and aborts across partitions led by brokers that do not coordinate the transactional id', { timeout: 120_000 }, async () => {
    const topic = 'payments';
    const transactionalId = 'payments-tx';
    await createTopic(cluster, topic, 3);
    const meta = await metadataFrom(cluster, 1, topic);
    const coordinator = await coordinatorOf(cluster, 1, transactionalId, 1);
    const leaders = [0, 1, 2].map((p) => meta.leaders.get(p)!.leader);
    // The point of the test: at least one partition is led elsewhere than the coordinator.
    expect(leaders.some((l) => l !== coordinator)).toBe(true);

    const producer = kafka(cluster, 'payments-producer').producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `kept-${p}` })) });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `dropped-${p}` })) });
      await aborted.abort();
      const last = await producer.transaction();
      await last.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `kept-again-${p}` })) });
      await last.commit();
    } finally {
      await producer.disconnect();
    }

    const seen = await readCommitted(cluster, topic, 'payments-reader', 6);
    expect(seen.sort()).toEqual(['kept-0', 'kept-1', 'kept-2', 'kept-again-0', 'kept-again-1', 'kept-again-2']);
  });

  it('a coordinator SIGKILLed while a marker is pending: the next coordinator completes the commit', { timeout: 120_000 }, async () => {
    const topic = 'ledger';
    const transactionalId = 'ledger-tx';
    await createTopic(cluster, topic, 3);
    const meta = await metadataFrom(cluster, 1, topic);
    const coordinator = await coordinatorOf(cluster, 1, transactionalId, 1);
    const leaders = [0, 1, 2].map((p) => meta.leaders.get(p)!.leader);
    // A partition led by another broker than the coordinator: its marker must travel.
    const lost = leaders.find((l) => l !== coordinator)!;
    expect(lost).toBeDefined();
    const pool = openTestPool(cluster.mysqlUrl, 1);
    const stateOf = async () => {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT state FROM txn_state WHERE transactional_id = ?', [Buffer.from(transactionalId)]);
      return rows.length > 0 ? String(rows[0]!.state) : null;
    };
    const producer = kafka(cluster, 'ledger-producer').producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const first = await producer.transaction();
      await first.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `first-${p}` })) });
      await first.commit();
      const second = await producer.transaction();
      await second.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `second-${p}` })) });
      // The leader that must receive a WriteTxnMarkers dies, so that marker stays pending until its
      // partition moves (a killed broker, not a paused one: clients fail over from it at once).
      process.kill(cluster.brokers.get(lost)!.child.pid!, 'SIGKILL');
      const committing = second.commit().then(
        () => 'committed',
        (err: unknown) => `failed: ${(err as Error).message}`,
      );
      await waitFor(async () => (await stateOf()) === 'PrepareCommit', 'the commit decided in MySQL', 10_000);
      // EndTxn accepted, a marker pending: the coordinator dies. The broker left started before the
      // transaction began, so only its takeover (not its start-up load) knows of the transaction.
      process.kill(cluster.brokers.get(coordinator)!.child.pid!, 'SIGKILL');
      const survivor = [1, 2, 3].find((id) => id !== coordinator && id !== lost)!;
      // Only a coordinator completes the transaction (after every marker is written): the next one did.
      await waitFor(async () => (await stateOf()) === 'CompleteCommit', 'the commit completed by the next coordinator', 30_000);
      expect(await coordinatorOf(cluster, survivor, transactionalId, 1)).toBe(survivor);
      // The client's EndTxn went to the dead broker: kafkajs reports the closed connection (it does
      // not retry EndTxn), but the outcome was decided before the kill and is committed anyway.
      expect(await committing).toMatch(/^committed$|^failed: /);
      // A new producer of the same id (fencing the old one) works with the new coordinator.
      const again = kafka(cluster, 'ledger-producer-2').producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await again.connect();
      try {
        const aborted = await again.transaction();
        await aborted.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `aborted-${p}` })) });
        await aborted.abort();
        const third = await again.transaction();
        await third.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `third-${p}` })) });
        await third.commit();
      } finally {
        await again.disconnect();
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
      await pool.end();
    }
    const seen = await readCommitted(cluster, topic, 'ledger-reader', 9);
    expect(seen.sort()).toEqual(['first-0', 'first-1', 'first-2', 'second-0', 'second-1', 'second-2', 'third-0', 'third-1', 'third-2']);
  });
});

describe.skipIf(!zookeeperInstalled())('transactions on several brokers with SASL and ACLs', () => {
  const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_admin="admin-secret" user_alice="alice-secret";';
  let cluster: TestCluster;
  const alice = () =>
    new Kafka({
      clientId: 'alice',
      brokers: cluster.bootstrap(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
      sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    });

  beforeAll(async () => {
    // The only listener is SASL_PLAINTEXT, so it is the inter-broker one: brokers log in as "broker".
    cluster = await startTestCluster('cluster-txn-sasl', 2, {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas,
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:broker;User:admin',
      'acl.refresh.ms': 200,
    });
    const admin = new Kafka({ clientId: 'admin', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING, sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' } }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'paid', numPartitions: 2 }], waitForLeaders: true });
      const allow = (resourceType: number, resourceName: string, operation: number) => ({
        resourceType,
        resourceName,
        resourcePatternType: Pat.LITERAL,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType: Perm.ALLOW,
      });
      // Alice may do what a transactional producer and a consumer do, and nothing on the cluster.
      await admin.createAcls({ acl: [allow(Res.TOPIC, 'paid', Ops.ALL), allow(Res.GROUP, 'paid-reader', Ops.READ), allow(Res.TRANSACTIONAL_ID, 'paid-tx', Ops.WRITE)] });
      const meta = await admin.fetchTopicMetadata({ topics: ['paid'] });
      // Two partitions, one per broker: whichever coordinates the id, one marker travels.
      expect(new Set(meta.topics[0]!.partitions.map((p) => p.leader)).size).toBe(2);
    } finally {
      await admin.disconnect();
    }
    // Both brokers apply the ACLs (acl.refresh.ms) before alice starts.
    await new Promise((r) => setTimeout(r, 1000));
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('markers travel between brokers authenticated as the broker user; a client without CLUSTER_ACTION cannot send them', { timeout: 90_000 }, async () => {
    const producer = alice().producer({ transactionalId: 'paid-tx', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const kept = await producer.transaction();
      await kept.send({ topic: 'paid', messages: [0, 1].map((p) => ({ partition: p, value: `kept-${p}` })) });
      await kept.commit();
      const dropped = await producer.transaction();
      await dropped.send({ topic: 'paid', messages: [0, 1].map((p) => ({ partition: p, value: `dropped-${p}` })) });
      await dropped.abort();
    } finally {
      await producer.disconnect();
    }
    // A commit marker missing in either partition would hold the read_committed consumer there.
    const seen: string[] = [];
    const consumer = alice().consumer({ groupId: 'paid-reader', readUncommitted: false, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'paid', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor(() => seen.length >= 2, 'the two committed records', 30_000);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await consumer.disconnect();
    }
    expect(seen.sort()).toEqual(['kept-0', 'kept-1']);

    // Alice sending WriteTxnMarkers herself: refused for every partition, nothing written.
    const c = await KafkaConnection.open({ port: cluster.ports.get(1)!, sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' } });
    try {
      const r = await c.request(27, 1, { markers: [{ producerId: 1n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [{ name: 'paid', partitionIndexes: [0, 1] }] }] });
      expect(r.markers[0]!.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
    } finally {
      c.close();
    }
  });
});

/** What a read_committed kafkajs consumer of a new group reads: `expected` records, then a second more (a late one would show). */
async function readCommitted(cluster: TestCluster, topic: string, groupId: string, expected: number): Promise<string[]> {
  const seen: string[] = [];
  const consumer = kafka(cluster, groupId).consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length >= expected, `${expected} committed records`, 45_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; seen: ${seen.join(',')}`);
    });
    // A moment more: an aborted or duplicated record delivered late would show up here.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
