/**
 * Load for the exactly-once phases of `npm run bench` (docs/benchmarks.md), on raw sockets like
 * the replayer, so the client costs little CPU and both sides of a ratio cost the same:
 * - produceSequenced: the replayer's load (connections writing their own partitions, requests
 *   pipelined) where every request carries its own copy of the batch with producer id, epoch
 *   and base sequence written in and the CRC recomputed. Idempotent: each connection is a
 *   producer with an id from InitProducerId and sequences per partition; plain: producer id -1,
 *   the same copy and CRC work, so the ratio measures the broker's sequence checks only.
 * - transactionalLoad: one transactional producer (pipelined like the above) that commits every
 *   `commitEveryMs`: AddPartitionsToTxn, produce until the interval ends, wait for the acks,
 *   EndTxn; the EndTxn round trips are the commit latencies.
 */
import type { KafkaConnection } from '../../client/connection.js';
import { decodeResponseFrame, encodeRequestFrame } from '../../codec/client.js';
import { TRANSACTIONAL_FLAG } from '../../codec/records/batch-header.js';
import { writeBatchCrc } from '../../codec/records/crc32c.js';
import { connectRaw } from './replayer.js';

const PRODUCE_VERSION = 9;

export interface SequencedLoadOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number;
  connections: number;
  inFlight: number;
  durationMs: number;
  batch: Buffer;
  recordsPerBatch: number;
}

export interface SequencedLoadResult {
  seconds: number;
  requests: number;
  bytes: number;
  records: number;
  errors: number;
  errorCodes: Record<number, number>;
}

/** Writes producer fields into a batch copy and fixes its CRC. */
function stamp(buf: Buffer, producerId: bigint, epoch: number, sequence: number, transactional: boolean): void {
  buf.writeBigInt64BE(producerId, 43);
  buf.writeInt16BE(epoch, 51);
  buf.writeInt32BE(sequence, 53);
  const attributes = buf.readInt16BE(21);
  buf.writeInt16BE(transactional ? attributes | TRANSACTIONAL_FLAG : attributes & ~TRANSACTIONAL_FLAG, 21);
  writeBatchCrc(buf);
}

/** Sends one Produce of `batch` to (topic, partition); resolves with the partition's error code. */
async function produceOnce(conn: KafkaConnection, topic: string, partition: number, batch: Buffer): Promise<number> {
  const correlationId = conn.allocateCorrelationId();
  const frame = encodeRequestFrame(0, PRODUCE_VERSION, correlationId, 'bench', {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  const response = await conn.sendFrame(correlationId, [frame]);
  return decodeResponseFrame(0, PRODUCE_VERSION, response).body.responses[0]!.partitionResponses[0]!.errorCode;
}

async function initProducer(conn: KafkaConnection, transactionalId: string | null): Promise<{ producerId: bigint; producerEpoch: number }> {
  const r = await conn.request(22, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  if (r.errorCode !== 0) throw new Error(`InitProducerId: error ${r.errorCode}`);
  return { producerId: r.producerId, producerEpoch: r.producerEpoch };
}

/** The partitions connection `c` of `n` writes: c, c+n, ... (or c mod P when there are fewer). */
function partitionsOf(c: number, n: number, partitions: number): number[] {
  const mine: number[] = [];
  for (let p = c; p < partitions; p += n) mine.push(p);
  if (mine.length === 0) mine.push(c % partitions);
  return mine;
}

export async function produceSequenced(o: SequencedLoadOptions & { idempotent: boolean }): Promise<SequencedLoadResult> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => connectRaw(o.host, o.port)));
  const result: SequencedLoadResult = { seconds: 0, requests: 0, bytes: 0, records: 0, errors: 0, errorCodes: {} };
  try {
    const producers = await Promise.all(conns.map((c) => (o.idempotent ? initProducer(c, null) : Promise.resolve({ producerId: -1n, producerEpoch: -1 }))));
    const start = performance.now();
    const deadline = start + o.durationMs;
    await Promise.all(
      conns.map(async (conn, c) => {
        const mine = partitionsOf(c, o.connections, o.partitions);
        const sequences = new Map<number, number>(mine.map((p) => [p, 0]));
        const { producerId, producerEpoch } = producers[c]!;
        let next = 0;
        // Each lane owns one copy of the batch: it is rewritten only after its request was answered.
        const lane = async () => {
          const buf = Buffer.from(o.batch);
          while (performance.now() < deadline && !conn.isClosed) {
            const partition = mine[next++ % mine.length]!;
            const sequence = o.idempotent ? sequences.get(partition)! : -1;
            if (o.idempotent) sequences.set(partition, (sequence + o.recordsPerBatch) % 2 ** 31);
            stamp(buf, producerId, producerEpoch, sequence, false);
            const code = await produceOnce(conn, o.topic, partition, buf);
            result.requests++;
            if (code !== 0) {
              result.errors++;
              result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
              continue;
            }
            result.bytes += buf.length;
            result.records += o.recordsPerBatch;
          }
        };
        await Promise.all(Array.from({ length: o.inFlight }, lane));
      }),
    );
    result.seconds = (performance.now() - start) / 1000;
    return result;
  } finally {
    for (const c of conns) c.close();
  }
}

