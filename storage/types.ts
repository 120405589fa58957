import type { BatchInfo } from '../codec/records/batch-header.js';
import type { AbortedTxn, MarkerInfo, ProducerEntry } from './producer-state.js';
import type { AppendMessageIds } from './dedupe/message-ids.js';

/**
 * The storage layer's interfaces, in storage's own terms. The server programs against
 * these; storage/ implements them on MySQL. Expected failures are thrown as KafkaError
 * (codec/error-codes.ts) so handlers can put the code into the response.
 */

export type TopicConfigs = Record<string, string>;

export interface TopicRecord {
  name: string;
  /** Kafka topic id: 16 random bytes as unpadded base64url (22 chars). */
  topicId: string;
  partitionCount: number;
  /** Only the configs set explicitly on the topic; defaults come from the broker config. */
  configs: TopicConfigs;
  /** Shard index of each partition (index = partition number). */
  shardOfPartition: number[];
  /** Whether the topic is internal (e.g. __consumer_offsets equivalents). */
  isInternal: boolean;
}

export interface CreateTopicRequest {
  name: string;
  partitions: number;
  configs: TopicConfigs;
  /** Marks the topic internal (Metadata's is_internal); default false. */
  isInternal?: boolean;
}

export interface TopicCatalog {
  /** Throws KafkaError TOPIC_ALREADY_EXISTS / INVALID_TOPIC_EXCEPTION / INVALID_PARTITIONS. */
  createTopic(request: CreateTopicRequest): Promise<TopicRecord>;
  /** Removes the topic, its partitions' data and placement. Throws UNKNOWN_TOPIC_OR_PARTITION. */
  deleteTopic(name: string): Promise<TopicRecord>;
  /** From the in-memory view; call refresh() to pick up other brokers' changes. */
  getTopic(name: string): TopicRecord | undefined;
  getTopicById(topicId: string): TopicRecord | undefined;
  listTopics(): TopicRecord[];
  refresh(): Promise<void>;
  /** Replaces the topic's explicit configs (AlterConfigs semantics). */
  setTopicConfigs(name: string, configs: TopicConfigs): Promise<void>;
  /** Grows the partition count (CreatePartitions). */
  addPartitions(name: string, newTotal: number): Promise<TopicRecord>;
}

export interface AppendOptions {
  /** Topic uses message.timestamp.type=LogAppendTime: batches' max timestamp is rewritten. */
  logAppendTime: boolean;
  /** Leader epoch written into every appended batch. */
  leaderEpoch: number;
  /**
   * Who owns `records` after the call. true: they are handed over to the log, which may write
   * offsets into them and keep them in its tail cache without copying; the caller must not
   * hold, read or write them afterwards, and they must not pin much larger memory (e.g. a
   * request frame the connection allocated for that request alone). false or absent: the log
   * copies them, so the caller may reuse the memory as soon as append returns.
   */
  retainable?: boolean;
  /**
   * MySQL servers that must hold the records before they are acknowledged: the topic's
   * min.insync.replicas for acks=-1, else 1 (absent = 1). At 2 or more on a shard with
   * replicas, a commit no replica confirmed is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND, and
   * while the shard's semi-sync replication is off, NOT_ENOUGH_REPLICAS before anything is
   * written. A shard without replicas ignores it (one server is all it has).
   */
  minInsyncReplicas?: number;
  /**
   * Set only by the transaction coordinator: the batch is its end-of-transaction marker
   * (control batch). Control batches without it are refused with INVALID_RECORD.
   */
  marker?: MarkerInfo;
  /**
   * Topics with message.id.header (server/dedupe/): the message ids of the records appended,
   * stored in the same transaction as the rows (storage/dedupe/message-ids.ts).
   */
  messageIds?: AppendMessageIds;
}

export interface AppendResult {
  /** Offset assigned to the first record of the first batch. */
  baseOffset: bigint;
  /** The log append time used, or -1n when the topic uses CreateTime. */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  /** True when the batch was a retry of one of the producer's last batches: nothing was written, baseOffset is the original's. */
  duplicate?: boolean;
}

