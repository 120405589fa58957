/**
 * Delayed delivery across a broker crash (docs/delayed.md): kafkajs holds 4,000 records with
 * message ids whose due times spread over six seconds on four partitions; the built broker
 * process is killed with SIGKILL in the middle of their delivery, left down for two seconds
 * (records fall due meanwhile) and restarted on the same database. Afterwards every id is in
 * the topic exactly once (none lost, none appended twice by the restarted broker, which finds
 * in message_ids what was appended before the kill), none before its due time, and nothing is
 * left held. While the broker is down, one record appended before the kill is put back into
 * delayed_messages and out of delayed_done: the state a crash between the append and the move
 * leaves; the restarted broker must not append it again.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, openTestPool } from '../testing/mysql.js';
import { freePort } from '../storage/managed-mariadb.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { readPartition } from './support/clients.js';

const RECORDS = 4000;
const PARTITIONS = 4;
const TOPIC = 'dl-restart';

let broker: BrokerProcess | undefined;
let url: string | undefined;

afterAll(async () => {
  await broker?.kill();
  if (url) await dropTestDatabase(url);
});

async function readAll(port: number): Promise<{ id: string; at: bigint; timestamp: bigint }[]> {
  const out: { id: string; at: bigint; timestamp: bigint }[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of (await readPartition(port, TOPIC, p)).records) {
      const h = (k: string) => r.headers.find((x) => x.key === k)?.value?.toString() ?? '';
      out.push({ id: h('message-id'), at: BigInt(h('deliver-at')), timestamp: r.timestamp });
    }
  }
  return out;
}

describe('delayed delivery across SIGKILL and restart', () => {
  it(`delivers ${RECORDS} held records exactly once`, { timeout: 120_000 }, async () => {
    url = await createTestDatabase('delayed_kill');
    const port = await freePort();
    const settings = { 'mysql.url': url, listeners: `PLAINTEXT://127.0.0.1:${port}`, 'delayed.delivery.rescan.ms': 500, 'delayed.delivery.page.size': 200 };
    broker = await spawnBroker(settings);
    const kafka = new Kafka({ clientId: 'delayed-restart', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'delayed.delivery.enable', value: 'true' }] }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const start = Date.now() + 2000;
    for (let s = 0; s < RECORDS; s += 200) {
      const messages = Array.from({ length: 200 }, (_, i) => {
        const n = s + i;
        return { partition: n % PARTITIONS, value: `v-${n}`, headers: { 'deliver-at': String(start + Math.floor((n * 6000) / RECORDS)), 'message-id': `d-${n}` } };
      });
      await producer.send({ topic: TOPIC, acks: -1, messages });
    }
    await producer.disconnect();

    // Kill halfway through the due times: deliveries are under way.
    await new Promise((r) => setTimeout(r, Math.max(0, start + 3000 - Date.now())));
    const before = await readAll(port);
    await broker.kill();
    const pool = openTestPool(url);
    const victim = before[0]!.id;
    await pool.query(
      `INSERT INTO delayed_messages (topic_id, message_id, partition_id, due_ms, created_ms, record_key, record_value, record_headers)
       SELECT topic_id, message_id, partition_id, due_ms, due_ms, NULL, 'appended-again', NULL FROM delayed_done WHERE message_id = ?`,
      [victim],
    );
    await pool.query('DELETE FROM delayed_done WHERE message_id = ?', [victim]);
    await new Promise((r) => setTimeout(r, 2000));
    broker = await spawnBroker(settings);

    let records = await readAll(port);
    for (const deadline = Date.now() + 30_000; records.length < RECORDS && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      records = await readAll(port);
    }
    await new Promise((r) => setTimeout(r, 1500));
    records = await readAll(port);
    console.log(`delayed restart: ${before.length} of ${RECORDS} appended before the kill, ${records.length} after the restart`);
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(RECORDS);
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    const missing = Array.from({ length: RECORDS }, (_, n) => `d-${n}`).filter((id) => !counts.has(id));
    const twice = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
    expect(missing).toEqual([]);
    expect(twice).toEqual([]);
    expect(records.length).toBe(RECORDS);
    for (const r of records) expect(r.timestamp).toBeGreaterThanOrEqual(r.at);

    try {
      const [held] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM delayed_messages');
      expect(Number(held[0]!.n)).toBe(0);
      const [done] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM delayed_done WHERE outcome = 1');
      expect(Number(done[0]!.n)).toBe(RECORDS);
    } finally {
      await pool.end();
    }
  });
});
