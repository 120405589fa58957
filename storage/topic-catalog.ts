import { createHash, randomBytes } from 'node:crypto';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { KafkaError } from '../codec/error-codes.js';
import { quoteIdent } from './mysql.js';
import { createLogTableSql, logTableName } from './schema.js';
import type { ShardMap } from './shards.js';
import { withTransaction } from './transaction.js';
import type { CreateTopicRequest, TopicCatalog, TopicConfigs, TopicRecord } from './types.js';

/**
 * Topics on MySQL: rows in `topics`, `topic_configs`, `partitions` of the metadata database,
 * and one log table per topic on each shard holding some of its partitions. Reads come from an
 * in-memory view, updated by this broker's own changes and by refresh().
 */

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Kafka's topic name rules; throws INVALID_TOPIC_EXCEPTION. */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw KafkaError.of('INVALID_TOPIC_EXCEPTION', 'Topic name is empty');
  if (name === '.' || name === '..') throw KafkaError.of('INVALID_TOPIC_EXCEPTION', `Topic name cannot be "${name}"`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw KafkaError.of('INVALID_TOPIC_EXCEPTION', `Topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`);
  }
  if (!LEGAL_NAME.test(name)) {
    throw KafkaError.of('INVALID_TOPIC_EXCEPTION', `Topic name "${name}" contains characters other than ASCII alphanumerics, '.', '_' and '-'`);
  }
}

/** First shard of a topic's round-robin placement: a stable hash of its name. */
export function firstShard(name: string, shardCount: number): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) % shardCount;
}

export function newTopicId(): string {
  return randomBytes(16).toString('base64url');
}

/** Placement and log start of one partition, for the log manager. */
export interface PartitionPlacement {
  shard: number;
  logStartOffset: bigint;
  leaderEpoch: number;
}

type TopicListener = (topic: TopicRecord) => void;

export class MysqlTopicCatalog implements TopicCatalog {
  private byName = new Map<string, TopicRecord>();
  private byId = new Map<string, TopicRecord>();
  private readonly deletedListeners = new Set<TopicListener>();

  constructor(
    private readonly shards: ShardMap,
    private readonly logger?: Logger,
  ) {}

  getTopic(name: string): TopicRecord | undefined {
    return this.byName.get(name);
  }

  getTopicById(topicId: string): TopicRecord | undefined {
    return this.byId.get(topicId);
  }

  listTopics(): TopicRecord[] {
    return [...this.byName.values()];
  }

  /** Called after this broker deleted a topic (the log manager forgets its logs). */
  onTopicDeleted(listener: TopicListener): () => void {
    this.deletedListeners.add(listener);
    return () => this.deletedListeners.delete(listener);
  }

  async refresh(): Promise<void> {
    const pool = this.shards.metadataPool;
    const [topics] = await pool.query<RowDataPacket[]>('SELECT topic_id, name, partition_count, is_internal FROM topics');
    const [parts] = await pool.query<RowDataPacket[]>('SELECT topic_id, partition_id, shard FROM partitions');
    const [configs] = await pool.query<RowDataPacket[]>('SELECT topic_id, config_key, config_value FROM topic_configs');
    const byName = new Map<string, TopicRecord>();
    const byId = new Map<string, TopicRecord>();
    for (const t of topics) {
      const rec: TopicRecord = {
        name: String(t.name),
        topicId: String(t.topic_id),
        partitionCount: Number(t.partition_count),
        configs: {},
        shardOfPartition: new Array<number>(Number(t.partition_count)).fill(0),
        isInternal: Number(t.is_internal) !== 0,
      };
      byName.set(rec.name, rec);
      byId.set(rec.topicId, rec);
    }
    for (const p of parts) {
      const rec = byId.get(String(p.topic_id));
      const idx = Number(p.partition_id);
      if (rec && idx < rec.partitionCount) rec.shardOfPartition[idx] = Number(p.shard);
    }
    for (const c of configs) {
      const rec = byId.get(String(c.topic_id));
      if (rec && c.config_value !== null) rec.configs[String(c.config_key)] = String(c.config_value);
    }
    this.byName = byName;
    this.byId = byId;
  }

