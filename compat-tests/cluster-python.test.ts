/**
 * librdkafka (confluent-kafka-python) and kafka-python against three brokers while one is
 * SIGKILLed and restarted (the consumer group's coordinator, also a partition leader; docs/cluster.md): a producer with acks=all numbering records per
 * partition and a consumer group, each in its own Python process printing JSON lines. Every
 * acknowledged record is consumed, and each partition's log holds the acknowledged records in
 * the order they were sent. librdkafka runs idempotent (its sequence numbers continue on the
 * new leader, which reads producer state from MySQL); kafka-python 2.0.2 has no idempotence,
 * so it keeps one request in flight, which is what keeps its order across retries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { PYTHON, requirePython } from './support/clients.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { coordinatorOf, createTopic } from './support/cluster-clients.js';
import { waitFor } from './support/wait.js';

/** Common part: stdin "stop" ends the loop; every line printed is JSON. */
const PRELUDE = `
import json, sys, threading, time
stop = threading.Event()
def watch_stdin():
    for line in sys.stdin:
        if line.strip() == 'stop':
            break
    stop.set()
threading.Thread(target=watch_stdin, daemon=True).start()
def out(**kw):
    sys.stdout.write(json.dumps(kw) + '\\n')
    sys.stdout.flush()
bootstrap, topic, group = sys.argv[2], sys.argv[3], sys.argv[4]
`;

const SCRIPTS = {
  'confluent-kafka': {
    producer: `${PRELUDE}
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'enable.idempotence': True, 'linger.ms': 5,
              'message.timeout.ms': 120000, 'topic.metadata.refresh.interval.ms': 1000, 'reconnect.backoff.max.ms': 1000})
def report(err, msg):
    if err is None:
        out(p=msg.partition(), o=msg.offset(), v=int(msg.value()))
    else:
        out(error=str(err), v=int(msg.value()))
n = 0
while not stop.is_set():
    while True:
        try:
            p.produce(topic, value=str(n).encode(), partition=n % 3, on_delivery=report)
            break
        except BufferError:
            p.poll(0.1)
    n += 1
    p.poll(0)
    if n % 20 == 0:
        time.sleep(0.02)
p.flush(120)
out(done=True)
`,
    consumer: `${PRELUDE}
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest',
              'enable.auto.commit': True, 'auto.commit.interval.ms': 500, 'session.timeout.ms': 10000,
              'topic.metadata.refresh.interval.ms': 1000, 'reconnect.backoff.max.ms': 1000})
c.subscribe([topic])
while not stop.is_set():
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        out(error=str(m.error()))
        continue
    out(p=m.partition(), o=m.offset(), v=int(m.value()))
c.close()
out(done=True)
`,
  },
  'kafka-python': {
    producer: `${PRELUDE}
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=bootstrap.split(','), acks='all', retries=1000, retry_backoff_ms=200,
                  max_in_flight_requests_per_connection=1, linger_ms=5, request_timeout_ms=10000,
                  metadata_max_age_ms=1000, reconnect_backoff_max_ms=1000)
n = 0
while not stop.is_set():
    v = n
    f = p.send(topic, value=str(v).encode(), partition=v % 3)
    f.add_callback(lambda md, v=v: out(p=md.partition, o=md.offset, v=v))
    f.add_errback(lambda e, v=v: out(error=repr(e), v=v))
    n += 1
    if n % 20 == 0:
        time.sleep(0.02)
p.flush(120)
p.close(30)
out(done=True)
`,
    consumer: `${PRELUDE}
from kafka import KafkaConsumer
c = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(','), group_id=group, auto_offset_reset='earliest',
                  enable_auto_commit=True, auto_commit_interval_ms=500, session_timeout_ms=10000,
                  request_timeout_ms=15000, metadata_max_age_ms=1000, reconnect_backoff_max_ms=1000)
while not stop.is_set():
    for tp, msgs in c.poll(timeout_ms=200).items():
        for m in msgs:
            out(p=m.partition, o=m.offset, v=int(m.value))
c.close()
out(done=True)
`,
  },
} as const;

interface Line {
  p?: number;
  o?: number;
  v?: number;
  error?: string;
  done?: boolean;
}

