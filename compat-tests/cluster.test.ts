/**
 * Several brokers with ZooKeeper (docs/cluster.md), broken for real: a private ZooKeeper, one
 * database on the test MariaDB, three broker processes (dist/). kafkajs clients with acks=-1.
 * One trial of each fault here; `npm run faults` repeats the SIGKILL failover
 * (CLUSTER_FAILOVER_TRIALS, 10 there) and prints the failover times.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { spawnBroker } from './support/broker.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { createTopic, kafka, metadataFrom, runProducer, waitForTopicLeaders } from './support/cluster-clients.js';
import { waitFor } from './support/wait.js';

const TRIALS = Number(process.env.CLUSTER_FAILOVER_TRIALS ?? 1);
const SESSION_MS = 4000;
/** How long ZooKeeper stays down: 8 s here, CLUSTER_ZK_DOWN_MS=30000 in npm run faults. */
const ZK_DOWN_MS = Number(process.env.CLUSTER_ZK_DOWN_MS ?? 8000);

/** Every record of every partition, read from offset 0 through a group-less consumer. */
async function readAll(cluster: TestCluster, topic: string, expected: number): Promise<Map<number, { offset: bigint; value: number; raw: string }[]>> {
  const consumer = kafka(cluster, 'reader').consumer({ groupId: `reader-${Date.now()}`, maxWaitTimeInMs: 200 });
  const out = new Map<number, { offset: bigint; value: number; raw: string }[]>();
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (!out.has(partition)) out.set(partition, []);
      out.get(partition)!.push({ offset: BigInt(message.offset), value: Number(message.value!.toString()), raw: message.value!.toString() });
      seen++;
    },
  });
  await waitFor(() => seen >= expected, `${expected} records read back`, 60_000);
  await consumer.disconnect();
  return out;
}

function checkLog(acked: Map<number, number[]>, read: Map<number, { offset: bigint; value: number }[]>): void {
  for (const [partition, values] of acked) {
    const rows = read.get(partition) ?? [];
    // Offsets contiguous from 0: nothing interleaved or forked.
    rows.forEach((r, i) => expect(r.offset).toBe(BigInt(i)));
    const stored = rows.map((r) => r.value);
    // Every acknowledged record is there, in the order it was acknowledged.
    const positions = values.map((v) => stored.indexOf(v));
    expect(positions.filter((p) => p < 0)).toEqual([]);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
  }
}