  async createTopic(request: CreateTopicRequest): Promise<TopicRecord> {
    validateTopicName(request.name);
    if (!Number.isInteger(request.partitions) || request.partitions < 1) {
      throw KafkaError.of('INVALID_PARTITIONS', `Number of partitions must be at least 1, got ${request.partitions}`);
    }
    const existing = await this.lookupName(request.name);
    if (existing) throw this.conflict(request.name, existing);

    const topicId = newTopicId();
    const start = firstShard(request.name, this.shards.shardCount);
    const shardOfPartition = Array.from({ length: request.partitions }, (_, p) => (start + p) % this.shards.shardCount);
    const usedShards = [...new Set(shardOfPartition)];
    const table = logTableName(topicId);
    // Log tables first: once the metadata commits, appends may arrive at once.
    await Promise.all(usedShards.map((s) => this.shards.pool(s).query(createLogTableSql(table))));

    let nameTaken = false;
    try {
      await withTransaction(this.shards.metadataPool, async (conn) => {
        await conn
          .query('INSERT INTO topics (topic_id, name, canonical_name, partition_count, is_internal) VALUES (?, ?, ?, ?, ?)', [
            topicId,
            request.name,
            canonicalName(request.name),
            request.partitions,
            request.isInternal ? 1 : 0,
          ])
          .catch((err: unknown) => {
            // Another creator committed the same name (or a colliding one) first.
            nameTaken = (err as { code?: string }).code === 'ER_DUP_ENTRY';
            throw err;
          });
        await conn.query('INSERT INTO partitions (topic_id, partition_id, shard) VALUES ?', [
          shardOfPartition.map((s, p) => [topicId, p, s]),
        ]);
        await this.writeConfigs(conn, topicId, request.configs);
      });
    } catch (err) {
      await this.dropTables(topicId, usedShards).catch(() => undefined);
      if (!nameTaken) throw err;
      const winner = await this.lookupName(request.name);
      throw this.conflict(request.name, winner ?? request.name);
    }
    const rec: TopicRecord = {
      name: request.name,
      topicId,
      partitionCount: request.partitions,
      configs: { ...request.configs },
      shardOfPartition,
      isInternal: request.isInternal ?? false,
    };
    this.byName.set(rec.name, rec);
    this.byId.set(rec.topicId, rec);
    this.logger?.info({ topic: rec.name, topicId, partitions: rec.partitionCount }, 'topic created');
    return rec;
  }

