/**
 * Network partition of a MySQL primary (issue 12): the primary stays alive but nobody reaches
 * it, and it reaches nobody. Unlike SIGKILL (connections refused or reset at once) and SIGSTOP
 * (the kernel still answers TCP), packets to a cut server are dropped: a connection hangs until
 * some timeout gives up on it, which is what this trial exercises.
 *
 * Set-up: the primary MariaDB runs in a network namespace this test creates (support/netns.ts:
 * a veth pair with a private /30 in 10.213.0.0/16, started with `ip netns exec`); its two
 * replicas (GTID, semi-synchronous) and the broker (no ZooKeeper, mysql.failover.timeout.ms =
 * 2000, mysql.query.timeout.ms left at its default) are in the root namespace and reach it
 * through the veth. It holds the metadata database and the only shard. A kafkajs idempotent
 * producer (acks=-1) writes numbered records into a min.insync.replicas=2 topic.
 *
 * - Cut (the namespace's end of the veth set down): the broker promotes the most advanced
 *   replica after the failover timeout and producers continue. The old primary commits what
 *   it had been sent without a replica (its semi-sync falls back after its own timeout), but
 *   the reply never reaches the broker, which acknowledges none of it.
 * - Restored: the broker sets the old primary read-only, and its log tables do not grow while
 *   300 more records are acknowledged (no second writer).
 * - Every acknowledged number is consumed afterwards, none twice. Printed: the time from the
 *   cut to the first acknowledgement of a send started after it.
 *
 * Needs root and iproute2 (`ip netns`); skipped with the reason otherwise. The namespace and
 * its veth pair are removed in afterAll, also when the trial fails.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, formatMysqlUrl } from '../storage/mysql.js';
import { startReplicatedMariadb, type ReplicatedMariadb, type ReplicatedServer } from '../testing/replicated-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { consumeAll, lostAndTwice, expectFencedWhileProducing, failoverKafka, firstAckAfter, readOnly, startLoad } from './support/mysql-failover.js';
import { createNetns, netnsAvailability, routeDevice, type Netns } from './support/netns.js';

const TOPIC = 'netcut';
const PARTITIONS = 2;

const netns = netnsAvailability();
if (!netns.ok) console.warn(`mysql-failover-netcut.test.ts skipped: ${netns.reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The old primary's semi-sync counters through its Unix socket (not network-namespaced, so
 * readable while it is cut off), as root@localhost (mariadb-install-db's account, no password).
 */
async function semiSyncCounters(s: ReplicatedServer): Promise<{ status: string; clients: number; noTx: number; yesTx: number }> {
  const c = await connect(formatMysqlUrl({ host: 'localhost', port: 0, user: 'root', password: '', database: '', socketPath: path.join(s.dataDir, 'mariadbd.sock') }));
  try {
    const [rows] = await c.query("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'");
    const v = new Map((rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]));
    return {
      status: v.get('Rpl_semi_sync_master_status') ?? '',
      clients: Number(v.get('Rpl_semi_sync_master_clients')),
      noTx: Number(v.get('Rpl_semi_sync_master_no_tx')),
      yesTx: Number(v.get('Rpl_semi_sync_master_yes_tx')),
    };
  } finally {
    await c.end();
  }
}

describe.skipIf(!netns.ok)(`network partition of the MySQL primary (ip netns)${netns.ok ? '' : ` - skipped: ${netns.reason}`}`, () => {
  let ns: Netns | undefined;
  let servers: ReplicatedMariadb | undefined;
  let broker: TestBroker | undefined;

  afterAll(async () => {
    try {
      // The link back first, so that nothing waits on the cut server; the servers before the
      // broker, which stops without waiting on them; the namespace last, once nothing in this
      // process still talks to its address (without the veth's route, that would go out by
      // the default route).
      await ns?.restore().catch(() => undefined);
      await servers?.stop();
      if (broker) await Promise.race([broker.stop().catch(() => undefined), sleep(20_000)]);
    } finally {
      await ns?.remove();
    }
  });

  it('primary cut off under acks=-1 load: failover, no acknowledged record lost or doubled, fenced once reachable', { timeout: 120_000 }, async () => {
    ns = await createNetns();
    servers = await startReplicatedMariadb({
      replicas: 2,
      semiSyncTimeoutMs: 1000,
      placement: [{ host: ns.inner, commandPrefix: ns.exec, clientHosts: [ns.outer] }],
    });
    const old = servers.servers[0]!;
    expect(new URL(old.url).hostname).toBe(ns.inner);
    broker = await startTestBroker('netcut', { 'mysql.failover.timeout.ms': 2000 }, servers.shardUrl());
    const group = () => broker!.broker.storage.replication.topology()[0]!;
    const at = (s: ReplicatedServer) => `${new URL(s.url).hostname}:${s.port}`;
    const kafka = failoverKafka('netcut', broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();

    const load = startLoad(producer, TOPIC, PARTITIONS);
    while (load.acked.size < 300) await sleep(50);
    const before = await semiSyncCounters(old);
    expect([before.status, before.clients]).toEqual(['ON', 2]);

    // 1. Cut: the broker promotes a replica, producers continue.
    const cutAt = Date.now();
    await ns.cut();
    // Packets for the old primary still go to the veth (and are dropped there), nowhere else.
    expect(await routeDevice(ns.inner)).toBe(ns.outerInterface);
    while (firstAckAfter(load, cutAt) === undefined && Date.now() - cutAt < 40_000) await sleep(50);
    const firstAck = firstAckAfter(load, cutAt);
    expect(firstAck, 'a produce acknowledged after the cut').toBeDefined();
    const failoverMs = firstAck! - cutAt;
    expect(group().primary).not.toBe(at(old));
    expect(group().fenced).toEqual([at(old)]);
    const ackedAtFailover = load.acked.size;
    while (load.acked.size < ackedAtFailover + 200) await sleep(50);
    // Still cut and alive: what it committed since the cut went ahead without a replica's
    // acknowledgement (semi-sync fell back after rpl_semi_sync_master_timeout), never answered.
    const during = await semiSyncCounters(old);
    const promoted = servers.servers.find((s) => at(s) === group().primary)!;
    expect(await readOnly(promoted)).toBe(false);

    // 2. Restored: set read-only by the broker; nothing more written to it while producing.
    await ns.restore();
    await expectFencedWhileProducing(old, () => load.acked.size);
    expect(group().primary).not.toBe(at(old));
    await load.stop();
    await producer.disconnect();

    // 3. Every acknowledged record, once.
    const seen = await consumeAll(kafka, TOPIC, load.acked);
    const { lost, twice } = lostAndTwice(load.acked, seen);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    console.log(
      `network cut of the primary: first acknowledgement of a send started after the cut ${failoverMs} ms after it; ` +
        `${load.acked.size} acknowledged, ${lost.length} lost, ${twice.length} twice, ${load.errors} failed sends retried; ` +
        `while cut the old primary committed ${during.noTx - before.noTx} transaction(s) without a replica (semi-sync ${during.status}), none acknowledged`,
    );
  });
});
