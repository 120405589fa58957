/**
 * Exactly once across SIGKILLs: a kafkajs idempotent producer sends numbered records (sends of
 * 100, round-robin over 4 partitions) while the built broker process is killed with SIGKILL
 * and restarted on the same port and database. kafkajs retries a send across the restart
 * with the same sequence numbers; the broker, its producer state rebuilt from the log rows,
 * answers a send that was committed before the kill as a duplicate. Afterwards every number
 * is stored exactly once, and in order within its partition.
 * npm test runs 20,000 records and 2 kills; `npm run test:idempotent-restart` runs the
 * issue's figure (IDEMPOTENT_RESTART_RECORDS=100000, IDEMPOTENT_RESTART_KILLS=3).
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { readPartition } from './support/clients.js';
import { freePort } from '../storage/managed-mariadb.js';

const RECORDS = Number(process.env.IDEMPOTENT_RESTART_RECORDS ?? 20_000);
const KILLS = Number(process.env.IDEMPOTENT_RESTART_KILLS ?? 2);
const PER_SEND = 100;
const PARTITIONS = 4;
const TOPIC = 'idem-restart';

let broker: BrokerProcess | undefined;
let url: string | undefined;

afterAll(async () => {
  await broker?.kill();
  if (url) await dropTestDatabase(url);
});

describe('idempotent producer across SIGKILL and restart', () => {
  it(`stores ${RECORDS} numbered records exactly once and in order over ${KILLS} kills`, { timeout: 600_000 }, async () => {
    url = await createTestDatabase('idem_kill_loop');
    const port = await freePort();
    const settings = { 'mysql.url': url, listeners: `PLAINTEXT://127.0.0.1:${port}`, 'num.partitions': PARTITIONS };
    broker = await spawnBroker(settings);
    const kafka = new Kafka({
      clientId: 'idem-restart',
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 10_000,
      // Long enough to outlast a restart (a few seconds): a send is retried, never given up.
      retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const sends = RECORDS / PER_SEND;
    const killAt = new Set(Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) * sends) / (KILLS + 1))));
    let restarts: Promise<void> = Promise.resolve();
    let kills = 0;
    for (let s = 0; s < sends; s++) {
      if (killAt.has(s)) {
        // Kill while the next sends are on their way: the send in flight is retried after the restart.
        const current = broker!;
        restarts = restarts.then(async () => {
          await current.kill();
          kills++;
          broker = await spawnBroker(settings);
        });
      }
      const messages = Array.from({ length: PER_SEND }, (_, r) => ({ partition: s % PARTITIONS, value: String(s * PER_SEND + r) }));
      await producer.send({ topic: TOPIC, acks: -1, messages });
    }
    await restarts;
    await producer.disconnect();
    expect(kills).toBe(KILLS);

    const seen = new Set<number>();
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const numbers = (await readPartition(broker!.port, TOPIC, p)).records.map((r) => Number(r.value!.toString()));
      total += numbers.length;
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
      for (const n of numbers) {
        expect(Math.floor(n / PER_SEND) % PARTITIONS).toBe(p);
        seen.add(n);
      }
    }
    expect(total).toBe(RECORDS);
    expect(seen.size).toBe(RECORDS);
  });
});
