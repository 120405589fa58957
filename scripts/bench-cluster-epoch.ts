/**
 * The cost of the leader-epoch check (docs/cluster.md, docs/benchmarks.md): with
 * `zookeeper.connect` every group-commit transaction reads its partitions' leader epochs from
 * partition_leaders with a shared lock before it commits; a lone broker skips it. This runs the
 * same broker alone and as a one-broker cluster (a private ZooKeeper) on one MariaDB, in
 * alternating order per round, with the raw replayer (8 connections, 4 requests in flight each,
 * 8 partitions) in two shapes: large batches (1,000 records of 1 KiB: throughput) and small
 * ones (10 records of 100 B: many small transactions, where a per-transaction query weighs
 * most). Prints each round's figures and the median ratio cluster / single per shape.
 *
 *   npm run bench:cluster-epoch -- [--rounds 3] [--seconds 10]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startZookeeper } from '../server/cluster/zookeeper-process.js';
import { startManagedMariadb } from '../storage/managed-mariadb.js';
import { startBrokerProcess } from './bench/broker-process.js';
import { makeBatch, produceLoad } from './bench/replayer.js';
import { numberArg } from './bench/cli-args.js';

const ROUNDS = numberArg('rounds', 3);
const SECONDS = numberArg('seconds', 10);
const PARTITIONS = 8;
const SHAPES = [
  { name: 'large', records: 1000, bytes: 1024 },
  { name: 'small', records: 10, bytes: 100 },
] as const;
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // The data directory itself (the managed MariaDB's account must be able to enter it).
  const dataDir = await mkdtemp(join(tmpdir(), 'kafka-mysql-bench-epoch-'));
  const zkDir = await mkdtemp(join(tmpdir(), 'kafka-mysql-bench-epoch-zk-'));
  const db = await startManagedMariadb({ dataDir, port: 0, extraArgs: ['--max-connections=2000'] });
  const zk = await startZookeeper({ dir: zkDir });
  const ratios: Record<string, number[]> = { large: [], small: [] };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which mode goes first, so drift over the run does not favour one.
      const modes = round % 2 === 1 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const);
      const perMode: Record<string, Record<string, number>> = {};
      for (const mode of modes) {
        const settings: Record<string, string> = { 'broker.id': '1' };
        if (mode === 'cluster') Object.assign(settings, { 'zookeeper.connect': zk.connect, 'zookeeper.session.timeout.ms': '6000' });
        const broker = await startBrokerProcess({ mysqlUrl: db.url, settings, log: () => undefined });
        try {
          const admin = new Kafka({ clientId: 'bench-epoch', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING }).admin();
          await admin.connect();
          perMode[mode] = {};
          for (const shape of SHAPES) {
            const topic = `epoch-${mode}-${shape.name}-${round}`;
            // A cluster broker that just started may not know its controller yet (kafkajs asks for it).
            for (let i = 0; ; i++) {
              try {
                await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
                break;
              } catch (err) {
                if (i >= 50) throw err;
                await new Promise((r) => setTimeout(r, 200));
              }
            }
            // A cluster's leaders come from the controller: wait until every partition has one.
            for (let i = 0; i < 100; i++) {
              const meta = await admin.fetchTopicMetadata({ topics: [topic] });
              if (meta.topics[0]!.partitions.every((p) => p.leader === 1)) break;
              await new Promise((r) => setTimeout(r, 100));
            }
            const r = await produceLoad({
              host: '127.0.0.1',
              port: broker.port,
              topic,
              partitions: PARTITIONS,
              connections: 8,
              inFlight: 4,
              durationMs: SECONDS * 1000,
              batch: makeBatch(shape.records, shape.bytes),
              recordsPerBatch: shape.records,
            });
            if (r.errors > 0) throw new Error(`${mode} ${shape.name}: ${r.errors} errors ${JSON.stringify(r.errorCodes)}`);
            perMode[mode]![shape.name] = r.records / r.seconds;
            log(`round ${round} ${mode.padEnd(7)} ${shape.name}: ${Math.round(r.records / r.seconds)} records/s, ${(r.bytes / 2 ** 20 / r.seconds).toFixed(1)} MB/s`);
          }
          await admin.disconnect();
        } finally {
          await broker.stop();
        }
      }
      for (const shape of SHAPES) ratios[shape.name]!.push(perMode.cluster![shape.name]! / perMode.single![shape.name]!);
      log(`round ${round} ratio cluster/single: ${SHAPES.map((s) => `${s.name} ${ratios[s.name]!.at(-1)!.toFixed(3)}`).join(', ')}`);
    }
    const summary = Object.fromEntries(SHAPES.map((s) => [s.name, { median: +median(ratios[s.name]!).toFixed(3), rounds: ratios[s.name]!.map((x) => +x.toFixed(3)) }]));
    console.log(JSON.stringify({ clusterOverSingle: summary, rounds: ROUNDS, seconds: SECONDS }));
  } finally {
    await zk.stop();
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(zkDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
