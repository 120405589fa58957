/**
 * A raw-socket Kafka client for load: Produce requests are encoded once (per partition, a
 * small header around the shared batch bytes) and re-sent unchanged but for the correlation
 * id, so the client costs almost no CPU. The broker assigns offsets, so re-sending the same
 * batch is a valid append every time (producer id -1: no sequence checks). Also a Fetch
 * follower for consume throughput and end-to-end latency.
 */
import { KafkaConnection } from '../../client/connection.js';
import { decodeResponseFrame, encodeRequestFrame } from '../../codec/client.js';
import { buildRecordBatch } from '../../codec/records/records.js';
import { StreamingFetchConnection } from './fetch-stream.js';

const PRODUCE_VERSION = 9;
const FETCH_VERSION = 11;

/** One v2 batch of `count` records of `size` value bytes (no key), without compression. */
export function makeBatch(count: number, size: number): Buffer {
  const value = Buffer.alloc(size, 0x61);
  for (let i = 0; i < size; i++) value[i] = 0x61 + (i % 26);
  return buildRecordBatch({ records: Array.from({ length: count }, () => ({ key: null, value })) });
}

/** Frame prefix and suffix around `batch` in a Produce request for (topic, partition). */
function produceFrameParts(topic: string, partition: number, batch: Buffer, acks: number): { prefix: Buffer; suffix: Buffer } {
  const frame = encodeRequestFrame(0, PRODUCE_VERSION, 0, 'bench', {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  for (let suffix = 0; suffix <= 8; suffix++) {
    const at = frame.length - suffix - batch.length;
    if (at > 0 && frame.subarray(at, at + batch.length).equals(batch)) {
      return { prefix: Buffer.from(frame.subarray(0, at)), suffix: Buffer.from(frame.subarray(at + batch.length)) };
    }
  }
  throw new Error('batch not found in the encoded Produce request');
}

/**
 * The load connection: the shared client (client/connection.ts) with no request timeout, so the
 * hot path arms no timer per request. Frames are sent in pieces (header, shared batch, suffix),
 * written corked, never joined.
 */
export function connectRaw(host: string, port: number): Promise<KafkaConnection> {
  return KafkaConnection.open({ host, port, clientId: 'bench', requestTimeoutMs: 0 });
}

export interface ProduceLoadOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number;
  connections: number;
  /** Requests outstanding per connection (closed loop). */
  inFlight: number;
  durationMs: number;
  batch: Buffer;
  recordsPerBatch: number;
  /** Open loop: requests per second over all connections (latency runs). */
  requestsPerSecond?: number;
  /** Called with (partition, baseOffset, sendTimeMs) for every acknowledged request. */
  onAck?: (partition: number, baseOffset: bigint, sentAt: number) => void;
  /** Where in its list of partitions each connection starts (default 0): a run can continue where the last one stopped. */
  startIndex?: number;
  /** Called each second with the bytes acknowledged so far. */
  onProgress?: (bytes: number, seconds: number) => void;
}

export interface ProduceLoadResult {
  seconds: number;
  requests: number;
  bytes: number;
  records: number;
  errors: number;
  errorCodes: Record<number, number>;
  latencyMs: number[];
  /** Send time of each entry of latencyMs, ms since the start of the load. */
  sentAtMs: number[];
}

export async function produceLoad(o: ProduceLoadOptions): Promise<ProduceLoadResult> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => connectRaw(o.host, o.port)));
  const parts = Array.from({ length: o.partitions }, (_, p) => produceFrameParts(o.topic, p, o.batch, -1));
  const result: ProduceLoadResult = { seconds: 0, requests: 0, bytes: 0, records: 0, errors: 0, errorCodes: {}, latencyMs: [], sentAtMs: [] };
  const start = performance.now();
  const deadline = start + o.durationMs;
  const progress = o.onProgress
    ? setInterval(() => o.onProgress!(result.bytes, (performance.now() - start) / 1000), 1000)
    : undefined;
  const interval = o.requestsPerSecond ? (1000 * o.connections) / o.requestsPerSecond : 0;

  const one = async (conn: KafkaConnection, partition: number): Promise<void> => {
    const { prefix, suffix } = parts[partition]!;
    const header = Buffer.from(prefix); // its own copy: the correlation id differs per request
    const correlationId = conn.allocateCorrelationId();
    header.writeInt32BE(correlationId, 8);
    const sentAt = performance.now();
    const response = await conn.sendFrame(correlationId, [header, o.batch, suffix]);
    const latency = performance.now() - sentAt;
    const { body } = decodeResponseFrame(0, PRODUCE_VERSION, response);
    const pr = body.responses[0]!.partitionResponses[0]!;
    result.requests++;
    if (pr.errorCode !== 0) {
      result.errors++;
      result.errorCodes[pr.errorCode] = (result.errorCodes[pr.errorCode] ?? 0) + 1;
      return;
    }
    result.latencyMs.push(latency);
    result.sentAtMs.push(sentAt - start);
    result.bytes += o.batch.length;
    result.records += o.recordsPerBatch;
    o.onAck?.(partition, pr.baseOffset, sentAt);
  };

  await Promise.all(
    conns.map(async (conn, c) => {
      // Connection c writes partitions c, c+C, c+2C... (or c mod P when there are fewer partitions).
      const mine: number[] = [];
      for (let p = c; p < o.partitions; p += o.connections) mine.push(p);
      if (mine.length === 0) mine.push(c % o.partitions);
      let next = o.startIndex ?? 0;
      const pick = () => mine[next++ % mine.length]!;
      if (interval > 0) {
        const pending: Promise<void>[] = [];
        let due = start + (interval * c) / o.connections;
        while (performance.now() < deadline && !conn.isClosed) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          due += interval;
          pending.push(one(conn, pick()));
          if (pending.length > 10_000) await Promise.all(pending.splice(0, 5_000));
        }
        await Promise.all(pending);
        return;
      }
      const lane = async () => {
        while (performance.now() < deadline && !conn.isClosed) await one(conn, pick());
      };
      await Promise.all(Array.from({ length: o.inFlight }, lane));
    }),
  );
  result.seconds = (performance.now() - start) / 1000;
  if (progress) clearInterval(progress);
  for (const c of conns) c.close();
  return result;
}

