/**
 * Figures of docs/subscriptions.md: push-subscription deliveries per second to a local endpoint
 * that answers 200 at once, with ordering none, per key and per partition.
 *
 *   npm run bench:subscriptions -- [--records 20000 --concurrency 32 --keys 1000 --orderings none,key,partition]
 *
 * Starts a private MariaDB (or uses KAFKA_MYSQL_BENCH_URL) and the broker as its own process;
 * produces `--records` 200-byte records with `--keys` keys into a topic of 8 partitions, then for
 * each ordering creates a subscription from the beginning (the CLI) and times the endpoint
 * seeing every record once (after one warm-up subscription, `--rounds` rounds, each printed): deliveries/s from the first request to the last (and from the
 * creation, which adds the broker's poll interval). Everything runs on the same machine.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { benchMysql } from './bench/bench-mysql.js';
import { startBrokerProcess } from './bench/broker-process.js';
import { numberArg } from './bench/cli-args.js';

const records = numberArg('records', '20000');
const concurrency = numberArg('concurrency', '32');
const keys = numberArg('keys', '1000');
const PARTITIONS = 8;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../server/cli.js');

async function main(): Promise<void> {
  const mysql = await benchMysql('subscriptions', { bufferPoolSize: '512M', logFileSize: '256M' });
  const url = mysql.url;
  const seen = new Map<string, { ids: Set<string>; requests: number; first: number; last: number }>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    let s = seen.get(path);
    if (s === undefined) seen.set(path, (s = { ids: new Set(), requests: 0, first: Date.now(), last: 0 }));
    s.requests++;
    s.ids.add(String(req.headers['webhook-id']));
    s.last = Date.now();
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const broker = await startBrokerProcess({ mysqlUrl: url, settings: { 'subscriptions.poll.interval.ms': '500' }, log: (l) => console.error(l) });
  const kafka = new Kafka({ clientId: 'bench-subscriptions', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await admin.connect();
    await producer.connect();
    const topic = `bench-subs-${Date.now()}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    const value = JSON.stringify({ pad: 'x'.repeat(180) });
    for (let i = 0; i < records; i += 500) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(500, records - i) }, (_, j) => ({ key: `key-${(i + j) % keys}`, value })) });
    }
    console.log(`${records} records in ${topic} (${PARTITIONS} partitions, ${keys} keys); endpoint answers 200 at once; concurrency ${concurrency}`);
    const orderingsArg = process.argv.indexOf('--orderings');
    const rounds = numberArg('rounds', '2');
    const base = orderingsArg >= 0 ? process.argv[orderingsArg + 1]!.split(',') : ['none', 'key', 'partition'];
    // A warm-up subscription first (the broker's first reads and JIT), not reported; then rounds alternate the orderings.
    const orderings = ['warm-up', ...Array.from({ length: rounds }, () => base).flat()];
    const results = new Map<string, number[]>();
    for (const [i, label] of orderings.entries()) {
      const ordering = label === 'warm-up' ? 'none' : label;
      const name = `bench-${ordering}-${i}`;
      const created = Date.now();
      const r = spawnSync(process.execPath, [CLI, 'subscriptions', 'create', name, '--topic', topic, '--url', `http://127.0.0.1:${port}/${name}`, '--ordering', ordering, '--concurrency', String(concurrency), '--from-beginning', '--set', `mysql.url=${url}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`create failed: ${r.stderr}`);
      const deadline = Date.now() + 600_000;
      for (;;) {
        const s = seen.get(`/${name}`);
        if (s && s.ids.size >= records) break;
        if (Date.now() > deadline) throw new Error(`${name}: only ${s?.ids.size ?? 0} of ${records} delivered in 10 minutes`);
        await new Promise((res) => setTimeout(res, 100));
      }
      const s = seen.get(`/${name}`)!;
      const span = (s.last - s.first) / 1000;
      if (label !== 'warm-up') results.set(label, [...(results.get(label) ?? []), records / span]);
      console.log(
        `${label === 'warm-up' ? 'warm-up (none)' : `ordering ${ordering}`}: ${Math.round(records / span)} deliveries/s (first to last request, ${span.toFixed(1)} s); ${Math.round(records / ((s.last - created) / 1000))}/s from creation; ${s.requests} requests`,
      );
      spawnSync(process.execPath, [CLI, 'subscriptions', 'retire', name, '--set', `mysql.url=${url}`]);
    }
    for (const [ordering, xs] of results) console.log(`ordering ${ordering}: ${xs.map((x) => Math.round(x)).join(', ')} deliveries/s (rounds)`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
    server.closeAllConnections();
    server.close();
    await mysql.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
