/**
 * Browsing and searching a partition for the console. Browse: from an offset or a time (the
 * first offset at or after it), oldest first (forward from there) or newest first (the records
 * before it, latest first). A text filter (key, value and header text, case-insensitive), a
 * header filter (name or name=value) and a key filter look through a bounded window of
 * records (`scan`, at most MAX_SCAN, and MAX_SCAN_BYTES of stored batches) and answer where to
 * continue, so a partition of 10 million records is searched page by page, never loaded.
 * Lookups by key, message id or time on topics with message.index.enable go through the index
 * (server/message-index/find.ts), as `kafka-mysql messages find`. Reading needs READ on the
 * topic, as a Fetch does.
 */
import type { KafkaRecord } from '../../codec/records/records.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { TopicRecord } from '../../storage/types.js';
import { RestError } from '../http/errors.js';
import { readRange } from '../http/reader.js';
import type { RestContext } from '../http/context.js';
import { intParam } from '../http/router.js';
import { requirePartition } from '../http/links.js';
import { findMessages, QueryError, type FindRequest } from '../message-index/find.js';
import { Op, ResourceType, requireAllowed, type ConsoleRequest } from './context.js';

export const MAX_SCAN = 10_000;
const MAX_SCAN_BYTES = 16 * 1024 * 1024;
const MAX_LIMIT = 500;
/** Keys and values longer than this are cut for display (the full record is read with /v3 records). */
const SHOWN_BYTES = 256 * 1024;

export interface ShownRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  key_size: number;
  value_size: number;
  truncated: boolean;
  headers: Array<{ name: string; value: string | null }>;
}

function show(partition: number, r: { offset: bigint; timestamp: bigint; key: Buffer | null; value: Buffer | null; headers: Array<{ key: string; value: Buffer | null }> }): ShownRecord {
  const cut = (b: Buffer | null) => (b === null ? null : b.subarray(0, SHOWN_BYTES).toString('base64'));
  return {
    partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: cut(r.key),
    value: cut(r.value),
    key_size: r.key?.length ?? -1,
    value_size: r.value?.length ?? -1,
    truncated: (r.key?.length ?? 0) > SHOWN_BYTES || (r.value?.length ?? 0) > SHOWN_BYTES,
    headers: r.headers.map((h) => ({ name: h.key, value: h.value === null ? null : h.value.toString('base64') })),
  };
}

type Filter = (r: KafkaRecord) => boolean;

function buildFilter(query: URLSearchParams): Filter | null {
  const text = (query.get('q') ?? '').toLowerCase();
  const header = query.get('header') ?? '';
  const key = query.get('key');
  if (text.length > 1000 || header.length > 1000 || (key?.length ?? 0) > 1000) throw new RestError(400, 400, 'filters are at most 1000 characters');
  const checks: Filter[] = [];
  if (key !== null && key !== '') {
    const wanted = Buffer.from(key, 'utf8');
    checks.push((r) => r.key !== null && r.key.equals(wanted));
  }
  if (text !== '') {
    const has = (b: Buffer | null) => b !== null && b.toString('utf8').toLowerCase().includes(text);
    checks.push((r) => has(r.key) || has(r.value) || r.headers.some((h) => h.key.toLowerCase().includes(text) || has(h.value)));
  }
  if (header !== '') {
    const eq = header.indexOf('=');
    const name = eq < 0 ? header : header.slice(0, eq);
    const value = eq < 0 ? null : Buffer.from(header.slice(eq + 1), 'utf8');
    checks.push((r) => r.headers.some((h) => h.key === name && (value === null || (h.value !== null && h.value.equals(value)))));
  }
  return checks.length === 0 ? null : (r) => checks.every((c) => c(r));
}