class PyProcess {
  readonly lines: Line[] = [];
  stderr = '';
  private buffered = '';
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const text = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (text.startsWith('{')) this.lines.push(JSON.parse(text) as Line);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }
  records(): Required<Pick<Line, 'p' | 'o' | 'v'>>[] {
    return this.lines.filter((l) => l.o !== undefined) as Required<Pick<Line, 'p' | 'o' | 'v'>>[];
  }
  async stop(timeoutMs = 150_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.write('stop\n');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}

describe.skipIf(!zookeeperInstalled())('Python clients on three brokers', () => {
  let cluster: TestCluster;
  let dir: string;

  beforeAll(async () => {
    requirePython(['kafka', 'confluent_kafka']);
    dir = mkdtempSync(join(tmpdir(), 'kmc-cluster-py-'));
    for (const [lib, scripts] of Object.entries(SCRIPTS)) {
      writeFileSync(join(dir, `${lib}-producer.py`), scripts.producer);
      writeFileSync(join(dir, `${lib}-consumer.py`), scripts.consumer);
    }
    cluster = await startTestCluster('cluster-python', 3);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const lib of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
    it(`${lib}: producer (acks=all) and consumer group over a SIGKILL and restart of their coordinator and leader: every acknowledged record consumed, in order per partition`, async () => {
      const topic = `py-${lib}`;
      await createTopic(cluster, topic, 3);
      const bootstrap = cluster.bootstrap().join(',');
      const run = (role: string) =>
        new PyProcess(spawn(PYTHON, [join(dir, `${lib}-${role}.py`), role, bootstrap, topic, `${topic}-group`], { stdio: ['pipe', 'pipe', 'pipe'] }));
      const consumer = run('consumer');
      const producer = run('producer');
      let victim = -1;
      try {
        await waitFor(() => producer.records().length >= 300 && consumer.records().length >= 100, 'records acknowledged and consumed', 60_000);
        // The group's coordinator, which also leads one of the three partitions.
        victim = await coordinatorOf(cluster, 1, `${topic}-group`);
        await cluster.brokers.get(victim)!.kill();
        const atKill = producer.records().length;
        // Acknowledgements go on from the other brokers once the victim's partitions moved.
        await waitFor(() => new Set(producer.records().slice(atKill).map((r) => r.p)).size === 3, 'acknowledgements on every partition after the kill', 60_000);
        await cluster.start(victim);
        const atRestart = producer.records().length;
        await waitFor(() => producer.records().length >= atRestart + 300, 'acknowledgements after the restart', 60_000);
      } finally {
        await producer.stop();
      }
      const acked = producer.records();
      const byValue = new Set<string>();
      await waitFor(
        () => {
          for (const r of consumer.records()) byValue.add(`${r.p}:${r.v}`);
          return acked.every((r) => byValue.has(`${r.p}:${r.v}`));
        },
        'every acknowledged record consumed',
        90_000,
      ).finally(() => consumer.stop());
      const failures = producer.lines.filter((l) => l.error !== undefined);
      for (const p of [0, 1, 2]) {
        // The partition's log order is the order the records were sent in (values grow per partition).
        const inLog = acked.filter((r) => r.p === p).sort((a, b) => a.o - b.o);
        const values = inLog.map((r) => r.v);
        expect(values).toEqual([...values].sort((a, b) => a - b));
        expect(new Set(inLog.map((r) => r.o)).size).toBe(inLog.length);
        // The consumer read the same record at each offset, and went through offsets one by one
        // (going back only when a rebalance restarted it at the committed offset).
        const valueAt = new Map(inLog.map((r) => [r.o, r.v]));
        const consumed = consumer.records().filter((r) => r.p === p);
        expect(consumed.filter((r) => valueAt.has(r.o) && valueAt.get(r.o) !== r.v)).toEqual([]);
        expect(consumed.filter((r, i) => i > 0 && r.o > consumed[i - 1]!.o + 1)).toEqual([]);
      }
      console.log(
        `${lib}: broker ${victim} SIGKILLed and restarted; ${acked.length} acknowledged, ${failures.length} failed sends, ${consumer.records().length} consumed (${consumer.records().length - byValue.size} re-delivered)`,
      );
    }, 300_000);
  }
});
