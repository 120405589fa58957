import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { toBigInt } from './mysql.js';

/**
 * Committed consumer-group offsets in the metadata database (table group_offsets, migration
 * 0003). Keyed by (group id, topic name, partition) as Kafka keys them: clients commit by
 * name, and a topic deleted and re-created under the same name starts without offsets
 * because deleteTopics() runs on DeleteTopics.
 *
 * Group ids are stored as VARBINARY (exact bytes: case- and trailing-space-sensitive like
 * Kafka's Java strings); topic names are ASCII by Kafka's naming rules.
 */

/** Longest group id (UTF-8 bytes) the table holds. */
export const MAX_GROUP_ID_BYTES = 1024;

export interface OffsetRecord {
  topic: string;
  partition: number;
  offset: bigint;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  /** Milliseconds since the epoch. */
  commitTimestamp: number;
  /** Explicit expiry (OffsetCommit v2-v4 retention time), or null for the retention rule. */
  expireTimestamp: number | null;
}

export interface TopicPartitions {
  topic: string;
  partitions: readonly number[];
}

export interface ExpireRule {
  now: number;
  retentionMs: number;
  /**
   * When the retention period starts for offsets without an explicit expiry: the time the
   * group became empty, or null to count from each offset's commit timestamp.
   */
  since: number | null;
  /** Topics whose offsets are kept (a running consumer group's subscriptions). */
  keepTopics?: readonly string[];
}

export interface StoredGroup {
  groupId: string;
  offsetCount: number;
  lastCommitTimestamp: number;
}

export interface OffsetStore {
  /** Inserts or replaces the offsets, all in one statement per chunk. */
  commit(groupId: string, offsets: readonly OffsetRecord[]): Promise<void>;
  /** The group's offsets; all of them when `partitions` is null. Missing ones are absent. */
  fetch(groupId: string, partitions: readonly TopicPartitions[] | null): Promise<OffsetRecord[]>;
  /** Removes every offset of the groups; returns the number of rows removed. */
  deleteGroups(groupIds: readonly string[]): Promise<number>;
  /** Removes some offsets of one group (OffsetDelete). */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitions[]): Promise<number>;
  /** Removes every group's offsets of the topics (DeleteTopics). */
  deleteTopics(topics: readonly string[]): Promise<number>;
  /** Removes the group's offsets that the rule says have expired. */
  expireOffsets(groupId: string, rule: ExpireRule): Promise<number>;
  /** Every group that has at least one committed offset, with its latest commit time. */
  listGroups(): Promise<StoredGroup[]>;
  /** Those of the given groups that have at least one committed offset. */
  existingGroups(groupIds: readonly string[]): Promise<Set<string>>;
}

const COMMIT_CHUNK = 500;
const IN_CHUNK = 500;

const COLUMNS = `topic_name, partition_id, CAST(committed_offset AS CHAR) AS committed_offset, leader_epoch,
  metadata, CAST(commit_timestamp AS CHAR) AS commit_timestamp, CAST(expire_timestamp AS CHAR) AS expire_timestamp`;

export class MysqlOffsetStore implements OffsetStore {
  constructor(private readonly pool: Pool) {}

  async commit(groupId: string, offsets: readonly OffsetRecord[]): Promise<void> {
    for (let i = 0; i < offsets.length; i += COMMIT_CHUNK) {
      const chunk = offsets.slice(i, i + COMMIT_CHUNK);
      const values: unknown[] = [];
      for (const o of chunk) {
        values.push(
          groupId,
          o.topic,
          o.partition,
          o.offset.toString(),
          o.leaderEpoch,
          o.metadata,
          o.commitTimestamp,
          o.expireTimestamp,
        );
      }
      await this.pool.query(
        `INSERT INTO group_offsets
           (group_id, topic_name, partition_id, committed_offset, leader_epoch, metadata, commit_timestamp, expire_timestamp)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON DUPLICATE KEY UPDATE
           committed_offset = VALUES(committed_offset), leader_epoch = VALUES(leader_epoch),
           metadata = VALUES(metadata), commit_timestamp = VALUES(commit_timestamp),
           expire_timestamp = VALUES(expire_timestamp)`,
        values,
      );
    }
  }