export async function browseMessages(r: ConsoleRequest, topic: TopicRecord) {
  requireAllowed(r, Op.READ, ResourceType.TOPIC, topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const { broker } = r.state.deps;
  const partition = requirePartition(topic, r.query.get('partition') ?? '0');
  const newest = (r.query.get('order') ?? 'newest') === 'newest';
  const limit = Math.min(intParam(r.query.get('limit'), 'limit', 50, 1), MAX_LIMIT);
  const filter = buildFilter(r.query);
  const scan = filter ? Math.min(intParam(r.query.get('scan'), 'scan', 1000, 1), MAX_SCAN) : limit;
  const log = await broker.logs.getLog(topic.topicId, partition);
  const start = log.logStartOffset();
  const end = log.lastStableOffset();
  // Where to begin: an offset, a time (first offset at or after it), or the log's end or start.
  let from: bigint;
  if (r.query.get('offset')) from = BigInt(intParam(r.query.get('offset'), 'offset'));
  else if (r.query.get('time')) {
    const time = Date.parse(r.query.get('time')!);
    const ms = Number.isNaN(time) ? intParam(r.query.get('time'), 'time') : time;
    from = (await log.offsetForTimestamp(BigInt(ms)))?.offset ?? end;
  } else from = newest ? end : start;
  if (from < start) from = start;
  if (from > end) from = end;
  // Newest first: the window of `scan` records before `from`; oldest first: from `from` on.
  const windowStart = newest ? (from - BigInt(scan) > start ? from - BigInt(scan) : start) : from;
  const windowEnd = newest ? from : from + BigInt(scan) < end ? from + BigInt(scan) : end;
  const rest = { broker } as RestContext;
  const matched: KafkaRecord[] = [];
  let next = windowStart;
  let scanned = 0;
  let bytesLeft = MAX_SCAN_BYTES;
  while (next < windowEnd && bytesLeft > 0) {
    const read = await readRange(rest, topic, partition, next, Math.min(1000, Number(windowEnd - next)), Math.min(bytesLeft, 4 * 1024 * 1024));
    if (read.records.length === 0 && read.nextOffset <= next) break;
    for (const rec of read.records) {
      if (rec.offset >= windowEnd) break;
      scanned++;
      if (!filter || filter(rec)) matched.push(rec);
    }
    bytesLeft -= read.records.reduce((s, x) => s + (x.key?.length ?? 0) + (x.value?.length ?? 0), 0) + 1;
    next = read.nextOffset > windowEnd ? windowEnd : read.nextOffset;
    // Oldest first stops once the page is full; newest first needs the whole window.
    if (!newest && matched.length >= limit) break;
  }
  let records: KafkaRecord[];
  let cursor: bigint | null;
  if (newest) {
    records = matched.slice(-limit).reverse();
    // The next (older) page ends where this one's oldest shown record is, or at the window's start.
    const oldestShown = records.length > 0 && matched.length > limit ? records[records.length - 1]!.offset : windowStart;
    cursor = oldestShown > start ? oldestShown : null;
  } else {
    records = matched.slice(0, limit);
    const after = records.length >= limit ? records[records.length - 1]!.offset + 1n : next;
    cursor = after < end ? after : null;
  }
  return {
    topic: topic.name,
    partition,
    order: newest ? 'newest' : 'oldest',
    log_start_offset: Number(start),
    log_end_offset: Number(log.highWatermark()),
    scanned,
    scanned_from: Number(windowStart),
    scanned_to: Number(next),
    next_offset: cursor === null ? null : Number(cursor),
    records: records.map((rec) => show(partition, rec)),
  };
}

/** Index lookup: key, message id or a time range over every partition. */
export async function findIndexed(r: ConsoleRequest, topic: TopicRecord) {
  requireAllowed(r, Op.READ, ResourceType.TOPIC, topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const q = r.query;
  const request: FindRequest = { topic: topic.name, limit: Math.min(intParam(q.get('limit'), 'limit', 50, 1), MAX_LIMIT) };
  if (q.get('key')) request.key = Buffer.from(q.get('key')!, 'utf8');
  if (q.get('message_id')) request.messageId = Buffer.from(q.get('message_id')!, 'utf8');
  const time = (name: string) => {
    const v = q.get(name);
    if (!v) return undefined;
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isNaN(t)) throw new RestError(400, 400, `${name} must be a time (ISO 8601 or epoch ms)`);
    return t;
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined) request.fromMs = from;
  if (to !== undefined) request.toMs = to;
  const { broker, messageIndex } = r.state.deps;
  try {
    const found = await findMessages({ catalog: broker.catalog, logs: broker.logs, store: messageIndex! }, request);
    return { topic: topic.name, records: found.map((m) => show(m.partition, m)) };
  } catch (err) {
    if (err instanceof QueryError) throw new RestError(400, 400, err.message);
    if (err instanceof KafkaError && err.code === ErrorCode.INVALID_REQUEST) throw new RestError(400, 400, err.message, err.code);
    throw err;
  }
}
