/**
 * kafka-python 2.0.2 (Debian's python3-kafka, run with /usr/bin/python3) against the broker:
 * KafkaProducer (no compression and gzip; keys, headers, null values, binary values) and a
 * partition-assigned KafkaConsumer (assign + seek_to_beginning, no group) reading everything
 * back. Cross-client: kafkajs-produced records read by kafka-python, kafka-python-produced
 * and kcat-produced (zstd) records read with a raw Fetch, and confluent-kafka-python
 * (librdkafka) producing.
 */
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { allByteValues, comparable, contiguousFrom, kcat, readPartition, requireKcat, requirePython, runPython, type Comparable } from './support/clients.js';

let tb: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  requirePython(['kafka']);
  tb = await startTestBroker('kafka python');
  const kafka = new Kafka({ clientId: 'compat-python-admin', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await tb?.stop();
});

/** A record as the Python scripts print it (hex for bytes). */
interface PyRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

const PRODUCER_SCRIPT = String.raw`
import json, sys
from kafka import KafkaProducer
bootstrap, topic, compression = sys.argv[1], sys.argv[2], sys.argv[3]
spec = json.load(sys.stdin)
producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all', linger_ms=20,
                         compression_type=None if compression == 'none' else compression,
                         max_request_size=2 * 1024 * 1024)
unhex = lambda h: None if h is None else bytes.fromhex(h)
futures = []
for r in spec:
    futures.append(producer.send(topic, partition=r['partition'], key=unhex(r['key']), value=unhex(r['value']),
                                 headers=[(k, unhex(v)) for k, v in r['headers']]))
producer.flush(30)
out = []
for f in futures:
    md = f.get(timeout=30)
    out.append({'partition': md.partition, 'offset': md.offset})
producer.close(10)
print(json.dumps(out))
`;

const CONSUMER_SCRIPT = String.raw`
import json, sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(',')]
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         consumer_timeout_ms=5000, fetch_max_wait_ms=200, max_partition_fetch_bytes=4 * 1024 * 1024)
tps = [TopicPartition(topic, p) for p in partitions]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
ends = consumer.end_offsets(tps)
out = []
remaining = {tp: ends[tp] for tp in tps if ends[tp] > 0}
hexed = lambda b: None if b is None else b.hex()
for msg in consumer:
    out.append({'partition': msg.partition, 'offset': msg.offset, 'key': hexed(msg.key), 'value': hexed(msg.value),
                'headers': [[k, hexed(v)] for k, v in msg.headers]})
    tp = TopicPartition(msg.topic, msg.partition)
    if tp in remaining and msg.offset + 1 >= remaining[tp]:
        del remaining[tp]
    if not remaining:
        break
consumer.close()
print(json.dumps({'ends': {str(tp.partition): ends[tp] for tp in tps}, 'records': out}))
`;

const CONFLUENT_PRODUCER_SCRIPT = String.raw`
import json, sys
from confluent_kafka import Producer
bootstrap, topic, compression = sys.argv[1], sys.argv[2], sys.argv[3]
spec = json.load(sys.stdin)
producer = Producer({'bootstrap.servers': bootstrap, 'compression.codec': compression, 'linger.ms': 20, 'acks': 'all'})
results = []
def done(err, msg):
    results.append({'error': None if err is None else str(err), 'partition': msg.partition(), 'offset': msg.offset()})
unhex = lambda h: None if h is None else bytes.fromhex(h)
for r in spec:
    producer.produce(topic, partition=r['partition'], key=unhex(r['key']), value=unhex(r['value']),
                     headers=[(k, unhex(v)) for k, v in r['headers']], on_delivery=done)
remaining = producer.flush(30)
print(json.dumps({'remaining': remaining, 'results': results}))
`;

async function runJson<T>(script: string, args: string[], input?: unknown): Promise<T> {
  const result = await runPython(script, args, { input: input === undefined ? undefined : JSON.stringify(input) });
  if (result.code !== 0) throw new Error(`python exited ${result.code ?? result.signal}:\n${result.stderr}`);
  return JSON.parse(result.stdout.toString()) as T;
}

function spec(topic: string, partitions: number, count: number): (Comparable & { partition: number })[] {
  return Array.from({ length: count }, (_, i) => ({
    partition: i % partitions,
    key: i % 10 === 3 ? null : Buffer.from(`${topic}-key-${i}`).toString('hex'),
    value: i % 10 === 7 ? null : i % 5 === 0 ? allByteValues(256, i).toString('hex') : Buffer.from(`value ${i} `.repeat(1 + (i % 9))).toString('hex'),
    headers: i % 4 === 0 ? [['h', Buffer.from(String(i)).toString('hex')]] : [],
  }));
}

