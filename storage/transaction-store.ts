import type { Pool, RowDataPacket } from 'mysql2/promise';
import { withTransaction } from './transaction.js';

/**
 * Transaction coordinator state in the metadata database (tables txn_state and txn_offsets,
 * migration 11). The coordinator keeps a copy in memory and writes through: every change is
 * committed here before it is acted on or answered, so a restarted (or another) broker
 * continues from these rows. Completing a commit moves the transaction's offsets into
 * group_offsets in the same MySQL transaction that records CompleteCommit.
 */

/** Longest transactional id (UTF-8 bytes) stored. */
export const MAX_TRANSACTIONAL_ID_BYTES = 1024;

export type TxnStateName = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

export interface TxnPartition {
  topic: string;
  partition: number;
}

export interface TxnRecord {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  lastProducerId: bigint;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateName;
  /** When the open transaction started (first AddPartitions/AddOffsets), -1 when none. */
  txnStartMs: number;
  updatedMs: number;
  partitions: TxnPartition[];
  groups: string[];
}

export interface TxnOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface TransactionStore {
  loadAll(): Promise<TxnRecord[]>;
  /** One transactional id's row as MySQL holds it now, or null (another broker may coordinate it). */
  load(transactionalId: string): Promise<TxnRecord | null>;
  /** Inserts or replaces the row. */
  save(record: TxnRecord): Promise<void>;
  delete(transactionalId: string): Promise<void>;
  /** Pending offsets of the open transaction (TxnOffsetCommit): replaced per partition. */
  saveOffsets(transactionalId: string, groupId: string, offsets: readonly TxnOffset[]): Promise<void>;
  /**
   * Records the completed transaction (`record`, CompleteCommit or CompleteAbort): on commit the
   * pending offsets go into group_offsets, on abort they are dropped; one MySQL transaction.
   */
  complete(record: TxnRecord, commit: boolean): Promise<void>;
}

export class MysqlTransactionStore implements TransactionStore {
  constructor(private readonly pool: Pool) {}

  async loadAll(): Promise<TxnRecord[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(SELECT_STATE);
    return rows.map(toRecord);
  }

  async load(transactionalId: string): Promise<TxnRecord | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`${SELECT_STATE} WHERE transactional_id = ?`, [Buffer.from(transactionalId)]);
    return rows.length === 0 ? null : toRecord(rows[0]!);
  }

  async save(record: TxnRecord): Promise<void> {
    await this.pool.query(UPSERT, upsertParams(record));
  }

  async delete(transactionalId: string): Promise<void> {
    await withTransaction(this.pool, async (conn) => {
      await conn.query('DELETE FROM txn_offsets WHERE transactional_id = ?', [Buffer.from(transactionalId)]);
      await conn.query('DELETE FROM txn_state WHERE transactional_id = ?', [Buffer.from(transactionalId)]);
    });
  }

  async saveOffsets(transactionalId: string, groupId: string, offsets: readonly TxnOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const params: unknown[] = [];
    for (const o of offsets) {
      params.push(Buffer.from(transactionalId), Buffer.from(groupId), o.topic, o.partition, o.offset.toString(), o.leaderEpoch, o.metadata, o.commitTimestamp);
    }
    await this.pool.query(
      `INSERT INTO txn_offsets (transactional_id, group_id, topic_name, partition_id, committed_offset, leader_epoch, metadata, commit_timestamp)
       VALUES ${offsets.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE committed_offset = VALUES(committed_offset), leader_epoch = VALUES(leader_epoch),
         metadata = VALUES(metadata), commit_timestamp = VALUES(commit_timestamp)`,
      params,
    );
  }

  async complete(record: TxnRecord, commit: boolean): Promise<void> {
    const id = Buffer.from(record.transactionalId);
    await withTransaction(this.pool, async (conn) => {
      if (commit) {
        await conn.query(
          `INSERT INTO group_offsets (group_id, topic_name, partition_id, committed_offset, leader_epoch, metadata, commit_timestamp, expire_timestamp)
           SELECT group_id, topic_name, partition_id, committed_offset, leader_epoch, COALESCE(metadata, ''), commit_timestamp, NULL
           FROM txn_offsets WHERE transactional_id = ?
           ON DUPLICATE KEY UPDATE committed_offset = VALUES(committed_offset), leader_epoch = VALUES(leader_epoch),
             metadata = VALUES(metadata), commit_timestamp = VALUES(commit_timestamp), expire_timestamp = NULL`,
          [id],
        );
      }
      await conn.query('DELETE FROM txn_offsets WHERE transactional_id = ?', [id]);
      await conn.query(UPSERT, upsertParams(record));
    });
  }
}

const UPSERT = `INSERT INTO txn_state (transactional_id, producer_id, producer_epoch, last_producer_id, last_producer_epoch,
    timeout_ms, state, txn_start_ms, updated_ms, partitions, groups_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON DUPLICATE KEY UPDATE producer_id = VALUES(producer_id), producer_epoch = VALUES(producer_epoch),
    last_producer_id = VALUES(last_producer_id), last_producer_epoch = VALUES(last_producer_epoch), timeout_ms = VALUES(timeout_ms),
    state = VALUES(state), txn_start_ms = VALUES(txn_start_ms), updated_ms = VALUES(updated_ms), partitions = VALUES(partitions),
    groups_json = VALUES(groups_json)`;

function upsertParams(r: TxnRecord): unknown[] {
  return [
    Buffer.from(r.transactionalId),
    r.producerId.toString(),
    r.producerEpoch,
    r.lastProducerId.toString(),
    r.lastProducerEpoch,
    r.timeoutMs,
    r.state,
    r.txnStartMs,
    r.updatedMs,
    JSON.stringify(r.partitions),
    JSON.stringify(r.groups),
  ];
}

const SELECT_STATE = `SELECT transactional_id, CAST(producer_id AS CHAR) AS pid, producer_epoch, CAST(last_producer_id AS CHAR) AS lpid,
        last_producer_epoch, timeout_ms, state, CAST(txn_start_ms AS CHAR) AS started, CAST(updated_ms AS CHAR) AS updated,
        partitions, groups_json FROM txn_state`;

function toRecord(r: RowDataPacket): TxnRecord {
  return {
    transactionalId: (r.transactional_id as Buffer).toString('utf8'),
    producerId: BigInt(r.pid),
    producerEpoch: Number(r.producer_epoch),
    lastProducerId: BigInt(r.lpid),
    lastProducerEpoch: Number(r.last_producer_epoch),
    timeoutMs: Number(r.timeout_ms),
    state: String(r.state) as TxnStateName,
    txnStartMs: Number(r.started),
    updatedMs: Number(r.updated),
    partitions: JSON.parse(String(r.partitions)) as TxnPartition[],
    groups: JSON.parse(String(r.groups_json)) as string[],
  };
}
