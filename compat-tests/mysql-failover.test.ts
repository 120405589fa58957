/**
 * Failover of a MySQL primary (issue 12): a private MariaDB primary and two replicas with GTID
 * semi-synchronous replication (testing/replicated-mariadb.ts; the setup shared with
 * mysql-failover-clients.test.ts is in support/mysql-failover.ts) hold the metadata database and
 * the only shard; one broker (no ZooKeeper) with mysql.failover.timeout.ms=2000; a kafkajs
 * idempotent producer (acks=-1) into a min.insync.replicas=2 topic records every acknowledged
 * number.
 * - Primary SIGKILLed under load: a replica is promoted, the other follows it, producers
 *   continue; every acknowledged number is consumed afterwards, none twice.
 * - Primary SIGSTOPped: promoted away; after SIGCONT it is read-only, and nothing the broker
 *   acknowledges is written to it.
 * - A rejoined old primary is a failover candidate again without restarting the broker: after a
 *   first failover and `shards rejoin` (rejoinAsReplica), the broker lists it as a replica; the
 *   other replica's receiver is stopped so the rejoined server alone acknowledges (semi-sync)
 *   and is the most advanced; the new primary SIGKILLed under load: the second failover promotes
 *   the rejoined server, produce continues, nothing lost or doubled; /metrics shows shard epoch
 *   2 and two primary switches.
 * npm test runs one trial of each; FAILOVER_TRIALS (npm run test:failover-time) repeats the
 * SIGKILL case. Both print the failover time (kill or stop to the first acknowledgement after
 * it).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, withDatabase } from '../storage/mysql.js';
import { rejoinAsReplica } from '../storage/replication/rejoin.js';
import type { ReplicatedMariadb, ReplicatedServer } from '../testing/replicated-mariadb.js';
import type { TestBroker } from './support/broker.js';
import { consumeAll, lostAndTwice, expectFencedWhileProducing, firstAckAfter, readOnly, startFailoverTopology, startLoad as startLoadOn } from './support/mysql-failover.js';
import { waitFor } from './support/wait.js';

const TRIALS = Number(process.env.FAILOVER_TRIALS ?? 1);
const TOPIC = 'ha';
const PARTITIONS = 2;

let servers: ReplicatedMariadb | undefined;
let broker: TestBroker | undefined;

afterEach(async () => {
  // Servers first (SIGCONT + SIGKILL): a broker stopping with a paused server would wait on it.
  await servers?.stop();
  servers = undefined;
  await broker?.stop().catch(() => undefined);
  broker = undefined;
});

const startLoad = (producer: Producer, from = 0) => startLoadOn(producer, TOPIC, PARTITIONS, from);

async function setup(overrides: Record<string, string | number> = {}): Promise<{ kafka: Kafka; producer: Producer }> {
  const t = await startFailoverTopology('failover', overrides);
  servers = t.servers;
  broker = t.broker;
  const { kafka } = t;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return { kafka, producer };
}

/** Replication state of the running servers, for a failure's message. */
async function replicationState(): Promise<string> {
  const out: string[] = [];
  for (const s of servers?.servers ?? []) {
    if (!s.pid) continue;
    try {
      const c = await connect(withDatabase(s.url, ''));
      try {
        const [st] = await c.query("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'");
        const [pos] = await c.query('SELECT @@gtid_binlog_pos AS b, @@gtid_slave_pos AS s');
        const [sl] = await c.query('SHOW SLAVE STATUS');
        const slave = (sl as Array<Record<string, unknown>>)[0];
        const status = Object.fromEntries((st as Array<{ Variable_name: string; Value: string }>).filter((r) => /status|clients|yes_tx|no_tx/.test(r.Variable_name)).map((r) => [r.Variable_name, r.Value]));
        const log = (await readFile(path.join(s.dataDir, 'mariadbd.err'), 'utf8').catch(() => '')).trim().split('\n').slice(-8).join('\n    ');
        out.push(
          `error log:\n    ${log}`,
          `server ${s.serverId} port ${s.port}: ${JSON.stringify(status)} ${JSON.stringify((pos as unknown[])[0])} slave ${slave ? JSON.stringify({ io: slave.Slave_IO_Running, state: slave.Slave_IO_State, sql: slave.Slave_SQL_Running, master: slave.Master_Port, received: slave.Gtid_IO_Pos, err: slave.Last_IO_Error || slave.Last_SQL_Error }) : 'none'}`,
        );
      } finally {
        await c.end();
      }
    } catch (err) {
      out.push(`server ${s.serverId}: ${(err as Error).message}`);
    }
  }
  return out.join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

describe('MySQL primary failover', () => {
  it(`SIGKILL of the primary under acks=-1 load: no acknowledged record lost, none twice (${TRIALS} trial(s))`, { timeout: 240_000 * TRIALS }, async () => {
    const times: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { kafka, producer } = await setup();
      const load = startLoad(producer);
      while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));
      const killedAt = Date.now();
      await servers!.kill(servers!.servers[0]!);
      if (process.env.FAILOVER_DEBUG) {
        await new Promise((r) => setTimeout(r, 5000));
        const p2 = kafka.producer({ retry: { retries: 0 } });
        await p2.connect();
        for (let i = 0; i < 3; i++) {
          const t = Date.now();
          await p2.send({ topic: TOPIC, acks: -1, timeout: 5000, messages: [{ value: '-1', partition: 0 }] }).then(
            (r) => console.log('probe ok', Date.now() - t, JSON.stringify(r)),
            (e) => console.log('probe failed', Date.now() - t, (e as Error).message),
          );
        }
        await p2.disconnect();
      }
      // The first acknowledgement of a send started after the kill (one acknowledged right after
      // it was committed before).
      while (firstAckAfter(load, killedAt) === undefined && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 50));
      const firstAck = firstAckAfter(load, killedAt);
      expect(firstAck, `a produce acknowledged after the failover; replication:\n${firstAck === undefined ? await replicationState() : ''}`).toBeDefined();
      times.push(firstAck! - killedAt);
      const ackedBefore = load.acked.size;
      while (load.acked.size < ackedBefore + 300) await new Promise((r) => setTimeout(r, 50));
      await load.stop();
      await producer.disconnect();
      const seen = await consumeAll(kafka, TOPIC, load.acked);
      const { lost, twice } = lostAndTwice(load.acked, seen);
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
      // The killed primary is gone; the promoted replica is writable, the other replicates from it.
      expect(await readOnly(servers!.servers[1]!) && (await readOnly(servers!.servers[2]!))).toBe(false);
      await broker!.stop();
      broker = undefined;
      await servers!.stop();
      servers = undefined;
    }
    console.log(`SIGKILL failover time over ${TRIALS} trial(s): median ${median(times)} ms, max ${Math.max(...times)} ms (${times.join(', ')}); acknowledged records lost: 0`);
  });

  it('SIGSTOP of the primary: promoted away, read-only after SIGCONT, nothing written to it', { timeout: 240_000 }, async () => {
    const { kafka, producer } = await setup();
    const load = startLoad(producer);
    while (load.acked.size < 300) await new Promise((r) => setTimeout(r, 50));
    const old = servers!.servers[0]!;
    const stoppedAt = Date.now();
    servers!.pause(old);
    while (firstAckAfter(load, stoppedAt) === undefined && Date.now() - stoppedAt < 60_000) await new Promise((r) => setTimeout(r, 50));
    const firstAck = firstAckAfter(load, stoppedAt);
    expect(firstAck, `a produce acknowledged after the promotion; replication:\n${firstAck === undefined ? await replicationState() : ''}`).toBeDefined();
    console.log(`SIGSTOP failover time: ${firstAck! - stoppedAt} ms`);
    servers!.resume(old);
    // Producing goes on; the old primary is read-only and its log does not grow.
    await expectFencedWhileProducing(old, () => load.acked.size);
    await load.stop();
    await producer.disconnect();
    const seen = await consumeAll(kafka, TOPIC, load.acked);
    const { lost, twice } = lostAndTwice(load.acked, seen);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    console.log(`SIGSTOP: ${load.acked.size} acknowledged, ${lost.length} lost, ${load.errors} failed sends retried`);
  });

  it('a rejoined old primary is a replica again for the running broker: the second failover promotes it', { timeout: 240_000 }, async () => {
    const { kafka, producer } = await setup({ 'metrics.listener': '127.0.0.1:0' });
    const group = () => broker!.broker.storage.replication.topology()[0]!;
    const at = (s: ReplicatedServer) => `127.0.0.1:${s.port}`;
    const one = async (s: ReplicatedServer, q: string) => {
      const c = await connect(withDatabase(s.url, ''));
      try {
        return ((await c.query(q))[0] as Array<Record<string, unknown>>)[0];
      } finally {
        await c.end();
      }
    };
    const [a, ...replicas] = servers!.servers as [ReplicatedServer, ReplicatedServer, ReplicatedServer];

    // 1. Records, then the primary SIGKILLed once both replicas have all of it (so it can rejoin).
    const first = startLoad(producer);
    while (first.acked.size < 100) await new Promise((r) => setTimeout(r, 50));
    await first.stop();
    const pos = String((await one(a, 'SELECT @@gtid_binlog_pos AS p'))!.p);
    for (const r of replicas) await waitFor(async () => String((await one(r, 'SELECT @@gtid_slave_pos AS p'))!.p) === pos, 'the replicas to apply everything', 20_000);
    await servers!.kill(a);
    await waitFor(() => group().epoch === 1, 'the first promotion', 30_000);
    const x = replicas.find((r) => at(r) === group().primary)!;
    const y = replicas.find((r) => r !== x)!;
    expect([group().fenced, group().replicas]).toEqual([[at(a)], [at(y)]]);

    // 2. Back and rejoined: the running broker takes it as a replica within a few checks.
    await servers!.restart(a);
    const rejoined = await rejoinAsReplica(a.url, x.url, { waitMs: 30_000 });
    expect([rejoined.primary, rejoined.caughtUp]).toEqual([at(x), true]);
    await waitFor(() => group().replicas.includes(at(a)), 'the broker to list the rejoined server as a replica', 10_000);
    expect([group().primary, group().fenced, group().replicas.sort()]).toEqual([at(x), [], [at(a), at(y)].sort()]);

    // 3. The other replica stops receiving: the rejoined server alone acknowledges (acks=-1 into
    // min.insync.replicas=2 goes on) and becomes the most advanced.
    await one(y, 'STOP SLAVE IO_THREAD');
    const second = startLoad(producer, 1_000_000);
    while (second.acked.size < 100) await new Promise((r) => setTimeout(r, 50));
    const killedAt = Date.now();
    await servers!.kill(x);
    while (firstAckAfter(second, killedAt) === undefined && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 50));
    const firstAck = firstAckAfter(second, killedAt);
    expect(firstAck, `a produce acknowledged after the second failover; replication:\n${firstAck === undefined ? await replicationState() : ''}`).toBeDefined();
    expect([group().primary, group().epoch, group().fenced, group().replicas]).toEqual([at(a), 2, [at(x)], [at(y)]]);
    // The other replica follows the promoted one and acknowledges again.
    const ackedBefore = second.acked.size;
    while (second.acked.size < ackedBefore + 200) await new Promise((r) => setTimeout(r, 50));
    await second.stop();
    await producer.disconnect();
    const acked = [...first.acked, ...second.acked];
    const seen = await consumeAll(kafka, TOPIC, acked);
    expect(lostAndTwice(acked, seen)).toEqual({ lost: [], twice: [] });

    // 4. Every broker exports the epoch it writes under and the switches it applied.
    const metrics = await (await fetch(`http://127.0.0.1:${broker!.broker.metricsPort}/metrics`)).text();
    const value = (line: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${line} `))?.slice(line.length + 1));
    expect(value('kafka_mysql_mysql_shard_epoch{group="metadata database"}')).toBe(2);
    expect(value('kafka_mysql_mysql_primary_switches_total{group="metadata database"}')).toBe(2);
    expect(value('kafka_mysql_mysql_failovers_total')).toBe(2);
    console.log(
      `second failover to the rejoined ${at(a)}: first acknowledgement ${firstAck! - killedAt} ms after the kill; ${acked.length} acknowledged, 0 lost, 0 twice`,
    );
  });
});
