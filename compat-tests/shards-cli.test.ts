/**
 * `kafka-mysql shards status` and `shards rejoin` (issue 12) on a real replicated shard: a
 * private MariaDB primary and one semi-sync GTID replica (storage/managed-mariadb/replicated.ts)
 * hold the metadata database and the only shard; one broker (no ZooKeeper,
 * mysql.failover.timeout.ms=2000) with its HTTP listener, which the CLI asks for its shard map.
 * - status names the primary (writable, semi-sync ON with one client) and the replica (IO and
 *   SQL threads running, Seconds_Behind_Master 0, 0 transactions behind) after acks=-1 produce;
 * - the primary SIGKILLed: status shows the promoted replica as primary, the broker writing to it
 *   (epoch 1) and the old one fenced;
 * - the shard is then left with no replica at all (Kafka: ISR shrunk to the leader): ListOffsets
 *   reports every record acknowledged before the kill at once and a new group consumes them
 *   all (0 lost); acks=1, and acks=-1 into a min.insync.replicas=1 topic, are acknowledged and
 *   consumed; acks=-1 into min.insync.replicas=2 gets NOT_ENOUGH_REPLICAS and is never read;
 * - restarted, the old primary is read-only, not replicating;
 *   a second broker started with the original configuration (no ZooKeeper) is refused, the
 *   message naming the promoted replica as the likely primary;
 * - rejoin makes it a replica of the new primary: status shows it replicating, the new primary
 *   has a semi-sync client again, a row written on the new primary reaches it, and the running
 *   broker lists it as a replica again (not fenced), after which acks=-1 into
 *   min.insync.replicas=2 is acknowledged (confirmed by it) and consumed again;
 * - a server with a transaction the primary lacks (written on it while detached) is refused,
 *   with the GTID named, and left read-only and not replicating.
 * The CLI runs as a child process (the built dist/server/cli.js), asynchronously: the broker
 * runs in this process and must keep answering /health.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupReport } from '../server/cli/shards.js';
import { findExecutable } from '../storage/managed-mariadb.js';
import { connect, withDatabase } from '../storage/mysql.js';
import { startReplicatedMariadb, type ReplicatedMariadb, type ReplicatedServer } from '../testing/replicated-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { consumeAll, kafkaErrorType, lostAndTwice } from './support/mysql-failover.js';
import { waitFor } from './support/wait.js';

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

let servers: ReplicatedMariadb | undefined;
let broker: TestBroker | undefined;

afterEach(async () => {
  await servers?.stop();
  servers = undefined;
  await broker?.stop().catch(() => undefined);
  broker = undefined;
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_MYSQL_URL: undefined } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function sql(s: ReplicatedServer, statements: string[]): Promise<Array<Record<string, unknown>[]>> {
  const c = await connect(withDatabase(s.url, ''));
  try {
    const out: Array<Record<string, unknown>[]> = [];
    for (const q of statements) out.push((await c.query(q))[0] as Record<string, unknown>[]);
    return out;
  } finally {
    await c.end();
  }
}

describe.skipIf(!findExecutable(['mariadbd', 'mysqld']))('kafka-mysql shards status and rejoin', () => {
  it('shows primary, replica and lag; the promoted replica after a SIGKILL; rejoins the old primary; refuses a diverged one', async () => {
    servers = await startReplicatedMariadb({ replicas: 1, semiSyncTimeoutMs: 1000 });
    const [p, r] = servers.servers as [ReplicatedServer, ReplicatedServer];
    const pAt = `127.0.0.1:${p.port}`;
    const rAt = `127.0.0.1:${r.port}`;
    broker = await startTestBroker('shards-cli', { 'mysql.failover.timeout.ms': 2000, 'metrics.listener': '127.0.0.1:0' }, servers.shardUrl());
    const common = ['--set', `mysql.url=${servers.shardUrl()}`, '--broker-http', `127.0.0.1:${broker.broker.metricsPort}`];
    const status = async (): Promise<GroupReport> => {
      const s = await cli(['shards', 'status', '--json', ...common]);
      expect(s.code, s.stderr).toBe(0);
      const report = JSON.parse(s.stdout) as { broker: { reachable: boolean }; groups: GroupReport[] };
      expect(report.broker.reachable).toBe(true);
      expect(report.groups.map((g) => [g.name, g.shards])).toEqual([['metadata database', [0]]]);
      return report.groups[0]!;
    };
    const server = (g: GroupReport, at: string) => g.servers.find((s) => s.address === at)!;

    // Records acknowledged by the replica (acks=-1, min.insync.replicas=2).
    const kafka = new Kafka({ clientId: 'shards-cli', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'ha', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
        { topic: 'solo', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    // Acknowledged before the kill: 0-4 into ha, 100-104 into solo (every value is a number).
    const acked = { ha: [] as number[], solo: [] as number[] };
    const send = async (topic: 'ha' | 'solo', acks: number, value: number, p = producer) => {
      await p.send({ topic, acks, timeout: 5000, messages: [{ value: String(value) }] });
      acked[topic].push(value);
    };
    for (let i = 0; i < 5; i++) await send('ha', -1, i);
    for (let i = 100; i < 105; i++) await send('solo', -1, i);
    const beforeKill = acked.ha.length + acked.solo.length;

    // 1. Before any failure.
    let g = await status();
    await waitFor(async () => server((g = await status()), rAt).behindTransactions === 0, 'the replica to apply everything', 20_000);
    expect([g.primary, g.brokerPrimary, g.configuredPrimary, g.epoch]).toEqual([pAt, pAt, pAt, 0]);
    const p1 = server(g, pAt);
    expect([p1.role, p1.brokerRole, p1.readOnly, p1.semiSync.masterStatus, p1.semiSync.clients]).toEqual(['primary', 'primary', false, 'ON', 1]);
    expect(p1.semiSync.yesTx).toBeGreaterThanOrEqual(5);
    const r1 = server(g, rAt);
    expect([r1.role, r1.brokerRole, r1.readOnly, r1.replication?.source, r1.replication?.ioRunning, r1.replication?.sqlRunning]).toEqual([
      'replica', 'replica', true, pAt, 'Yes', 'Yes',
    ]);
    expect(r1.replication?.secondsBehindMaster).toBe(0);
    expect(r1.gtidSlavePos).toBe(p1.gtidBinlogPos);
    expect(r1.semiSync.slaveStatus).toBe('ON');
    expect(g.warnings).toEqual([]);
    const text = await cli(['shards', 'status', ...common]);
    expect(text.stdout).toContain(`METADATA DATABASE (shards 0)  PRIMARY ${pAt}  BROKER WRITES TO ${pAt} (epoch 0)`);
    expect(text.stdout).toMatch(new RegExp(`${rAt.replace(/\./g, '\\.')}\\s+replica\\s+replica\\s+yes\\s+0\\s+0`));

    // 2. The primary SIGKILLed: the broker promotes the replica.
    await servers.kill(p);
    await waitFor(async () => (await status()).brokerPrimary === rAt, 'the broker to promote the replica', 30_000);
    g = await status();
    expect([g.primary, g.brokerPrimary, g.epoch]).toEqual([rAt, rAt, 1]);
    expect([server(g, rAt).role, server(g, rAt).readOnly, server(g, rAt).replication]).toEqual(['primary', false, null]);
    expect([server(g, pAt).role, server(g, pAt).reachable, server(g, pAt).brokerRole]).toEqual(['unreachable', false, 'fenced']);
    expect(g.warnings.some((w) => w.includes(`still name ${pAt} as primary`))).toBe(true);

    // 2b. No replica left (its only one is the primary now): as Kafka with the ISR shrunk to the
    // leader, the high watermark follows the primary. Everything acknowledged before the kill
    // is reported and read at once (before the change: ListOffsets 0, nothing read, until a
    // replica rejoined and caught up).
    const promotedAt = Date.now();
    const latest = async (topic: string) => Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    expect([await latest('ha'), await latest('solo')]).toEqual([5, 5]);
    const visibleMs = Date.now() - promotedAt;
    const lost = async (topic: 'ha' | 'solo') => {
      const seen = await consumeAll(kafka, topic, acked[topic]);
      const { lost: missing, twice } = lostAndTwice(acked[topic], seen);
      return { missing, twice, seen };
    };
    expect(await lost('ha')).toMatchObject({ missing: [], twice: [] });
    expect(await lost('solo')).toMatchObject({ missing: [], twice: [] });
    // acks=1, and acks=-1 into min.insync.replicas=1: acknowledged and read (the new primary's
    // first commit waits rpl_semi_sync_master_timeout once for a replica that is not there).
    const firstSend = Date.now();
    await send('ha', 1, 10);
    const firstAckMs = Date.now() - firstSend;
    await send('ha', 1, 11);
    await send('solo', -1, 110);
    await send('solo', -1, 111);
    // acks=-1 into min.insync.replicas=2: refused before anything is written.
    const once = kafka.producer({ retry: { retries: 0 } });
    await once.connect();
    const refusal = await once.send({ topic: 'ha', acks: -1, timeout: 5000, messages: [{ value: '20' }] }).then(() => 'acknowledged', kafkaErrorType);
    expect(refusal).toBe('NOT_ENOUGH_REPLICAS');
    expect([await latest('ha'), await latest('solo')]).toEqual([7, 7]);
    const afterHa = await lost('ha');
    expect(afterHa).toMatchObject({ missing: [], twice: [] });
    expect(afterHa.seen.has(20)).toBe(false);
    expect(await lost('solo')).toMatchObject({ missing: [], twice: [] });
    console.log(
      `no replica left: the ${beforeKill} records acknowledged before the kill listed ${visibleMs} ms after the promotion was seen, all consumed (0 lost, 0 twice); ` +
        `first acks=1 acknowledgement after it took ${firstAckMs} ms; acks=-1 into min.insync.replicas=2: ${refusal}`,
    );

    // 3. The old primary back: the broker fences it (read-only); it does not replicate.
    await servers.restart(p);
    await waitFor(async () => server((g = await status()), pAt).role === 'read-only', 'the old primary to be set read-only', 20_000);
    expect(g.primary).toBe(rAt);
    expect(g.warnings.some((w) => w.includes(`shards rejoin --shard 0 --host ${pAt}`))).toBe(true);
    // The text form after a failover, for the record (docs/operations.md shows one).
    console.log((await cli(['shards', 'status', ...common])).stdout);
    // A broker started with the configuration from before the failover is refused (nothing
    // records the failover without ZooKeeper), naming the likely new primary.
    const stale = await startTestBroker('shards-cli-stale', { 'mysql.failover.timeout.ms': 2000 }, servers.shardUrl()).then(
      async (b) => (await b.stop(), null),
      (err: Error) => err.message,
    );
    expect(stale).toContain(`the configured primary ${pAt} is read-only and ${rAt} is writable and not replicating: a failover probably made ${rAt} the primary`);

    // 4. Rejoin: a replica of the new primary, acknowledging (semi-sync client) and applying.
    const rejoin = await cli(['shards', 'rejoin', '--shard', '0', '--host', pAt, '--json', ...common]);
    expect(rejoin.code, rejoin.stderr).toBe(0);
    expect(JSON.parse(rejoin.stdout)).toMatchObject({ server: pAt, primary: rAt, alreadyReplica: false, caughtUp: true, behind: 0 });
    await sql(r, ['CREATE DATABASE after_rejoin', 'CREATE TABLE after_rejoin.t (id INT PRIMARY KEY)', 'INSERT INTO after_rejoin.t VALUES (7)']);
    await waitFor(async () => {
      g = await status();
      return server(g, pAt).behindTransactions === 0 && server(g, rAt).semiSync.clients === 1;
    }, 'the rejoined server to apply and acknowledge', 20_000);
    const p2 = server(g, pAt);
    expect([p2.role, p2.readOnly, p2.replication?.source, p2.replication?.ioRunning, p2.replication?.sqlRunning]).toEqual(['replica', true, rAt, 'Yes', 'Yes']);
    expect((await sql(p, ['SELECT id FROM after_rejoin.t']))[0]).toEqual([{ id: 7 }]);
    expect(g.warnings.filter((w) => !w.includes('still name'))).toEqual([]);
    // The running broker notices (within a few checks): a replica again, not fenced.
    await waitFor(async () => server((g = await status()), pAt).brokerRole === 'replica', 'the broker to list the rejoined server as a replica', 10_000);
    // A replica again: acks=-1 into min.insync.replicas=2 is confirmed by it and acknowledged
    // (the first tries may still find the shard degraded: NOT_ENOUGH_REPLICAS until the primary's
    // semi-sync status reads ON), then consumed with everything before.
    const againAt = Date.now();
    await waitFor(async () => (await send('ha', -1, 30, once).then(() => true, () => false)), 'acks=-1 into min.insync.replicas=2 to be acknowledged again', 20_000);
    console.log(`replica rejoined: acks=-1 into min.insync.replicas=2 acknowledged ${Date.now() - againAt} ms after the broker listed it`);
    const rejoinedHa = await lost('ha');
    expect(rejoinedHa).toMatchObject({ missing: [], twice: [] });
    expect(rejoinedHa.seen.has(20)).toBe(false);
    await once.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    const again = await cli(['shards', 'rejoin', '--shard', '0', '--host', pAt, '--json', ...common]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyReplica: true });

    // 5. Diverged: detached, it takes a write the primary never gets; rejoin refuses.
    const [, , , before] = await sql(p, ['STOP SLAVE', 'SET GLOBAL read_only = OFF', 'CREATE DATABASE diverged', 'SELECT @@gtid_binlog_pos AS pos']);
    const ownGtid = String(before![0]!.pos).split(',').find((x) => x.startsWith(`0-${p.serverId}-`));
    expect(ownGtid).toBeDefined();
    const refused = await cli(['shards', 'rejoin', '--shard', '0', '--host', pAt, ...common]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`rejoin refused: ${pAt} has transactions the primary ${rAt} lacks: ${ownGtid}`);
    expect(refused.stderr).toContain('rebuild it from the current primary');
    const [[ro], [slave]] = await sql(p, ['SELECT @@read_only AS ro', 'SHOW SLAVE STATUS']);
    expect([Number(ro!.ro), slave!.Slave_IO_Running, slave!.Slave_SQL_Running]).toEqual([1, 'No', 'No']);
    // The primary never got it.
    expect((await sql(r, ["SHOW DATABASES LIKE 'diverged'"]))[0]).toEqual([]);
  }, 180_000);
});
