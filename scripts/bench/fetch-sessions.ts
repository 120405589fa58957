/**
 * Bytes per poll of a consumer of many partitions, with incremental fetch sessions (KIP-227)
 * and without (docs/benchmarks.md):
 *
 *   npm run bench:fetch-sessions [-- --partitions 1000 --polls 50 --changed 0,10,100 --version 12 --first sessions|none]
 *
 * Starts a private MariaDB (managed, in a temp directory) and a broker process twice on it:
 * with sessions (max.incremental.fetch.session.cache.slots 1000, the default) and without (0).
 * One topic of `--partitions` partitions. The consumer behaves as Kafka's Java consumer
 * (FetchSessionHandler): a full fetch with epoch 0 naming every partition; while the broker
 * gives it a session, incremental fetches naming only partitions whose fetch offset moved;
 * when it gets session id 0, full fetches again. After catching up, each of `--polls` polls
 * first produces one small record to each of `--changed` partitions (a different set each
 * poll, one Produce request), then fetches (max wait 0) and checks it received exactly those
 * records. Reported per poll: request and response frame bytes (size prefix included), the
 * partitions the response carried, and the median poll time; and the ratios off / on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection } from '../../client/connection.js';
import { decodeResponseFrame, encodeRequestFrame } from '../../codec/client.js';
import { createCreateTopicsRequest } from '../../codec/generated/create-topics.js';
import { createFetchRequest, type FetchRequest, type FetchResponse } from '../../codec/generated/fetch.js';
import { createProduceRequest, type ProduceResponse } from '../../codec/generated/produce.js';
import { buildRecordBatch, decodeBatchRecords } from '../../codec/records/records.js';
import { startManagedMariadb } from '../../storage/managed-mariadb.js';
import { startBrokerProcess } from './broker-process.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const PARTITIONS = Number(arg('partitions', '1000'));
const POLLS = Number(arg('polls', '50'));
const CHANGED = arg('changed', '0,10,100').split(',').map(Number);
const VERSION = Number(arg('version', '12'));
const TOPIC = 'bench-fetch-sessions';
const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';
const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

interface PollFigures {
  requestBytes: number;
  responseBytes: number;
  partitionsAnswered: number;
  ms: number;
}

interface Summary {
  mode: 'sessions' | 'no sessions';
  changed: number;
  requestBytes: number;
  responseBytes: number;
  partitionsAnswered: number;
  medianMs: number;
}

/** A consumer of every partition of one topic, keeping a fetch session as the Java client does. */
class SessionConsumer {
  private sessionId = 0;
  private epoch = 0;
  readonly offsets: bigint[];
  /** Fetch offsets as last sent in this session (to send only what moved). */
  private sent = new Map<number, bigint>();

  constructor(
    private readonly conn: KafkaConnection,
    private readonly topicId: string,
    partitions: number,
  ) {
    this.offsets = new Array<bigint>(partitions).fill(0n);
  }

  async poll(): Promise<{ figures: PollFigures; records: Map<number, number> }> {
    const full = this.sessionId === 0;
    const partitions: number[] = [];
    for (let p = 0; p < this.offsets.length; p++) if (full || this.sent.get(p) !== this.offsets[p]) partitions.push(p);
    const request = createFetchRequest({
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: this.sessionId,
      sessionEpoch: full ? 0 : this.epoch,
      topics: partitions.length === 0 ? [] : [topicOf(TOPIC, VERSION >= 13 ? this.topicId : ZERO, partitions.map((p) => [p, this.offsets[p]!]))],
    });
    const id = this.conn.allocateCorrelationId();
    const frame = encodeRequestFrame(1, VERSION, id, 'bench-fetch-sessions', request);
    const started = performance.now();
    const answer = await this.conn.sendFrame(id, frame);
    const ms = performance.now() - started;
    const response = decodeResponseFrame(1, VERSION, answer).body as FetchResponse;
    if (response.errorCode !== 0) throw new Error(`fetch error ${response.errorCode}`);
    if (full) this.sent.clear();
    for (const p of partitions) this.sent.set(p, this.offsets[p]!);
    if (response.sessionId === 0) {
      this.sessionId = 0;
    } else {
      this.epoch = full ? 1 : this.epoch === 0x7fffffff ? 1 : this.epoch + 1;
      this.sessionId = response.sessionId;
    }
    const records = new Map<number, number>();
    let answered = 0;
    for (const t of response.responses) {
      for (const p of t.partitions) {
        answered++;
        if (p.errorCode !== 0) throw new Error(`partition ${p.partitionIndex} error ${p.errorCode}`);
        const batches = splitBatches(p.records);
        for (const b of batches) {
          const decoded = decodeBatchRecords(b);
          if (decoded.length === 0) continue;
          records.set(p.partitionIndex, (records.get(p.partitionIndex) ?? 0) + decoded.length);
          this.offsets[p.partitionIndex] = decoded[decoded.length - 1]!.offset + 1n;
        }
      }
    }
    return { figures: { requestBytes: frame.length, responseBytes: answer.length, partitionsAnswered: answered, ms }, records };
  }
}

function topicOf(topic: string, topicId: string, offsets: [number, bigint][]): FetchRequest['topics'][number] {
  return {
    topic,
    topicId,
    partitions: offsets.map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024, replicaDirectoryId: ZERO })),
  };
}

