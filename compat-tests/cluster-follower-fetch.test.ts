/**
 * Follower fetching (KIP-392) on three brokers in three racks (docs/cluster.md, "Reads from
 * any broker"): replica.selector.class is Kafka's RackAwareReplicaSelector, and
 * confluent-kafka-python (librdkafka) consumers with client.rack read a topic of six
 * partitions (two led by each broker). The brokers' kafka_mysql_fetched_bytes_total counters
 * say who served the bytes: a consumer in rack r is served by the broker of rack r, for the
 * partitions it leads and for those it does not; a consumer without client.rack by the
 * leaders. A raw Fetch checks the protocol: the leader names the rack's broker as preferred
 * read replica with no records, and that broker serves the records itself. The consumers check
 * they read every record once, in order per partition. read_committed on a follower: its last
 * stable offset (from MySQL) stops at an open transaction, and an aborted one is listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchRequest } from '../codec/generated/fetch.js';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { RawClient, requirePython, runPython } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { coordinatorOf, createTopic, kafka, metadataFrom } from './support/cluster-clients.js';

const TOPIC = 'racks';
const PARTITIONS = 6;
const PER_PARTITION = 200;
const VALUE_BYTES = 1000;
const RACK_AWARE = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';

const CONSUMER = `
import json, sys
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, partitions, per, rack = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
conf = {'bootstrap.servers': bootstrap, 'group.id': 'unused', 'enable.auto.commit': False,
        'fetch.wait.max.ms': 100, 'topic.metadata.refresh.interval.ms': 1000}
if rack:
    conf['client.rack'] = rack
c = Consumer(conf)
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
seen = {p: [] for p in range(partitions)}
total = 0
while total < partitions * per:
    m = c.poll(10)
    if m is None:
        break
    if m.error():
        continue
    seen[m.partition()].append((m.offset(), m.value()[:12].decode()))
    total += 1
c.close()
ok = all([o for o, _ in seen[p]] == list(range(per)) for p in range(partitions))
print(json.dumps({'total': total, 'ordered': ok}))
`;

async function fetchedBytes(cluster: TestCluster, id: number): Promise<number> {
  const port = Number(/"metricsPort":(\d+)/.exec(cluster.brokers.get(id)!.output())![1]);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`kafka_mysql_fetched_bytes_total\\{topic="${TOPIC}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

async function bytesPerBroker(cluster: TestCluster): Promise<number[]> {
  return Promise.all([1, 2, 3].map((id) => fetchedBytes(cluster, id)));
}

describe.skipIf(!zookeeperInstalled())('follower fetching (KIP-392)', () => {
  let cluster: TestCluster;
  let leaders: Map<number, number>;

  beforeAll(async () => {
    requirePython(['confluent_kafka']);
    cluster = await startTestCluster('cluster-racks', 3, { 'replica.selector.class': RACK_AWARE, 'metrics.listener': '127.0.0.1:0' }, (id) => ({ 'broker.rack': `rack-${id}` }));
    await createTopic(cluster, TOPIC, PARTITIONS);
    leaders = new Map([...(await metadataFrom(cluster, 1, TOPIC)).leaders].map(([p, l]) => [p, l.leader]));
    const producer = kafka(cluster, 'racks-producer').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < PER_PARTITION; i += 50) {
        const messages = Array.from({ length: 50 }, (_, j) => ({ partition: p, value: `p${p}-${String(i + j).padStart(5, '0')}`.padEnd(VALUE_BYTES, '.') }));
        await producer.send({ topic: TOPIC, acks: -1, messages });
      }
    }
    await producer.disconnect();
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('the leader names the broker of the client rack; that broker serves the records from MySQL', async () => {
    const partition = [...leaders.keys()].find((p) => leaders.get(p) === 1)!;
    const request = (rackId: string) =>
      createFetchRequest({
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 1,
        sessionEpoch: -1,
        rackId,
        topics: [{ topic: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 10n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
      });
    const leader = await RawClient.connect(cluster.ports.get(1)!);
    const follower = await RawClient.connect(cluster.ports.get(2)!);
    try {
      const atLeader = (await leader.request(1, 12, request('rack-2'))).responses[0]!.partitions[0]!;
      expect([atLeader.errorCode, atLeader.preferredReadReplica, atLeader.records?.length ?? 0, atLeader.highWatermark]).toEqual([0, 2, 0, BigInt(PER_PARTITION)]);
      const sameRack = (await leader.request(1, 12, request('rack-1'))).responses[0]!.partitions[0]!;
      expect([sameRack.preferredReadReplica, (sameRack.records?.length ?? 0) > 0]).toEqual([-1, true]);
      const atFollower = (await follower.request(1, 12, request('rack-2'))).responses[0]!.partitions[0]!;
      expect([atFollower.errorCode, atFollower.preferredReadReplica, atFollower.highWatermark, atFollower.lastStableOffset]).toEqual([0, -1, BigInt(PER_PARTITION), BigInt(PER_PARTITION)]);
      // The records (stored batches, back to back): the first is the batch holding offset 10, from 0.
      const records = atFollower.records as unknown as Buffer;
      expect(records.length).toBeGreaterThan(0);
      expect(records.readBigInt64BE(0)).toBe(0n);
      // Fetch v10 predates KIP-392: a follower refuses it as Kafka does.
      const old = (await follower.request(1, 10, request(''))).responses[0]!.partitions[0]!;
      expect(old.errorCode).toBe(6); // NOT_LEADER_OR_FOLLOWER
    } finally {
      leader.close();
      follower.close();
    }
  });

  it('read_committed on a follower: the last stable offset stops at an open transaction, and an aborted one is listed', async () => {
    const topic = 'racks-txn';
    await createTopic(cluster, topic, 1);
    const leader = (await metadataFrom(cluster, 1, topic)).leaders.get(0)!.leader;
    const followerId = [1, 2, 3].find((id) => id !== leader)!;
    const k = kafka(cluster, 'racks-txn');
    const plain = k.producer({ allowAutoTopicCreation: false });
    await plain.connect();
    await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'before' }] });
    // A transactional id coordinated by the partition's leader: the leader checks transactional
    // writes against its own coordinator's memory (see docs/cluster.md, limits).
    let transactionalId = '';
    for (let i = 0; transactionalId === ''; i++) if ((await coordinatorOf(cluster, leader, `racks-txn-${i}`, 1)) === leader) transactionalId = `racks-txn-${i}`;
    const txn = k.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true, allowAutoTopicCreation: false });
    await txn.connect();
    const t = await txn.transaction();
    await t.send({ topic, messages: [{ partition: 0, value: 'in-txn' }] });
    await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'after' }] });
    const read = async (isolationLevel: number) => {
      const c = await RawClient.connect(cluster.ports.get(followerId)!);
      try {
        const res = await c.request(
          1,
          12,
          createFetchRequest({
            replicaId: -1,
            maxWaitMs: 0,
            minBytes: 1,
            maxBytes: 1 << 20,
            isolationLevel,
            sessionEpoch: -1,
            topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
          }),
        );
        const p = res.responses[0]!.partitions[0]!;
        const records = (p.records as unknown as Buffer | null) ?? Buffer.alloc(0);
        // Base offsets of the batches returned.
        const bases: bigint[] = [];
        for (let at = 0; at + 12 <= records.length; at += 12 + records.readInt32BE(at + 8)) bases.push(records.readBigInt64BE(at));
        return { hw: p.highWatermark, lso: p.lastStableOffset, bases, aborted: (p.abortedTransactions ?? []).map((a) => a.firstOffset) };
      } finally {
        c.close();
      }
    };
    try {
      // Offsets: 0 before, 1 in the open transaction, 2 after.
      expect(await read(1)).toEqual({ hw: 3n, lso: 1n, bases: [0n], aborted: [] });
      expect((await read(0)).bases).toEqual([0n, 1n, 2n]);
      await t.abort();
      // The ABORT marker is offset 3: everything is stable, and the aborted transaction is listed from offset 1.
      expect(await read(1)).toEqual({ hw: 4n, lso: 4n, bases: [0n, 1n, 2n, 3n], aborted: [1n] });
    } finally {
      await txn.disconnect();
      await plain.disconnect();
    }
  }, 120_000);

  it('consumers in three racks are each served by the broker of their rack; without client.rack, by the leaders', async () => {
    const bootstrap = cluster.bootstrap().join(',');
    const shares: string[] = [];
    for (const rack of ['rack-1', 'rack-2', 'rack-3', '']) {
      const before = await bytesPerBroker(cluster);
      const r = await runPython(CONSUMER, [bootstrap, TOPIC, String(PARTITIONS), String(PER_PARTITION), rack], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.toString().trim().split('\n').at(-1)!)).toEqual({ total: PARTITIONS * PER_PARTITION, ordered: true });
      const after = await bytesPerBroker(cluster);
      const served = after.map((b, i) => b - before[i]!);
      const total = served.reduce((a, b) => a + b, 0);
      const share = served.map((b) => Math.round((1000 * b) / total) / 10);
      shares.push(`${rack || 'no rack'}: ${share.map((s, i) => `broker ${i + 1} ${s}%`).join(', ')} of ${total} bytes`);
      expect(total).toBeGreaterThanOrEqual(PARTITIONS * PER_PARTITION * VALUE_BYTES);
      if (rack) {
        // All of it from the rack's own broker (the leader's redirect answers carry no records).
        expect(served.map((b, i) => (i + 1 === Number(rack.slice(5)) ? b === total : b === 0))).toEqual([true, true, true]);
      } else {
        // Each leader serves its own two partitions.
        const expected = [1, 2, 3].map((id) => [...leaders.values()].filter((l) => l === id).length / PARTITIONS);
        share.forEach((s, i) => expect(Math.abs(s / 100 - expected[i]!)).toBeLessThan(0.05));
      }
    }
    console.log(`fetch bytes per broker (3 brokers in racks rack-1..3, 6 partitions, 2 led by each):\n  ${shares.join('\n  ')}`);
  }, 300_000);
});
