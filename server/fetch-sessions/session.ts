/**
 * One incremental fetch session (KIP-227), as Kafka 3.9's FetchSession and CachedPartition
 * keep it: the partitions a client fetches, in order, with the request parameters it last sent
 * for each and the high watermark, last stable offset and log start offset it was last told.
 * An incremental request names only what changed; every other partition is fetched with its
 * cached parameters, and the response leaves out partitions with nothing new to say.
 *
 * Partitions are keyed by topic id when the session was made at Fetch v13+ (topic ids), by
 * topic name before, as Kafka's CachedPartition equality does.
 */
import type { FetchResponsePartitionData } from '../../codec/generated/fetch.js';

/** Request epoch of a full fetch that asks for a new session. */
export const INITIAL_EPOCH = 0;
/** Request epoch of a full fetch that wants no session (and closes the one it names). */
export const FINAL_EPOCH = -1;
/** Session id meaning "no session". */
export const INVALID_SESSION_ID = 0;

/** The epoch after `epoch`: Kafka's FetchMetadata.nextEpoch (wraps from 2^31-1 to 1; FINAL stays FINAL). */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  if (epoch === 0x7fffffff) return 1;
  return epoch + 1;
}

/** What a fetch request says about one partition (the fields a session caches). */
export interface PartitionFetch {
  topic: string;
  topicId: string;
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  logStartOffset: bigint;
  partitionMaxBytes: number;
}

export function partitionKey(usesTopicIds: boolean, topic: string, topicId: string, partition: number): string {
  // NUL cannot appear in a topic name or a base64url id, so keys never collide.
  return `${usesTopicIds ? topicId : topic}\u0000${partition}`;
}

export class CachedPartition implements PartitionFetch {
  topic: string;
  topicId: string;
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  logStartOffset: bigint;
  partitionMaxBytes: number;
  /** What the client was last told; -1 when never told, or after an error (so it is re-sent). */
  highWatermark = -1n;
  lastStableOffset = -1n;
  localLogStartOffset = -1n;

  constructor(request: PartitionFetch) {
    this.topic = request.topic;
    this.topicId = request.topicId;
    this.partition = request.partition;
    this.currentLeaderEpoch = request.currentLeaderEpoch;
    this.fetchOffset = request.fetchOffset;
    this.lastFetchedEpoch = request.lastFetchedEpoch;
    this.logStartOffset = request.logStartOffset;
    this.partitionMaxBytes = request.partitionMaxBytes;
  }

  updateRequest(request: PartitionFetch): void {
    this.currentLeaderEpoch = request.currentLeaderEpoch;
    this.fetchOffset = request.fetchOffset;
    this.lastFetchedEpoch = request.lastFetchedEpoch;
    this.logStartOffset = request.logStartOffset;
    this.partitionMaxBytes = request.partitionMaxBytes;
  }

  /**
   * Whether the response must carry this partition (Kafka's maybeUpdateResponseData): it has
   * records, an error, a preferred read replica or a diverging epoch, or its high watermark,
   * last stable offset or log start offset differ from what the client was last told. With
   * `update`, remembers what the client is now told. Kafka 3.9 does not compare the last
   * stable offset (there it moves only with the high watermark, since transaction markers take
   * offsets); comparing it too can only add a partition to a response, never drop one.
   */
  mustRespond(response: FetchResponsePartitionData, update: boolean): boolean {
    let must = recordsSize(response.records) > 0;
    if (this.highWatermark !== response.highWatermark) {
      must = true;
      if (update) this.highWatermark = response.highWatermark;
    }
    if (this.lastStableOffset !== response.lastStableOffset) {
      must = true;
      if (update) this.lastStableOffset = response.lastStableOffset;
    }
    if (this.localLogStartOffset !== response.logStartOffset) {
      must = true;
      if (update) this.localLogStartOffset = response.logStartOffset;
    }
    if (response.preferredReadReplica >= 0) must = true;
    if (response.errorCode !== 0) {
      // The next answer after the error goes away must carry the partition again.
      if (update) this.highWatermark = -1n;
      must = true;
    }
    if (response.divergingEpoch.epoch >= 0) must = true;
    return must;
  }
}

export function recordsSize(records: FetchResponsePartitionData['records']): number {
  if (records === null) return 0;
  if (Buffer.isBuffer(records)) return records.length;
  let size = 0;
  for (const b of records as readonly Buffer[]) size += b.length;
  return size;
}

export class FetchSession {
  /** Insertion-ordered: the order partitions are read in, and so the response budget's order. */
  readonly partitions = new Map<string, CachedPartition>();
  lastUsedMs: number;
  /** Partition count when last touched by the cache (the size its eviction key uses); -1: not cached. */
  cachedSize = -1;
  /** Set by the cache at each touch, as Kafka's evictable maps are. */
  evictableByAll = false;
  evictableByPrivileged = false;

  constructor(
    readonly id: number,
    readonly privileged: boolean,
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
    public epoch: number,
  ) {
    this.lastUsedMs = creationMs;
  }

  get size(): number {
    return this.partitions.size;
  }

  keyOf(p: { topic: string; topicId: string; partition: number }): string {
    return partitionKey(this.usesTopicIds, p.topic, p.topicId, p.partition);
  }

  add(request: PartitionFetch): CachedPartition {
    const cached = new CachedPartition(request);
    this.partitions.set(this.keyOf(request), cached);
    return cached;
  }

  /** An incremental request's changes: new or updated partitions, then forgotten ones. */
  update(changes: readonly PartitionFetch[], forgotten: readonly { topic: string; topicId: string; partition: number }[]): void {
    for (const change of changes) {
      const cached = this.partitions.get(this.keyOf(change));
      if (cached) cached.updateRequest(change);
      else this.add(change);
    }
    for (const p of forgotten) this.partitions.delete(this.keyOf(p));
  }

  /** Moves a partition to the end of the order (Kafka does so for each partition that returned records, so others go first next time). */
  moveToEnd(cached: CachedPartition): void {
    const key = this.keyOf(cached);
    this.partitions.delete(key);
    this.partitions.set(key, cached);
  }
}
