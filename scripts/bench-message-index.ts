/**
 * Lookup time of the message index on a large topic (docs/outbox.md, "Finding messages").
 *
 *   npm run bench:message-index -- [--rows 10000000 --keys 1000000 --lookups 200]
 *
 * Starts a private MariaDB (or uses KAFKA_MYSQL_BENCH_URL), fills message_index for one topic of
 * 8 partitions with `--rows` entries server-side (MariaDB's sequence engine, in chunks of 1M):
 * `--keys` distinct keys hashed exactly as storage/message-index/index-store.ts hashes them, a
 * message id and a timestamp per row; then times MessageIndexStore.find by key, by message id
 * and by a 1-second time range for `--lookups` random values each (p50, p99, max). This is the
 * index query alone: reading the found records back from the log adds one read per record.
 */
import { benchMysql } from './bench/bench-mysql.js';
import { MessageIndexStore } from '../storage/message-index/index-store.js';
import { createPool } from '../storage/mysql.js';
import { numberArg } from './bench/cli-args.js';

const rows = numberArg('rows', '10000000');
const keys = numberArg('keys', '1000000');
const lookups = numberArg('lookups', '200');
const TOPIC = 'BenchIndexTopic0000000';
const T0 = 1_700_000_000_000;

async function main(): Promise<void> {
  const mysql = await benchMysql('index', { bufferPoolSize: '1G', logFileSize: '512M' });
  const url = mysql.url;
  const pool = createPool(url, { connectionLimit: 4 });
  const store = new MessageIndexStore(() => pool);
  try {
    await store.ensureTables(0);
    await pool.query('DELETE FROM message_index WHERE topic_id = ?', [TOPIC]);
    const started = performance.now();
    for (let from = 0; from < rows; from += 1_000_000) {
      const to = Math.min(rows, from + 1_000_000) - 1;
      await pool.query(
        `INSERT INTO message_index (topic_id, partition_id, offset_value, timestamp_ms, key_hash, message_id)
         SELECT ?, seq % 8, seq DIV 8, ? + seq, CAST(CONV(LEFT(SHA2(CONCAT('key-', seq % ?), 256), 16), 16, 10) AS UNSIGNED) & 9223372036854775807, CONCAT('id-', seq)
         FROM seq_${from}_to_${to}`,
        [TOPIC, T0, keys],
      );
      console.error(`${to + 1} rows, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    console.log(`filled ${rows} entries (${keys} keys) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const time = async (name: string, q: (i: number) => Parameters<MessageIndexStore['find']>[2]) => {
      const ms: number[] = [];
      let found = 0;
      for (let i = 0; i < lookups; i++) {
        const t = performance.now();
        found += (await store.find(TOPIC, [0], q(i), 100)).length;
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
      console.log(`${name.padEnd(10)} p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${ms[ms.length - 1]!.toFixed(1)} ms (${(found / lookups).toFixed(1)} found per lookup)`);
    };
    const rnd = (n: number) => Math.floor(Math.random() * n);
    await time('by key', () => ({ key: Buffer.from(`key-${rnd(keys)}`) }));
    await time('by id', () => ({ messageId: Buffer.from(`id-${rnd(rows)}`) }));
    await time('by time', () => {
      const from = T0 + rnd(rows);
      return { fromMs: from, toMs: from + 1000 };
    });
  } finally {
    await pool.end();
    await mysql.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
