/**
 * Figures of docs/outbox.md: the cost of message-id deduplication and the outbox relay's rate.
 *
 *   npm run bench:outbox -- [--seconds 5 --rounds 2 --batch 100 --rows 20000]
 *
 * Starts a private MariaDB (or uses KAFKA_MYSQL_BENCH_URL) and the broker as its own process.
 * Dedupe: two topics of 8 partitions, one with message.id.header; kafkajs sends batches of
 * `--batch` 1 KiB records, each with a unique message-id header on both topics (same client
 * work), 8 requests in flight, acks=-1; phases alternate plain / dedupe for `--rounds` rounds
 * and it prints records/s of each and the ratio dedupe / plain of the medians.
 * Outbox: `--rows` rows (1 KiB values, 100 keys) in an outbox table of another database, relayed
 * to a deduplicating topic by one relay, then by two at once; prints rows/s for each.
 * Index lag: one `--seconds` phase of the same load on a topic with message.index.enable,
 * sampling log end minus indexed end every 250 ms; prints median and max, and how long after the
 * load stopped the index reached the log end.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { KafkaAdmin } from '../client/admin.js';
import { benchMysql } from './bench/bench-mysql.js';
import { connect } from '../storage/mysql.js';
import { outboxTableDdl, OutboxTable } from '../storage/outbox/outbox-table.js';
import { OutboxRelay } from '../server/outbox/relay.js';
import { startBrokerProcess } from './bench/broker-process.js';
import { numberArg } from './bench/cli-args.js';

const seconds = numberArg('seconds', '5');
const rounds = numberArg('rounds', '2');
const batch = numberArg('batch', '100');
const rows = numberArg('rows', '20000');
const PARTITIONS = 8;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const mysql = await benchMysql('outbox', { bufferPoolSize: '512M', logFileSize: '256M' });
  const url = mysql.url;
  const broker = await startBrokerProcess({ mysqlUrl: url, settings: {}, log: (l) => console.error(l) });
  const kafka = new Kafka({ clientId: 'bench-outbox', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const appUrl = new URL(url);
  appUrl.pathname = '/bench_outbox_app';
  try {
    await admin.connect();
    await producer.connect();
    const stamp = Date.now();
    const plain = `bench-plain-${stamp}`;
    const dedupe = `bench-dedupe-${stamp}`;
    const relayed = `bench-outbox-${stamp}`;
    const dedupeConfig = [{ name: 'message.id.header', value: 'message-id' }];
    await admin.createTopics({
      topics: [
        { topic: plain, numPartitions: PARTITIONS },
        { topic: dedupe, numPartitions: PARTITIONS, configEntries: dedupeConfig },
        { topic: relayed, numPartitions: PARTITIONS, configEntries: dedupeConfig },
      ],
    });
    const value = randomBytes(1024);
    let id = 0;
    const phase = async (topic: string): Promise<number> => {
      const end = Date.now() + seconds * 1000;
      let records = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          while (Date.now() < end) {
            await producer.send({ topic, acks: -1, messages: Array.from({ length: batch }, () => ({ partition: w, value, headers: { 'message-id': `m-${id++}` } })) });
            records += batch;
          }
        }),
      );
      return records / ((performance.now() - started) / 1000);
    };
    console.log(`dedupe cost: ${seconds} s phases, ${rounds} rounds, batches of ${batch} x 1 KiB, 8 in flight, acks=-1`);
    const rates = { plain: [] as number[], dedupe: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      rates.plain.push(await phase(plain));
      rates.dedupe.push(await phase(dedupe));
      console.log(`round ${r + 1}: plain ${Math.round(rates.plain[r]!)} records/s, dedupe ${Math.round(rates.dedupe[r]!)} records/s`);
    }
    console.log(`dedupe / plain (medians): ${(median(rates.dedupe) / median(rates.plain)).toFixed(2)}`);

    const conn = await connect(url);
    await conn.query('DROP DATABASE IF EXISTS bench_outbox_app');
    await conn.query('CREATE DATABASE bench_outbox_app');
    await conn.end();
    const app = await connect(appUrl.toString());
    await app.query(outboxTableDdl('outbox'));
    const fill = async () => {
      for (let i = 0; i < rows; i += 500) {
        const n = Math.min(500, rows - i);
        const values: unknown[] = [];
        for (let j = 0; j < n; j++) values.push(relayed, `key-${(i + j) % 100}`, value);
        await app.query(`INSERT INTO outbox (topic, \`key\`, value) VALUES ${Array.from({ length: n }, () => '(?, ?, ?)').join(', ')}`, values);
      }
    };
    const client = await KafkaAdmin.connect({ bootstrap: [{ host: '127.0.0.1', port: broker.port }], clientId: 'bench-outbox', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 });
    const options = { batchSize: 500, idHeader: 'message-id', idPrefix: '', pollIntervalMs: 50, maxBatchBytes: 900_000, logger: pino({ level: 'warn' }) };
    for (const relays of [1, 2]) {
      await fill();
      const table = new OutboxTable(appUrl.toString(), 'outbox');
      const started = performance.now();
      await Promise.all(
        Array.from({ length: relays }, async () => {
          const relay = new OutboxRelay(table, client, options);
          let idle = 0;
          while (idle < 3) {
            if ((await relay.relayOnce()) === 0) {
              idle++;
              await new Promise((r) => setTimeout(r, 20));
            } else idle = 0;
          }
        }),
      );
      const rate = rows / ((performance.now() - started) / 1000);
      await table.close();
      console.log(`outbox relay, ${relays} relay(s): ${rows} rows of 1 KiB in ${((performance.now() - started) / 1000).toFixed(1)} s, ${Math.round(rate)} rows/s`);
    }
    client.close();
    await app.end();

    // Index lag under full produce load: the records produced but not yet indexed, sampled every 250 ms.
    const indexedTopic = `bench-index-${stamp}`;
    await admin.createTopics({ topics: [{ topic: indexedTopic, numPartitions: PARTITIONS, configEntries: [{ name: 'message.index.enable', value: 'true' }] }] });
    const meta = await connect(url);
    const indexedEnd = async () => {
      const [r] = await meta.query('SELECT COALESCE(SUM(next_offset), 0) AS n FROM message_index_progress p JOIN topics t ON t.topic_id = p.topic_id WHERE t.name = ?', [indexedTopic]);
      return Number((r as Array<{ n: string }>)[0]!.n);
    };
    const logEnd = async () => (await admin.fetchTopicOffsets(indexedTopic)).reduce((n, o) => n + Number(o.high), 0);
    let producing = true;
    const lags: number[] = [];
    const sampler = (async () => {
      while (producing) {
        const [end, indexedSoFar] = await Promise.all([logEnd(), indexedEnd().catch(() => 0)]);
        lags.push(end - indexedSoFar);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const loadRate = await phase(indexedTopic);
    producing = false;
    await sampler;
    const stopped = performance.now();
    const total = await logEnd();
    while ((await indexedEnd()) < total) await new Promise((r) => setTimeout(r, 20));
    console.log(
      `index lag under load (${Math.round(loadRate)} records/s, message.index.interval.ms 1000): median ${median(lags)} records, max ${Math.max(...lags)} records; ` +
        `caught up ${Math.round(performance.now() - stopped)} ms after the load stopped`,
    );
    await meta.end();
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
    await mysql.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