export interface TransactionalLoadResult extends SequencedLoadResult {
  commits: number;
  commitMs: number[];
}

export async function transactionalLoad(o: SequencedLoadOptions & { commitEveryMs: number; transactionalId: string }): Promise<TransactionalLoadResult> {
  const conn = await connectRaw(o.host, o.port);
  const result: TransactionalLoadResult = { seconds: 0, requests: 0, bytes: 0, records: 0, errors: 0, errorCodes: {}, commits: 0, commitMs: [] };
  try {
    const { producerId, producerEpoch } = await initProducer(conn, o.transactionalId);
    const all = Array.from({ length: o.partitions }, (_, p) => p);
    const sequences = new Map<number, number>(all.map((p) => [p, 0]));
    const bufs = Array.from({ length: o.inFlight }, () => Buffer.from(o.batch));
    const start = performance.now();
    const deadline = start + o.durationMs;
    let next = 0;
    while (performance.now() < deadline && !conn.isClosed) {
      const added = await conn.request(24, 3, {
        v3AndBelowTransactionalId: o.transactionalId,
        v3AndBelowProducerId: producerId,
        v3AndBelowProducerEpoch: producerEpoch,
        v3AndBelowTopics: [{ name: o.topic, partitions: all }],
        transactions: [],
      });
      const addError = added.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition).find((p) => p.partitionErrorCode !== 0);
      if (addError) throw new Error(`AddPartitionsToTxn: error ${addError.partitionErrorCode}`);
      const cycleEnd = performance.now() + o.commitEveryMs;
      await Promise.all(
        bufs.map(async (buf) => {
          while (performance.now() < cycleEnd && !conn.isClosed) {
            const partition = all[next++ % all.length]!;
            const sequence = sequences.get(partition)!;
            sequences.set(partition, (sequence + o.recordsPerBatch) % 2 ** 31);
            stamp(buf, producerId, producerEpoch, sequence, true);
            const code = await produceOnce(conn, o.topic, partition, buf);
            result.requests++;
            if (code !== 0) {
              result.errors++;
              result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
              continue;
            }
            result.bytes += buf.length;
            result.records += o.recordsPerBatch;
          }
        }),
      );
      const t = performance.now();
      const ended = await conn.request(26, 3, { transactionalId: o.transactionalId, producerId, producerEpoch, committed: true });
      if (ended.errorCode !== 0) throw new Error(`EndTxn: error ${ended.errorCode}`);
      result.commitMs.push(performance.now() - t);
      result.commits++;
    }
    result.seconds = (performance.now() - start) / 1000;
    return result;
  } finally {
    conn.close();
  }
}