  async fetch(groupId: string, partitions: readonly TopicPartitions[] | null): Promise<OffsetRecord[]> {
    if (partitions === null) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT ${COLUMNS} FROM group_offsets WHERE group_id = ? ORDER BY topic_name, partition_id`,
        [groupId],
      );
      return rows.map(toRecord);
    }
    const topics = [...new Set(partitions.filter((t) => t.partitions.length > 0 && isStorableTopic(t.topic)).map((t) => t.topic))];
    if (topics.length === 0) return [];
    const wanted = new Set<string>();
    for (const t of partitions) for (const p of t.partitions) wanted.add(`${p}:${t.topic}`);
    const out: OffsetRecord[] = [];
    for (let i = 0; i < topics.length; i += IN_CHUNK) {
      const chunk = topics.slice(i, i + IN_CHUNK);
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT ${COLUMNS} FROM group_offsets WHERE group_id = ? AND topic_name IN (?) ORDER BY topic_name, partition_id`,
        [groupId, chunk],
      );
      for (const row of rows) {
        const r = toRecord(row);
        if (wanted.has(`${r.partition}:${r.topic}`)) out.push(r);
      }
    }
    return out;
  }

  async deleteGroups(groupIds: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < groupIds.length; i += IN_CHUNK) {
      const [res] = await this.pool.query<ResultSetHeader>('DELETE FROM group_offsets WHERE group_id IN (?)', [
        groupIds.slice(i, i + IN_CHUNK),
      ]);
      removed += res.affectedRows;
    }
    return removed;
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitions[]): Promise<number> {
    const pairs: [string, number][] = [];
    for (const t of partitions) {
      if (!isStorableTopic(t.topic)) continue;
      for (const p of t.partitions) pairs.push([t.topic, p]);
    }
    let removed = 0;
    for (let i = 0; i < pairs.length; i += IN_CHUNK) {
      const [res] = await this.pool.query<ResultSetHeader>(
        'DELETE FROM group_offsets WHERE group_id = ? AND (topic_name, partition_id) IN (?)',
        [groupId, pairs.slice(i, i + IN_CHUNK)],
      );
      removed += res.affectedRows;
    }
    return removed;
  }

  async deleteTopics(topics: readonly string[]): Promise<number> {
    const names = topics.filter(isStorableTopic);
    let removed = 0;
    for (let i = 0; i < names.length; i += IN_CHUNK) {
      const [res] = await this.pool.query<ResultSetHeader>('DELETE FROM group_offsets WHERE topic_name IN (?)', [
        names.slice(i, i + IN_CHUNK),
      ]);
      removed += res.affectedRows;
    }
    return removed;
  }

  async expireOffsets(groupId: string, rule: ExpireRule): Promise<number> {
    const cutoff = rule.now - rule.retentionMs;
    const params: unknown[] = [groupId, rule.now];
    let base: string;
    if (rule.since === null) {
      base = 'commit_timestamp <= ?';
      params.push(cutoff);
    } else {
      // The whole group's retention runs from when it became empty.
      base = rule.since <= cutoff ? 'TRUE' : 'FALSE';
    }
    let keep = '';
    const kept = (rule.keepTopics ?? []).filter(isStorableTopic);
    if (kept.length > 0) {
      keep = ' AND topic_name NOT IN (?)';
      params.push(kept);
    }
    const [res] = await this.pool.query<ResultSetHeader>(
      `DELETE FROM group_offsets WHERE group_id = ?
         AND ((expire_timestamp IS NOT NULL AND expire_timestamp <= ?) OR (expire_timestamp IS NULL AND ${base}))${keep}`,
      params,
    );
    return res.affectedRows;
  }

  async listGroups(): Promise<StoredGroup[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT group_id, COUNT(*) AS n, CAST(MAX(commit_timestamp) AS CHAR) AS last_commit
         FROM group_offsets GROUP BY group_id`,
    );
    return rows.map((r) => ({
      groupId: groupIdOf(r.group_id),
      offsetCount: Number(r.n),
      lastCommitTimestamp: Number(r.last_commit),
    }));
  }

  async existingGroups(groupIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < groupIds.length; i += IN_CHUNK) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        'SELECT DISTINCT group_id FROM group_offsets WHERE group_id IN (?)',
        [groupIds.slice(i, i + IN_CHUNK)],
      );
      for (const r of rows) out.add(groupIdOf(r.group_id));
    }
    return out;
  }
}

/** Topic names the ASCII topic_name column can hold; any other name has no offsets. */
function isStorableTopic(name: string): boolean {
  return name.length > 0 && name.length <= 249 && /^[\x20-\x7e]+$/.test(name);
}

function groupIdOf(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function toRecord(row: RowDataPacket): OffsetRecord {
  return {
    topic: String(row.topic_name),
    partition: Number(row.partition_id),
    offset: toBigInt(row.committed_offset),
    leaderEpoch: Number(row.leader_epoch),
    metadata: row.metadata === null ? '' : String(row.metadata),
    commitTimestamp: Number(row.commit_timestamp),
    expireTimestamp: row.expire_timestamp === null ? null : Number(row.expire_timestamp),
  };
}