export interface FetchLoadOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number[];
  /** Start offset per partition (same order as partitions). */
  from: bigint[];
  /** Stop a partition at this offset (backlog); undefined = follow the tail until the deadline. */
  until?: bigint[];
  /** With `until`: start the partition again from `from` when it reaches `until`, until the deadline. */
  wrap?: boolean;
  durationMs: number;
  maxBytes: number;
  partitionMaxBytes: number;
  maxWaitMs: number;
  /** Called for every batch received: (partition, baseOffset, records, receiveTimeMs). */
  onBatch?: (partition: number, baseOffset: bigint, records: number, at: number) => void;
}

export interface FetchLoadResult {
  seconds: number;
  bytes: number;
  records: number;
  requests: number;
  errors: number;
}

/** One connection per partition, each fetching its partition in a loop (responses parsed as they stream in). */
export async function fetchLoad(o: FetchLoadOptions): Promise<FetchLoadResult> {
  const result: FetchLoadResult = { seconds: 0, bytes: 0, records: 0, requests: 0, errors: 0 };
  const start = performance.now();
  const deadline = start + o.durationMs;
  await Promise.all(
    o.partitions.map(async (partition, i) => {
      const conn = await StreamingFetchConnection.connect(o.host, o.port);
      let offset = o.from[i]!;
      const until = o.until?.[i];
      try {
        while (performance.now() < deadline) {
          if (until !== undefined && offset >= until) {
            if (!o.wrap || until <= o.from[i]!) break;
            offset = o.from[i]!;
          }
          const frame = encodeRequestFrame(1, FETCH_VERSION, conn.correlation++, 'bench', {
            clusterId: null,
            replicaId: -1,
            replicaState: { replicaId: -1, replicaEpoch: -1n },
            maxWaitMs: o.maxWaitMs,
            minBytes: 1,
            maxBytes: o.maxBytes,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [
              {
                topic: o.topic,
                topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
                partitions: [
                  { partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: o.partitionMaxBytes, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' },
                ],
              },
            ],
            forgottenTopicsData: [],
            rackId: '',
          });
          const answer = await conn.request(frame);
          const at = performance.now();
          result.requests++;
          if (answer.errorCode !== 0) {
            result.errors++;
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          for (const b of answer.batches) {
            if (b.lastOffset < offset) continue;
            result.bytes += b.bytes;
            result.records += b.records;
            o.onBatch?.(partition, b.baseOffset, b.records, at);
            offset = b.lastOffset + 1n;
          }
        }
      } finally {
        conn.close();
      }
    }),
  );
  result.seconds = (performance.now() - start) / 1000;
  return result;
}
