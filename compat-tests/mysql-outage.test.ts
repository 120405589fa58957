import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../codec/records/records.js';
import { startManagedMariadb, type ManagedMariadb } from '../storage/managed-mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient, readPartition } from './support/clients.js';

// The broker on its own private MariaDB, which the test stops and starts again: while MySQL
// is down, produce answers KAFKA_STORAGE_ERROR (retriable) in well-formed responses and the
// broker keeps serving; when MySQL is back, producing works again and nothing acknowledged
// is lost.
const KAFKA_STORAGE_ERROR = 56;
const SMALL = { bufferPoolSize: '32M', logFileSize: '16M' };

let dataDir: string;
let mysql: ManagedMariadb;
let broker: TestBroker;
let client: RawClient;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-outage-'));
  mysql = await startManagedMariadb({ dataDir, port: 0, ...SMALL });
  broker = await startTestBroker('outage', { 'num.partitions': 1 }, mysql.url);
  client = await RawClient.connect(broker.port);
});

afterAll(async () => {
  client?.close();
  await broker?.broker.stop();
  await mysql?.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function produceRaw(value: string) {
  const response = await client.request(0, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 'outage', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }],
  });
  return response.responses[0]!.partitionResponses[0]!;
}

describe('MySQL outage', () => {
  it('answers KAFKA_STORAGE_ERROR while MySQL is down and recovers when it returns', async () => {
    const kafka = new Kafka({ clientId: 'outage', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'outage', acks: -1, messages: [{ value: 'before-1' }, { value: 'before-2' }] });
    expect((await produceRaw('before-3')).errorCode).toBe(0);

    const port = mysql.port;
    await mysql.stop();
    const during = await produceRaw('during');
    expect(during.errorCode).toBe(KAFKA_STORAGE_ERROR);
    // The broker itself keeps answering: metadata comes from its in-memory catalog.
    const metadata = await client.request(3, 1, {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'outage' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(metadata.topics[0]!.errorCode).toBe(0);

    mysql = await startManagedMariadb({ dataDir, port, ...SMALL });
    expect(mysql.port).toBe(port);
    // The first append after the outage may still meet a dead pooled connection; retried as a
    // client would, it succeeds.
    let after = await produceRaw('after-1');
    for (let i = 0; i < 5 && after.errorCode === KAFKA_STORAGE_ERROR; i++) after = await produceRaw('after-1');
    expect(after.errorCode).toBe(0);
    await producer.send({ topic: 'outage', acks: -1, messages: [{ value: 'after-2' }] });
    await producer.disconnect();

    const { records } = await readPartition(broker.port, 'outage', 0);
    const values = records.map((r) => r.value!.toString());
    expect(values).toEqual(['before-1', 'before-2', 'before-3', 'after-1', 'after-2']);
    expect(records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });
});