function splitBatches(records: Buffer | readonly Buffer[] | null): Buffer[] {
  if (records === null) return [];
  const buf = Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]);
  const out: Buffer[] = [];
  for (let pos = 0; pos + 12 <= buf.length; ) {
    const end = pos + 12 + buf.readInt32BE(pos + 8);
    if (end > buf.length) break;
    out.push(buf.subarray(pos, end));
    pos = end;
  }
  return out;
}

async function produceOne(conn: KafkaConnection, partitions: number[], poll: number): Promise<void> {
  if (partitions.length === 0) return;
  const response: ProduceResponse = await conn.request(
    0,
    9,
    createProduceRequest({
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: TOPIC, partitionData: partitions.map((index) => ({ index, records: buildRecordBatch({ records: [{ key: null, value: Buffer.from(`poll ${poll} partition ${index}`) }] }) })) }],
    }),
  );
  for (const t of response.responses) for (const p of t.partitionResponses) if (p.errorCode !== 0) throw new Error(`produce error ${p.errorCode}`);
}

async function runMode(mysqlUrl: string, mode: Summary['mode'], create: boolean): Promise<Summary[]> {
  const broker = await startBrokerProcess({ mysqlUrl, settings: { 'max.incremental.fetch.session.cache.slots': mode === 'sessions' ? '1000' : '0' }, log });
  const conn = await KafkaConnection.open({ host: '127.0.0.1', port: broker.port, clientId: 'bench-fetch-sessions', requestTimeoutMs: 60_000 });
  try {
    if (create) {
      const created = await conn.request(19, 5, createCreateTopicsRequest({ timeoutMs: 60_000, topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }] }));
      const error = created.topics[0]!.errorCode;
      if (error !== 0) throw new Error(`create topic error ${error}`);
    }
    const metadata = await conn.request(3, 12, { topics: [{ topicId: ZERO, name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false, includeClusterAuthorizedOperations: false });
    const topicId = metadata.topics[0]!.topicId;
    const consumer = new SessionConsumer(conn, topicId, PARTITIONS);
    // Catch up: poll until a poll brings no record.
    for (let i = 0; i < 100; i++) if ((await consumer.poll()).records.size === 0) break;
    const summaries: Summary[] = [];
    let next = 0;
    for (const changed of CHANGED) {
      const figures: PollFigures[] = [];
      for (let poll = 0; poll < POLLS; poll++) {
        const partitions = Array.from({ length: changed }, (_, i) => (next + i) % PARTITIONS);
        next = (next + changed) % PARTITIONS;
        await produceOne(conn, partitions, poll);
        const { figures: f, records } = await consumer.poll();
        const got = [...records.values()].reduce((a, b) => a + b, 0);
        if (got !== changed || partitions.some((p) => records.get(p) !== 1)) throw new Error(`${mode}: poll ${poll} received ${got} records, ${changed} produced`);
        figures.push(f);
      }
      const mean = (k: keyof PollFigures) => figures.reduce((a, f) => a + f[k], 0) / figures.length;
      const ms = figures.map((f) => f.ms).sort((a, b) => a - b);
      summaries.push({ mode, changed, requestBytes: mean('requestBytes'), responseBytes: mean('responseBytes'), partitionsAnswered: mean('partitionsAnswered'), medianMs: ms[Math.floor(ms.length / 2)]! });
      log(`${mode}, ${changed} changed: ${JSON.stringify(summaries[summaries.length - 1])}`);
    }
    return summaries;
  } finally {
    conn.close();
    await broker.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'kafka-mysql-bench-fetch-sessions-'));
const db = await startManagedMariadb({ dataDir: dir, port: 0 });
try {
  // Which broker runs first (and creates the topic): both orders, to see warm-up effects on the times.
  const offFirst = arg('first', 'sessions') === 'none';
  const off0 = offFirst ? await runMode(db.url, 'no sessions', true) : null;
  const on = await runMode(db.url, 'sessions', !offFirst);
  const off = off0 ?? (await runMode(db.url, 'no sessions', false));
  console.log(`Fetch v${VERSION}, ${PARTITIONS} partitions, ${POLLS} polls per row, one record produced to each changed partition before each poll\n`);
  console.log('| changed partitions per poll | request bytes/poll (no sessions -> sessions) | response bytes/poll (no sessions -> sessions) | partitions answered | median poll ms | request ratio | response ratio |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (let i = 0; i < on.length; i++) {
    const a = off[i]!;
    const b = on[i]!;
    const r = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log(
      `| ${b.changed} | ${r(a.requestBytes)} -> ${r(b.requestBytes)} | ${r(a.responseBytes)} -> ${r(b.responseBytes)} | ${r(a.partitionsAnswered)} -> ${r(b.partitionsAnswered)} | ${a.medianMs.toFixed(1)} -> ${b.medianMs.toFixed(1)} | ${(a.requestBytes / b.requestBytes).toFixed(1)}x | ${(a.responseBytes / b.responseBytes).toFixed(1)}x |`,
    );
  }
  console.log(JSON.stringify({ version: VERSION, partitions: PARTITIONS, polls: POLLS, on, off }));
} finally {
  await db.stop();
  await rm(dir, { recursive: true, force: true });
}
