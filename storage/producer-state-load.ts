import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { BatchInfo } from '../codec/records/batch-header.js';
import { quoteIdent } from './mysql.js';
import { appendBatch, appendMarker, PartitionProducerState, type AbortedTxn, type ProducerEntry } from './producer-state.js';
import { PRODUCER_INDEX } from './schema.js';

/**
 * Rebuilds a partition's producer state from MySQL when the partition loads: the log rows'
 * producer columns (through idx_producer: the producers of the partition, then each one's last
 * batches) and the shard's txn_aborted rows. Kafka replays its log from a snapshot; here the
 * index gives each producer's tail directly, so the cost is a few index dives per producer,
 * not a scan of the partition.
 */

/** Rows read per producer: enough for BATCHES_TO_RETAIN batches plus the marker before them. */
const ROWS_PER_PRODUCER = 6;
/** Producers per UNION query. */
const PRODUCERS_PER_QUERY = 100;

export interface ProducerStateLoad {
  /** A pool, or the connection of a reload (storage/partition-log.ts). */
  pool: Pick<Pool, 'query'>;
  table: string;
  topicId: string;
  partition: number;
  logStartOffset: bigint;
  nowMs: number;
  /** Producers whose last batch is older than this (and with no open transaction) are not restored. */
  expirationMs: number;
}

interface Row {
  producerId: bigint;
  epoch: number;
  baseSequence: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  transactional: boolean;
  control: boolean;
}

export async function loadProducerState(o: ProducerStateLoad): Promise<PartitionProducerState> {
  const state = new PartitionProducerState();
  const t = quoteIdent(o.table);
  const [ids] = await o.pool.query<RowDataPacket[]>(
    `SELECT CAST(producer_id AS CHAR) AS id FROM ${t} FORCE INDEX (${PRODUCER_INDEX})
     WHERE partition_id = ? AND producer_id >= 0 GROUP BY producer_id`,
    [o.partition],
  );
  const producerIds = ids.map((r) => String(r.id));
  for (let i = 0; i < producerIds.length; i += PRODUCERS_PER_QUERY) {
    const chunk = producerIds.slice(i, i + PRODUCERS_PER_QUERY);
    const sql = chunk
      .map(
        () => `(SELECT CAST(producer_id AS CHAR) AS pid, producer_epoch, base_sequence, CAST(base_offset AS CHAR) AS bo,
                CAST(last_offset AS CHAR) AS lo, CAST(max_timestamp AS CHAR) AS ts, is_transactional, is_control
                FROM ${t} FORCE INDEX (${PRODUCER_INDEX}) WHERE partition_id = ? AND producer_id = ? AND base_offset >= ?
                ORDER BY base_offset DESC LIMIT ${ROWS_PER_PRODUCER})`,
      )
      .join(' UNION ALL ');
    const params: (number | string)[] = [];
    for (const id of chunk) params.push(o.partition, id, o.logStartOffset.toString());
    const [rows] = await o.pool.query<RowDataPacket[]>(sql, params);
    const byProducer = new Map<bigint, Row[]>();
    for (const r of rows) {
      const row: Row = {
        producerId: BigInt(r.pid),
        epoch: Number(r.producer_epoch),
        baseSequence: Number(r.base_sequence),
        baseOffset: BigInt(r.bo),
        lastOffset: BigInt(r.lo),
        maxTimestamp: BigInt(r.ts),
        transactional: Number(r.is_transactional) === 1,
        control: Number(r.is_control) === 1,
      };
      let list = byProducer.get(row.producerId);
      if (!list) byProducer.set(row.producerId, (list = []));
      list.push(row);
    }
    for (const [producerId, list] of byProducer) {
      list.sort((a, b) => (a.baseOffset < b.baseOffset ? -1 : 1));
      let entry = replay(list);
      if (!entry) continue;
      const last = list[list.length - 1]!;
      if (entry.txnFirstOffset < 0n && BigInt(o.nowMs) - last.maxTimestamp >= BigInt(o.expirationMs)) continue;
      // An open transaction may have started before the rows read: find its first batch.
      if (entry.txnFirstOffset >= 0n && list.length === ROWS_PER_PRODUCER && !list.some((r) => r.control)) {
        entry = { ...entry, txnFirstOffset: await openTxnStart(o, t, producerId) };
      }
      state.set(entry);
    }
  }
  const [aborted] = await o.pool.query<RowDataPacket[]>(
    `SELECT CAST(producer_id AS CHAR) AS pid, CAST(first_offset AS CHAR) AS fo, CAST(last_offset AS CHAR) AS lo
     FROM txn_aborted WHERE topic_id = ? AND partition_id = ? AND last_offset >= ? ORDER BY last_offset`,
    [o.topicId, o.partition, o.logStartOffset.toString()],
  );
  state.addAborted(aborted.map((r): AbortedTxn => ({ producerId: BigInt(r.pid), firstOffset: BigInt(r.fo), lastOffset: BigInt(r.lo) })));
  return state;
}

/** Replays a producer's rows (oldest first) as Kafka replays its log: no checks, state only. */
function replay(rows: Row[]): ProducerEntry | undefined {
  let entry: ProducerEntry | undefined;
  for (const r of rows) {
    const b = asBatch(r);
    entry = r.control ? appendMarker(entry, b, { commit: true, coordinatorEpoch: -1 }, r.baseOffset, undefined) : appendBatch(entry, b, r.baseOffset, r.lastOffset);
  }
  return entry;
}

function asBatch(r: Row): BatchInfo {
  return {
    position: 0,
    size: 0,
    baseOffset: r.baseOffset,
    partitionLeaderEpoch: 0,
    magic: 2,
    attributes: 0,
    lastOffsetDelta: Number(r.lastOffset - r.baseOffset),
    baseTimestamp: r.maxTimestamp,
    maxTimestamp: r.maxTimestamp,
    producerId: r.producerId,
    producerEpoch: r.epoch,
    baseSequence: r.baseSequence,
    recordCount: 0,
    compression: 0,
    isTransactional: r.transactional,
    isControl: r.control,
    logAppendTime: false,
  };
}

/** First transactional batch of the producer after its last marker. */
async function openTxnStart(o: ProducerStateLoad, t: string, producerId: bigint): Promise<bigint> {
  const [rows] = await o.pool.query<RowDataPacket[]>(
    `SELECT CAST(MIN(base_offset) AS CHAR) AS f FROM ${t} FORCE INDEX (${PRODUCER_INDEX})
     WHERE partition_id = ? AND producer_id = ? AND is_transactional = 1 AND base_offset >= ? AND base_offset > COALESCE(
       (SELECT MAX(base_offset) FROM ${t} FORCE INDEX (${PRODUCER_INDEX}) WHERE partition_id = ? AND producer_id = ? AND is_control = 1), -1)`,
    [o.partition, producerId.toString(), o.logStartOffset.toString(), o.partition, producerId.toString()],
  );
  const f = rows[0]?.f;
  return f === null || f === undefined ? -1n : BigInt(f);
}