export interface ReadOptions {
  /** Upper bound (exclusive) of offsets to return: the high watermark or the LSO. */
  maxOffset: bigint;
  /** Return the first batch even when it is bigger than maxBytes (Kafka's KIP-74 rule). */
  minOneBatch: boolean;
}

export interface ReadResult {
  /** Whole stored batches, byte-identical to what was appended (offsets filled in). */
  batches: Buffer[];
  bytes: number;
}

export interface OffsetAndTimestamp {
  offset: bigint;
  timestamp: bigint;
}

/** One partition's log. Offsets are assigned here (this broker leads the partition). */
export interface PartitionLog {
  readonly topicId: string;
  readonly partition: number;
  highWatermark(): bigint;
  /** Next offset to assign; past the high watermark while commits await a replica's confirmation. Absent: the high watermark. */
  logEndOffset?(): bigint;
  logStartOffset(): bigint;
  /** The first offset of the earliest open transaction, or the high watermark when none is open. */
  lastStableOffset(): bigint;
  /** Aborted transactions overlapping [from, to) (Fetch with read_committed). */
  abortedTransactions(from: bigint, to: bigint): AbortedTxn[];
  /** The idempotent and transactional producers this partition knows (DescribeProducers). */
  producers(): ProducerEntry[];
  /**
   * Appends already validated batches (`records` holds them back to back, `batches` their
   * headers). Resolves after the MySQL commit that made them durable. `options.retainable`
   * says whether the log may keep `records` itself or must copy them.
   */
  append(records: Buffer, batches: BatchInfo[], options: AppendOptions): Promise<AppendResult>;
  /** Throws KafkaError OFFSET_OUT_OF_RANGE when fetchOffset is outside [logStart, log end]; reads nothing at or past the HW. */
  read(fetchOffset: bigint, maxBytes: number, options: ReadOptions): Promise<ReadResult>;
  /** First offset whose timestamp is >= ts (ListOffsets by time), or null if none. */
  offsetForTimestamp(timestamp: bigint): Promise<OffsetAndTimestamp | null>;
  /** Offset and timestamp of the record with the largest timestamp (ListOffsets -3). */
  maxTimestamp(): Promise<OffsetAndTimestamp | null>;
  /** Calls `listener` after each committed append; returns an unsubscribe function. Used by long-poll Fetch. */
  onAppend(listener: () => void): () => void;
  /** Several brokers: a read by a broker that does not lead the partition, its offsets from MySQL (follower fetching). */
  readAsFollower?(
    fetchOffset: bigint,
    maxBytes: number,
    readCommitted: boolean,
  ): Promise<{ highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint; batches: Buffer[]; bytes: number }>;
  /** Aborted transactions overlapping [from, to) as MySQL has them (a follower's read_committed Fetch). */
  abortedFromStorage?(from: bigint, to: bigint): Promise<AbortedTxn[]>;
}

export interface LogManager {
  /** Loads (recovering the next offset from MySQL) on first use. Throws UNKNOWN_TOPIC_OR_PARTITION. */
  getLog(topicId: string, partition: number): Promise<PartitionLog>;
}

/**
 * A log whose start can move forward (DeleteRecords, retention.ms / retention.bytes). The MySQL
 * logs returned by LogManager.getLog implement it.
 */
export interface TruncatablePartitionLog extends PartitionLog {
  /**
   * Persists a new log start offset; offsets below it become unreadable (OFFSET_OUT_OF_RANGE).
   * Only moves forward (a smaller value is ignored); beyond the high watermark throws
   * OFFSET_OUT_OF_RANGE. Resolves with the resulting log start offset.
   */
  setLogStartOffset(offset: bigint): Promise<bigint>;
}

export function isTruncatable(log: PartitionLog): log is TruncatablePartitionLog {
  return typeof (log as Partial<TruncatablePartitionLog>).setLogStartOffset === 'function';
}