describe('kafka-python producer and assigned consumer', () => {
  for (const compression of ['none', 'gzip']) {
    it(`KafkaProducer (${compression}) read back by KafkaConsumer and raw Fetch`, async () => {
      const topic = `python-${compression}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      const records = spec(topic, 3, 300);
      const acks = await runJson<{ partition: number; offset: number }[]>(PRODUCER_SCRIPT, [tb.bootstrap, topic, compression], records);
      expect(acks).toHaveLength(records.length);
      // Offsets per partition are 0..n-1 in send order.
      for (let p = 0; p < 3; p++) {
        expect(acks.filter((a) => a.partition === p).map((a) => a.offset)).toEqual(records.filter((r) => r.partition === p).map((_, i) => i));
      }

      const consumed = await runJson<{ ends: Record<string, number>; records: PyRecord[] }>(CONSUMER_SCRIPT, [tb.bootstrap, topic, '0,1,2']);
      expect(consumed.ends).toEqual({ '0': 100, '1': 100, '2': 100 });
      for (let p = 0; p < 3; p++) {
        const mine = consumed.records.filter((r) => r.partition === p);
        expect(mine.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        expect(mine.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(
          records.filter((r) => r.partition === p).map(({ key, value, headers }) => ({ key, value, headers })),
        );
        const raw = await readPartition(tb.port, topic, p);
        expect(contiguousFrom(raw.records)).toBe(true);
        expect(raw.records.map(comparable)).toEqual(records.filter((r) => r.partition === p).map(({ key, value, headers }) => ({ key, value, headers })));
      }
    });
  }

  it('reads kafkajs-produced records (gzip and plain, with headers) with KafkaConsumer', async () => {
    const topic = 'python-reads-kafkajs';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const plain = Array.from({ length: 50 }, (_, i) => ({ partition: 0, key: `k${i}`, value: allByteValues(256, i), headers: { idx: String(i) } }));
    const gzipped = Array.from({ length: 50 }, (_, i) => ({ partition: 1, key: i % 2 ? null : `g${i}`, value: i % 7 ? `gzip value ${i}` : null }));
    await producer.send({ topic, acks: -1, messages: plain });
    await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: gzipped });
    const consumed = await runJson<{ ends: Record<string, number>; records: PyRecord[] }>(CONSUMER_SCRIPT, [tb.bootstrap, topic, '0,1']);
    expect(consumed.ends).toEqual({ '0': 50, '1': 50 });
    const hex = (v: string | Buffer | null) => (v === null ? null : Buffer.from(v).toString('hex'));
    expect(consumed.records.filter((r) => r.partition === 0)).toEqual(
      plain.map((m, i) => ({ partition: 0, offset: i, key: hex(m.key), value: hex(m.value), headers: [['idx', hex(String(i))]] })),
    );
    expect(consumed.records.filter((r) => r.partition === 1)).toEqual(
      gzipped.map((m, i) => ({ partition: 1, offset: i, key: hex(m.key), value: hex(m.value), headers: [] })),
    );
  });

  it('reads kcat-produced gzip records with KafkaConsumer, and kcat zstd records with a raw Fetch', async () => {
    requireKcat();
    const topic = 'python-reads-kcat';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const lines = Array.from({ length: 40 }, (_, i) => `kcat-${i}\tvalue from librdkafka ${i} ${'z'.repeat(i)}`);
    await kcat(['-P', '-b', tb.bootstrap, '-t', topic, '-p', '0', '-K', '\t', '-H', 'from=kcat', '-X', 'compression.codec=gzip'], { input: lines.join('\n') + '\n' });
    await kcat(['-P', '-b', tb.bootstrap, '-t', topic, '-p', '1', '-K', '\t', '-X', 'compression.codec=zstd'], { input: lines.join('\n') + '\n' });
    const consumed = await runJson<{ ends: Record<string, number>; records: PyRecord[] }>(CONSUMER_SCRIPT, [tb.bootstrap, topic, '0']);
    const hex = (s: string) => Buffer.from(s).toString('hex');
    expect(consumed.records).toEqual(
      lines.map((line, i) => {
        const [key, value] = line.split('\t') as [string, string];
        return { partition: 0, offset: i, key: hex(key), value: hex(value), headers: [['from', hex('kcat')]] };
      }),
    );
    const raw = await readPartition(tb.port, topic, 1);
    expect(raw.records.map((r) => `${r.key!.toString()}\t${r.value!.toString()}`)).toEqual(lines);
    expect(contiguousFrom(raw.records)).toBe(true);
  });

  it('confluent-kafka-python (librdkafka) Producer with zstd, read back with a raw Fetch', async () => {
    requirePython(['confluent_kafka']);
    const topic = 'python-confluent';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const records = spec(topic, 2, 100);
    const result = await runJson<{ remaining: number; results: { error: string | null; partition: number; offset: number }[] }>(
      CONFLUENT_PRODUCER_SCRIPT,
      [tb.bootstrap, topic, 'zstd'],
      records,
    );
    expect(result.remaining).toBe(0);
    expect(result.results.every((r) => r.error === null)).toBe(true);
    expect(result.results).toHaveLength(100);
    for (let p = 0; p < 2; p++) {
      const raw = await readPartition(tb.port, topic, p);
      expect(contiguousFrom(raw.records)).toBe(true);
      expect(raw.records.map(comparable)).toEqual(records.filter((r) => r.partition === p).map(({ key, value, headers }) => ({ key, value, headers })));
    }
  });
});