describe.skipIf(!zookeeperInstalled())('several brokers with ZooKeeper', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster('cluster', 3);
  }, 120_000);

  afterAll(async () => {
    // CLUSTER_LOG_DIR: every broker's whole log is kept there (broker-<id>.log) for a failed run.
    if (process.env.CLUSTER_LOG_DIR) for (const [id, b] of cluster?.brokers ?? []) writeFileSync(join(process.env.CLUSTER_LOG_DIR, `broker-${id}.log`), b.output());
    await cluster?.stop();
  });

  it('registers every broker, elects one controller and spreads 6 partitions two per broker', async () => {
    const admin = kafka(cluster, 'admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    await waitFor(async () => [...(await metadataFrom(cluster, 2, 'spread')).leaders.values()].every((l) => l.leader > 0), 'leaders on broker 2', 5000);
    const views = await Promise.all([1, 2, 3].map((id) => metadataFrom(cluster, id, 'spread')));
    for (const v of views) {
      expect(v.brokers).toEqual([1, 2, 3]);
      expect(v.controller).toBe(views[0]!.controller);
      expect([1, 2, 3]).toContain(v.controller);
      expect(v.leaders).toEqual(views[0]!.leaders);
    }
    const perBroker = new Map<number, number>();
    for (const l of views[0]!.leaders.values()) perBroker.set(l.leader, (perBroker.get(l.leader) ?? 0) + 1);
    expect([...perBroker.entries()].sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });

  it('refuses a second broker with the same broker.id, and a malformed zookeeper.connect, at start', async () => {
    await expect(
      spawnBroker({ 'broker.id': 2, 'mysql.url': cluster.mysqlUrl, 'zookeeper.connect': cluster.zk.connect, 'zookeeper.session.timeout.ms': 2000 }, 30_000),
    ).rejects.toThrow(/broker\.id 2 is already registered in ZooKeeper/);
    await expect(spawnBroker({ 'broker.id': 9, 'mysql.url': cluster.mysqlUrl, 'zookeeper.connect': 'localhost' }, 30_000)).rejects.toThrow(
      /zookeeper\.connect 'localhost': 'localhost' is not host:port/,
    );
  });

  it(`SIGKILL of a leader: its partitions move, every acknowledged record is stored once in order (${TRIALS} trial(s))`, async () => {
    const topic = 'failover';
    const admin = kafka(cluster, 'admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka(cluster, 'producer').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const load = runProducer(producer, topic, 3);
    const failoverMs: number[] = [];
    try {
      for (let trial = 0; trial < TRIALS; trial++) {
        await waitFor(() => [...load.lastAck.values()].length === 3, 'records acknowledged on every partition', 30_000);
        const meta = await metadataFrom(cluster, [...cluster.brokers.keys()][0]!, topic);
        const victim = meta.leaders.get(trial % 3)!.leader;
        const led = [...meta.leaders.entries()].filter(([, l]) => l.leader === victim).map(([p]) => p);
        const killedAt = Date.now();
        await cluster.brokers.get(victim)!.kill();
        // Failover time: SIGKILL -> first acknowledgement on each partition it led.
        await waitFor(() => led.every((p) => (load.lastAck.get(p) ?? 0) > killedAt), 'acknowledgements after the kill', 60_000);
        failoverMs.push(Math.max(...led.map((p) => load.lastAck.get(p)! - killedAt)));
        await cluster.start(victim);
        await waitFor(async () => [...(await metadataFrom(cluster, victim, topic)).leaders.values()].every((l) => l.leader > 0), 'leaders after the restart', 30_000);
      }
    } finally {
      await load.stop();
      await producer.disconnect();
    }
    const sorted = [...failoverMs].sort((a, b) => a - b);
    console.log(`failover (SIGKILL -> first ack per partition, session ${SESSION_MS} ms): median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms over ${sorted.length} trial(s): ${failoverMs.join(', ')}`);
    expect(sorted.at(-1)!).toBeLessThan(SESSION_MS + 6000);
    const total = [...load.acked.values()].reduce((n, v) => n + v.length, 0);
    checkLog(load.acked, await readAll(cluster, topic, total));
  }, 120_000 + TRIALS * 40_000);

  it('SIGTERM under load is a controlled shutdown: leadership moves first, no send fails', async () => {
    const topic = 'controlled';
    await createTopic(cluster, topic, 3);
    const producer = kafka(cluster, 'producer-term').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const load = runProducer(producer, topic, 3);
    let exitCode: number | null = -1;
    try {
      await waitFor(() => load.lastAck.size === 3, 'records acknowledged on every partition', 30_000);
      const meta = await metadataFrom(cluster, 1, topic);
      const victim = meta.leaders.get(0)!.leader;
      exitCode = await cluster.brokers.get(victim)!.terminate();
      const after = Date.now();
      await waitFor(() => [0, 1, 2].every((p) => (load.lastAck.get(p) ?? 0) > after), 'acknowledgements after the shutdown', 30_000);
      await cluster.start(victim);
    } finally {
      await load.stop();
      await producer.disconnect();
    }
    expect(exitCode).toBe(0);
    expect(load.failures).toEqual([]);
    const total = [...load.acked.values()].reduce((n, v) => n + v.length, 0);
    checkLog(load.acked, await readAll(cluster, topic, total));
  }, 120_000);

  it('a SIGSTOPped leader whose partitions moved cannot append after SIGCONT: nothing acknowledged, nothing stored', async () => {
    const topic = 'zombie';
    await createTopic(cluster, topic, 3);
    const producer = kafka(cluster, 'producer-zombie').producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((partition) => ({ partition, value: 'before' })) });
    const meta = await metadataFrom(cluster, 1, topic);
    const partition = 1;
    const zombie = meta.leaders.get(partition)!.leader;
    const zombieProcess = cluster.brokers.get(zombie)!;
    process.kill(zombieProcess.child.pid!, 'SIGSTOP');
    let result: string;
    try {
      // Goes to the paused leader (the producer's metadata still names it) and waits in its socket.
      const pending = producer.send({ topic, acks: -1, timeout: 20_000, messages: [{ partition, value: 'zombie' }] }).then(
        () => 'acknowledged',
        (err: Error) => `refused: ${err.message}`,
      );
      const other = [1, 2, 3].find((id) => id !== zombie)!;
      await waitFor(async () => {
        const l = (await metadataFrom(cluster, other, topic)).leaders.get(partition)!;
        return l.leader > 0 && l.leader !== zombie;
      }, 'the partition moved away from the paused leader', 30_000);
      process.kill(zombieProcess.child.pid!, 'SIGCONT');
      result = await pending;
    } finally {
      process.kill(zombieProcess.child.pid!, 'SIGCONT');
      await producer.disconnect();
    }
    expect(result).toMatch(/^refused/);
    // The new leader takes writes at the next offset; the zombie's record is nowhere.
    const after = kafka(cluster, 'producer-after').producer({ allowAutoTopicCreation: false });
    await after.connect();
    const [ack] = await after.send({ topic, acks: -1, messages: [{ partition, value: 'after' }] });
    await after.disconnect();
    expect(ack!.baseOffset).toBe('1');
    const read = await readAll(cluster, topic, 4);
    expect(read.get(partition)!.map((r) => [r.offset, r.raw])).toEqual([
      [0n, 'before'],
      [1n, 'after'],
    ]);
    await waitFor(async () => (await metadataFrom(cluster, zombie, topic)).brokers.includes(zombie), 'the ex-zombie registered again', 30_000);
  }, 120_000);

  it('the controller SIGKILLed: another broker becomes controller and assigns a new topic', async () => {
    const before = await metadataFrom(cluster, 1, 'spread');
    const old = before.controller;
    await cluster.brokers.get(old)!.kill();
    const other = [1, 2, 3].find((id) => id !== old)!;
    await waitFor(async () => {
      const c = (await metadataFrom(cluster, other, 'spread')).controller;
      return c > 0 && c !== old;
    }, 'a new controller', 30_000);
    await createTopic(cluster, 'after-controller', 4);
    const meta = await metadataFrom(cluster, other, 'after-controller');
    expect([...meta.leaders.values()].every((l) => l.leader > 0 && l.leader !== old)).toBe(true);
    await cluster.start(old);
  }, 120_000);

  // Stopped: the brokers' connections close, they reconnect with their sessions (ZooKeeper
  // restores sessions at start). Hung (SIGSTOP) for longer than the session timeout: the
  // connections go silent, the brokers' watchdogs close them, and on SIGCONT ZooKeeper expires
  // the sessions it has not heard from, so those brokers register again with new ones (others
  // may resume theirs, when ZooKeeper reads their reconnection first) and elect a controller.
  for (const mode of ['stopped', 'hung'] as const) {
    it(`ZooKeeper ${mode} for ${ZK_DOWN_MS / 1000} s: leaders keep serving produce; afterwards the cluster converges`, async () => {
      const topic = `zk-${mode}`;
      await createTopic(cluster, topic, 3);
      const producer = kafka(cluster, `producer-zk-${mode}`).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const load = runProducer(producer, topic, 3);
      let ackedWhileDown = 0;
      const zkPid = cluster.zk.pid;
      // When ZooKeeper is back a broker either registers again with a new session, or (when
      // ZooKeeper handles its reconnection before expiring it) resumes its session.
      const registrations = (out: string) => out.split(/registered in ZooKeeper|re-established with the same session/).length - 1;
      const registeredBefore = new Map([...cluster.brokers.values()].map((b) => [b, registrations(b.output())]));
      try {
        await waitFor(() => load.lastAck.size === 3, 'records acknowledged on every partition', 30_000);
        const count = () => [...load.acked.values()].reduce((n, v) => n + v.length, 0);
        if (mode === 'stopped') await cluster.zk.stop();
        else process.kill(zkPid, 'SIGSTOP');
        const atStop = count();
        // A topic created while ZooKeeper is away: the controller writes its leaders to MySQL but
        // cannot tell the others until ZooKeeper is back, perhaps only with a new session.
        const admin = kafka(cluster, `admin-during-zk-${mode}`).admin();
        await admin.connect();
        const during = admin.createTopics({ topics: [{ topic: `during-zk-${mode}`, numPartitions: 3 }], waitForLeaders: false }).finally(() => admin.disconnect());
        await new Promise((r) => setTimeout(r, ZK_DOWN_MS));
        ackedWhileDown = count() - atStop;
        if (mode === 'stopped') await cluster.restartZookeeper();
        else process.kill(zkPid, 'SIGCONT');
        // Back in ZooKeeper: while it was away every broker kept its last view (three brokers, one
        // controller), so the views below say nothing until each broker has reconnected.
        await waitFor(
          () => [...cluster.brokers.values()].every((b) => registrations(b.output()) > registeredBefore.get(b)!),
          'every broker registered again or resumed its session',
          60_000,
        );
        await during;
        // Its leaders reach every broker without any later change to carry them.
        await waitForTopicLeaders(cluster, `during-zk-${mode}`, 3, 30_000);
        // Converged: every broker lists all three and names the same controller.
        await waitFor(async () => {
          const v = await Promise.all([1, 2, 3].map((id) => metadataFrom(cluster, id, topic)));
          return v.every((m) => m.brokers.length === 3 && m.controller > 0 && m.controller === v[0]!.controller);
        }, 'every broker registered and one controller after ZooKeeper returned', 60_000);
        await createTopic(cluster, `after-zk-${mode}`, 3, 60_000);
      } finally {
        if (mode === 'hung') process.kill(zkPid, 'SIGCONT');
        if (process.env.CLUSTER_DEBUG) for (const b of cluster.brokers.values()) console.log(b.output().split('\n').filter((l) => /ZooKeeper|controller|registered|cluster/.test(l)).join('\n'));
        await load.stop();
        await producer.disconnect();
      }
      expect(ackedWhileDown).toBeGreaterThan(0);
      const views = await Promise.all([1, 2, 3].map((id) => metadataFrom(cluster, id, `after-zk-${mode}`)));
      for (const v of views) {
        expect(v.brokers).toEqual([1, 2, 3]);
        expect(v.controller).toBe(views[0]!.controller);
        expect([...v.leaders.values()].every((l) => l.leader > 0)).toBe(true);
      }
      const total = [...load.acked.values()].reduce((n, v) => n + v.length, 0);
      checkLog(load.acked, await readAll(cluster, topic, total));
    }, 180_000);
  }
});
