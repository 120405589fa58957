import { decodeBatchRecords, type RecordHeader } from '../../codec/records/records.js';
import { KafkaError, ErrorCode } from '../../codec/error-codes.js';
import type { IndexQuery, MessageIndexStore } from '../../storage/message-index/index-store.js';
import { MAX_INDEXED_ID_BYTES } from '../../storage/message-index/index-store.js';
import type { LogManager, TopicCatalog } from '../../storage/types.js';
import { indexed } from './indexer.js';

/**
 * Lookups in the message index (the CLI's `messages find`; the REST interface can call the
 * same function): exactly one of key, message id, or a time range; the matching records read
 * back from the log with partition, offset, timestamp, key, value and headers, oldest first.
 * Bad queries throw QueryError (the caller answers 400 / exit 2); a topic without
 * message.index.enable throws KafkaError INVALID_REQUEST.
 */
export const MAX_FIND_LIMIT = 10_000;

export interface FoundMessage {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface FindRequest {
  topic: string;
  key?: Buffer;
  messageId?: Buffer;
  fromMs?: number;
  toMs?: number;
  limit: number;
}

export class QueryError extends Error {
  override name = 'QueryError';
}

export interface FindDeps {
  catalog: TopicCatalog;
  logs: LogManager;
  store: MessageIndexStore;
}

export function checkFindRequest(r: FindRequest): IndexQuery {
  const kinds = [r.key !== undefined, r.messageId !== undefined, r.fromMs !== undefined || r.toMs !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new QueryError('give exactly one of a key, a message id, or a time range (from and/or to)');
  if (!Number.isInteger(r.limit) || r.limit < 1 || r.limit > MAX_FIND_LIMIT) throw new QueryError(`limit must be 1-${MAX_FIND_LIMIT}`);
  if (r.messageId !== undefined && (r.messageId.length === 0 || r.messageId.length > MAX_INDEXED_ID_BYTES)) throw new QueryError(`a message id has 1-${MAX_INDEXED_ID_BYTES} bytes`);
  for (const t of [r.fromMs, r.toMs]) if (t !== undefined && (!Number.isSafeInteger(t) || t < 0)) throw new QueryError('times are milliseconds since the epoch (>= 0)');
  if (r.fromMs !== undefined && r.toMs !== undefined && r.fromMs > r.toMs) throw new QueryError('from is after to');
  if (r.key !== undefined) return { key: r.key };
  if (r.messageId !== undefined) return { messageId: r.messageId };
  return { ...(r.fromMs !== undefined ? { fromMs: r.fromMs } : {}), ...(r.toMs !== undefined ? { toMs: r.toMs } : {}) };
}

export async function findMessages(deps: FindDeps, r: FindRequest): Promise<FoundMessage[]> {
  const query = checkFindRequest(r);
  const topic = deps.catalog.getTopic(r.topic);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${r.topic}`);
  if (!indexed(topic)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `topic ${r.topic} has no message index (message.index.enable=true)`);
  // Key matches are by hash: ask for a few more and drop the records whose key differs.
  const positions = await deps.store.find(topic.topicId, topic.shardOfPartition, query, r.limit + (query.key ? 16 : 0));
  const out: FoundMessage[] = [];
  for (const pos of positions) {
    if (out.length >= r.limit) break;
    const log = await deps.logs.getLog(topic.topicId, pos.partition);
    if (pos.offset < log.logStartOffset()) continue;
    const { batches } = await log.read(pos.offset, 1, { maxOffset: log.highWatermark(), minOneBatch: true });
    const record = batches.length === 0 ? undefined : decodeBatchRecords(batches[0]!).find((x) => x.offset === pos.offset);
    if (record === undefined) continue; // compacted away
    if (query.key !== undefined && (record.key === null || !record.key.equals(query.key))) continue;
    out.push({ partition: pos.partition, offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers });
  }
  return out;
}