  async deleteTopic(name: string): Promise<TopicRecord> {
    const rec = await withTransaction(this.shards.metadataPool, async (conn): Promise<TopicRecord> => {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT topic_id, partition_count, is_internal FROM topics WHERE name = ? FOR UPDATE',
        [name],
      );
      const row = rows[0];
      if (!row) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
      const topicId = String(row.topic_id);
      const [parts] = await conn.query<RowDataPacket[]>(
        'SELECT partition_id, shard FROM partitions WHERE topic_id = ? ORDER BY partition_id',
        [topicId],
      );
      await conn.query('DELETE FROM topic_configs WHERE topic_id = ?', [topicId]);
      await conn.query('DELETE FROM partitions WHERE topic_id = ?', [topicId]);
      await conn.query('DELETE FROM topics WHERE topic_id = ?', [topicId]);
      return {
        name,
        topicId,
        partitionCount: Number(row.partition_count),
        configs: { ...(this.byId.get(topicId)?.configs ?? {}) },
        shardOfPartition: parts.map((p) => Number(p.shard)),
        isInternal: Number(row.is_internal) !== 0,
      };
    });
    this.byName.delete(name);
    this.byId.delete(rec.topicId);
    for (const l of this.deletedListeners) l(rec);
    // Data goes after the metadata: a crash in between leaves an orphan table, never a topic without one.
    await this.dropTables(rec.topicId, [...new Set(rec.shardOfPartition)]);
    this.logger?.info({ topic: name, topicId: rec.topicId }, 'topic deleted');
    return rec;
  }

  async setTopicConfigs(name: string, configs: TopicConfigs): Promise<void> {
    const rec = this.byName.get(name) ?? (await this.reload(name));
    await withTransaction(this.shards.metadataPool, async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT topic_id FROM topics WHERE topic_id = ? FOR UPDATE', [rec.topicId]);
      if (rows.length === 0) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
      await conn.query('DELETE FROM topic_configs WHERE topic_id = ?', [rec.topicId]);
      await this.writeConfigs(conn, rec.topicId, configs);
    });
    rec.configs = { ...configs };
  }

  async addPartitions(name: string, newTotal: number): Promise<TopicRecord> {
    const known = this.byName.get(name) ?? (await this.reload(name));
    const rec = await withTransaction(this.shards.metadataPool, async (conn): Promise<TopicRecord> => {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT partition_count FROM topics WHERE topic_id = ? FOR UPDATE',
        [known.topicId],
      );
      if (rows.length === 0) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
      const current = Number(rows[0]!.partition_count);
      if (!Number.isInteger(newTotal) || newTotal <= current) {
        throw KafkaError.of('INVALID_PARTITIONS', `Topic currently has ${current} partitions, which is higher than or equal to the requested ${newTotal}`);
      }
      const [parts] = await conn.query<RowDataPacket[]>('SELECT partition_id, shard FROM partitions WHERE topic_id = ? ORDER BY partition_id', [known.topicId]);
      const shardOfPartition = parts.map((p) => Number(p.shard));
      const start = firstShard(name, this.shards.shardCount);
      const added: Array<[string, number, number]> = [];
      for (let p = current; p < newTotal; p++) {
        const s = (start + p) % this.shards.shardCount;
        shardOfPartition[p] = s;
        added.push([known.topicId, p, s]);
      }
      const newShards = [...new Set(added.map((a) => a[2]))];
      await Promise.all(newShards.map((s) => this.shards.pool(s).query(createLogTableSql(logTableName(known.topicId)))));
      await conn.query('INSERT INTO partitions (topic_id, partition_id, shard) VALUES ?', [added]);
      await conn.query('UPDATE topics SET partition_count = ? WHERE topic_id = ?', [newTotal, known.topicId]);
      return { ...known, partitionCount: newTotal, shardOfPartition };
    });
    this.byName.set(rec.name, rec);
    this.byId.set(rec.topicId, rec);
    return rec;
  }

  /** Every topic id in MySQL now, not the in-memory view: other brokers' new topics count too. */
  async storedTopicIds(): Promise<Set<string>> {
    const [rows] = await this.shards.metadataPool.query<RowDataPacket[]>('SELECT topic_id FROM topics');
    return new Set(rows.map((r) => String(r.topic_id)));
  }

  /** Whether MySQL has a topic with this id now. */
  async isTopicStored(topicId: string): Promise<boolean> {
    const [rows] = await this.shards.metadataPool.query<RowDataPacket[]>('SELECT 1 FROM topics WHERE topic_id = ?', [topicId]);
    return rows.length > 0;
  }

  /** Placement and log start of one partition, read from MySQL (used when a log is loaded). */
  async loadPartition(topicId: string, partition: number): Promise<PartitionPlacement | undefined> {
    const [rows] = await this.shards.metadataPool.query<RowDataPacket[]>(
      'SELECT shard, log_start_offset, leader_epoch FROM partitions WHERE topic_id = ? AND partition_id = ?',
      [topicId, partition],
    );
    const r = rows[0];
    if (!r) return undefined;
    return { shard: Number(r.shard), logStartOffset: BigInt(r.log_start_offset), leaderEpoch: Number(r.leader_epoch) };
  }

  /** Persists a partition's log start offset; it only moves forward. */
  async saveLogStartOffset(topicId: string, partition: number, offset: bigint): Promise<void> {
    await this.shards.metadataPool.query(
      'UPDATE partitions SET log_start_offset = GREATEST(log_start_offset, ?) WHERE topic_id = ? AND partition_id = ?',
      [offset.toString(), topicId, partition],
    );
  }

  private async reload(name: string): Promise<TopicRecord> {
    await this.refresh();
    const rec = this.byName.get(name);
    if (!rec) throw KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
    return rec;
  }

  private async writeConfigs(conn: PoolConnection, topicId: string, configs: TopicConfigs): Promise<void> {
    const entries = Object.entries(configs);
    if (entries.length === 0) return;
    await conn.query('INSERT INTO topic_configs (topic_id, config_key, config_value) VALUES ?', [
      entries.map(([k, v]) => [topicId, k, v]),
    ]);
  }

  /** The existing topic that a new name would collide with (same name, or same after '.' -> '_'). */
  private async lookupName(name: string): Promise<string | undefined> {
    const [rows] = await this.shards.metadataPool.query<RowDataPacket[]>(
      'SELECT name FROM topics WHERE name = ? OR canonical_name = ? LIMIT 1',
      [name, canonicalName(name)],
    );
    return rows[0] ? String(rows[0].name) : undefined;
  }

  private conflict(name: string, existing: string): KafkaError {
    if (existing === name) return KafkaError.of('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    return KafkaError.of('INVALID_TOPIC_EXCEPTION', `Topic '${name}' collides with existing topic: ${existing}`);
  }

  private async dropTables(topicId: string, shards: number[]): Promise<void> {
    const table = quoteIdent(logTableName(topicId));
    await Promise.all(shards.map((s) => this.shards.pool(s).query(`DROP TABLE IF EXISTS ${table}`)));
  }
}

/** Kafka treats '.' and '_' as colliding in topic names (metric names). */
export function canonicalName(name: string): string {
  return name.replace(/\./g, '_');
}
