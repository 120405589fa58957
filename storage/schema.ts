/**
 * Table names and DDL of the log tables. Metadata tables are created by migrations
 * (storage/migrations/); log tables are created per topic per shard when a topic is created.
 */

/** Hex of the 16 bytes behind a base64url topic id. */
export function topicIdHex(topicId: string): string {
  const bytes = Buffer.from(topicId, 'base64url');
  if (bytes.length !== 16) throw new Error(`invalid topic id ${topicId}`);
  return bytes.toString('hex');
}

/** `log_<32 hex chars>`: one table per topic per shard. */
export function logTableName(topicId: string): string {
  return `log_${topicIdHex(topicId)}`;
}

export const LOG_TABLE_PATTERN = /^log_[0-9a-f]{32}$/;

/** Column definitions of a stored batch row, shared by log tables and the archive table. */
export const BATCH_COLUMNS_SQL = `  partition_id INT NOT NULL,
  base_offset BIGINT NOT NULL,
  last_offset BIGINT NOT NULL,
  record_count INT NOT NULL,
  first_timestamp BIGINT NOT NULL,
  max_timestamp BIGINT NOT NULL,
  producer_id BIGINT NOT NULL,
  producer_epoch SMALLINT NOT NULL,
  base_sequence INT NOT NULL,
  is_transactional TINYINT NOT NULL,
  is_control TINYINT NOT NULL,
  byte_size INT NOT NULL,
  payload LONGBLOB NOT NULL,`;

/**
 * Index of a partition's batches by producer: rebuilding producer state when a partition
 * loads reads each producer's last batches through it (storage/producer-state-load.ts).
 */
export const PRODUCER_INDEX = 'idx_producer';

/**
 * One row per stored record batch. The payload is the batch exactly as fetched (base offset and
 * leader epoch written in). PRIMARY KEY (partition_id, base_offset) makes a second writer's
 * append with the same offsets fail instead of forking the log. idx_last_offset finds "the batch
 * containing offset X" and, being covering for (byte_size, max_timestamp), lets reads size their
 * result and ListOffsets scan timestamps without touching payload pages. idx_producer: see above.
 */
export function createLogTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (
${BATCH_COLUMNS_SQL}
  PRIMARY KEY (partition_id, base_offset),
  KEY idx_last_offset (partition_id, last_offset, byte_size, max_timestamp),
  KEY ${PRODUCER_INDEX} (partition_id, producer_id, base_offset)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/** Columns written by an append, in INSERT order. */
export const LOG_INSERT_COLUMNS = [
  'partition_id',
  'base_offset',
  'last_offset',
  'record_count',
  'first_timestamp',
  'max_timestamp',
  'producer_id',
  'producer_epoch',
  'base_sequence',
  'is_transactional',
  'is_control',
  'byte_size',
  'payload',
] as const;
