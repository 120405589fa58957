import type { Logger } from 'pino';
import { ErrorCode } from '../../codec/error-codes.js';
import { MAX_GROUP_ID_BYTES, type ExpireRule, type OffsetRecord, type OffsetStore, type TopicPartitions } from '../../storage/offset-store.js';
import type { Effect } from './effects.js';
import type { Group } from './group.js';
import type {
  CommitParams,
  DeleteOffsetsResult,
  FetchResult,
  FetchTopic,
  FetchedOffset,
  GroupCoordinatorConfig,
  PartitionError,
} from './types.js';

/** Group ids the group_offsets key column can hold (1024 UTF-8 bytes); '' only where Kafka allows it. */
export function invalidGroupId(groupId: string, allowEmpty: boolean): boolean {
  if (groupId === '') return !allowEmpty;
  return Buffer.byteLength(groupId, 'utf8') > MAX_GROUP_ID_BYTES;
}

/**
 * The store calls of each group in the order they were accepted: a call runs after the
 * group's earlier ones have settled, so a commit never overtakes a deletion before it.
 */
export class StoreQueue {
  private readonly queues = new Map<string, Promise<void>>();

  /** Runs `fn` after the group's earlier store calls have settled. */
  run<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(groupId) ?? Promise.resolve();
    const run = previous.then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(groupId, settled);
    void settled.then(() => {
      if (this.queues.get(groupId) === settled) this.queues.delete(groupId);
    });
    return run;
  }
}

/** What the offset half needs of the coordinator: its groups, and carrying out their effects. */
export interface OffsetsHost {
  readonly store: OffsetStore;
  readonly logger: Logger;
  readonly config: Required<GroupCoordinatorConfig>;
  now(): number;
  /** The in-memory group, if any. */
  group(groupId: string): Group | undefined;
  groups(): Iterable<Group>;
  createGroup(groupId: string): Group;
  removeGroup(group: Group): void;
  apply(group: Group, effects: readonly Effect[]): void;
}

/**
 * Committed offsets of the coordinator's groups (OffsetCommit, OffsetFetch, OffsetDelete,
 * DeleteTopics, offsets.retention.minutes), kept in MySQL through OffsetStore. Commits are
 * validated against the group's membership (Group.validateCommit); store calls of one group
 * go through the coordinator's StoreQueue.
 */
export class GroupOffsets {
  constructor(
    private readonly host: OffsetsHost,
    private readonly queue: StoreQueue,
  ) {}

  async commit(p: CommitParams): Promise<PartitionError[]> {
    const all = (errorCode: number): PartitionError[] =>
      p.partitions.map((x) => ({ topic: x.topic, partition: x.partition, errorCode }));
    if (invalidGroupId(p.groupId, true)) return all(ErrorCode.INVALID_GROUP_ID);
    let group = this.host.group(p.groupId);
    if (!group) {
      if (p.generationId >= 0) {
        // A generation for a group without members: a group known only by its offsets
        // (Kafka would have loaded it, Empty) rejects the member, any other the generation.
        try {
          const known = await this.host.store.existingGroups([p.groupId]);
          return all(known.has(p.groupId) ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.ILLEGAL_GENERATION);
        } catch (err) {
          this.host.logger.error({ err, groupId: p.groupId }, 'offset store failed');
          return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
      }
      // A simple (group-less) commit creates an Empty group, as in Kafka.
      group = this.host.createGroup(p.groupId);
    }
    const { errorCode, effects } = group.validateCommit(p.memberId, p.groupInstanceId, p.generationId);
    this.host.apply(group, effects);
    if (errorCode !== ErrorCode.NONE) return all(errorCode);

    const now = this.host.now();
    const records: OffsetRecord[] = [];
    const results: PartitionError[] = [];
    for (const x of p.partitions) {
      const tooLarge = x.metadata !== null && x.metadata.length > this.host.config.offsetMetadataMaxBytes;
      results.push({
        topic: x.topic,
        partition: x.partition,
        errorCode: tooLarge ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE,
      });
      if (tooLarge) continue;
      records.push({
        topic: x.topic,
        partition: x.partition,
        offset: x.offset,
        leaderEpoch: x.leaderEpoch < 0 ? -1 : x.leaderEpoch,
        metadata: x.metadata ?? '',
        commitTimestamp: x.commitTimestamp === -1 ? now : x.commitTimestamp,
        expireTimestamp: p.retentionTimeMs === -1 ? null : now + p.retentionTimeMs,
      });
    }
    if (records.length > 0) {
      try {
        await this.queue.run(p.groupId, () => this.host.store.commit(p.groupId, records));
      } catch (err) {
        this.host.logger.error({ err, groupId: p.groupId }, 'offset commit failed');
        for (const r of results) if (r.errorCode === ErrorCode.NONE) r.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return results;
  }

  /**
   * Committed offsets of a group: every committed partition when `topics` is null, else the
   * requested ones, -1 where nothing is committed. Offsets are returned whatever the group's
   * state, as Kafka does.
   */
  async fetch(groupId: string, topics: readonly FetchTopic[] | null): Promise<FetchResult> {
    if (invalidGroupId(groupId, true)) return { errorCode: ErrorCode.INVALID_GROUP_ID, offsets: [] };
    let rows: OffsetRecord[];
    try {
      rows = await this.queue.run(groupId, () => this.host.store.fetch(groupId, topics));
    } catch (err) {
      this.host.logger.error({ err, groupId }, 'offset fetch failed');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, offsets: [] };
    }
    const toFetched = (r: OffsetRecord): FetchedOffset => ({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      leaderEpoch: r.leaderEpoch,
      metadata: r.metadata,
      errorCode: ErrorCode.NONE,
    });
    if (topics === null) return { errorCode: ErrorCode.NONE, offsets: rows.map(toFetched) };
    const found = new Map<string, OffsetRecord>();
    for (const r of rows) found.set(`${r.partition}:${r.topic}`, r);
    const offsets: FetchedOffset[] = [];
    for (const t of topics) {
      for (const partition of t.partitions) {
        const r = found.get(`${partition}:${t.topic}`);
        offsets.push(
          r
            ? toFetched(r)
            : { topic: t.topic, partition, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
        );
      }
    }
    return { errorCode: ErrorCode.NONE, offsets };
  }

  /** OffsetDelete: removes offsets of partitions the group does not consume. */
  async deleteOffsets(groupId: string, topics: readonly TopicPartitions[]): Promise<DeleteOffsetsResult> {
    if (invalidGroupId(groupId, false)) return { errorCode: ErrorCode.INVALID_GROUP_ID, partitions: [] };
    let group = this.host.group(groupId);
    if (!group) {
      let known: Set<string>;
      try {
        known = await this.host.store.existingGroups([groupId]);
      } catch (err) {
        this.host.logger.error({ err, groupId }, 'offset store failed');
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, partitions: [] };
      }
      group = this.host.group(groupId);
      if (!group && !known.has(groupId)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    }
    const partitions: PartitionError[] = [];
    const eligible: TopicPartitions[] = [];
    if (group && group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    if (group && group.state !== 'Empty') {
      if (!group.isConsumerGroup()) return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
      for (const t of topics) {
        if (group.isSubscribedTo(t.topic)) {
          for (const partition of t.partitions) partitions.push({ topic: t.topic, partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
        } else {
          eligible.push(t);
        }
      }
    } else {
      eligible.push(...topics);
    }
    if (eligible.length > 0) {
      let errorCode: number = ErrorCode.NONE;
      try {
        await this.queue.run(groupId, () => this.host.store.deleteOffsets(groupId, eligible));
      } catch (err) {
        this.host.logger.error({ err, groupId }, 'offset delete failed');
        errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      for (const t of eligible) for (const partition of t.partitions) partitions.push({ topic: t.topic, partition, errorCode });
    }
    return { errorCode: ErrorCode.NONE, partitions };
  }

  /** DeleteTopics: every group's offsets of the topics go. */
  async onTopicsDeleted(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const removed = await this.host.store.deleteTopics(topics);
    this.host.logger.info({ topics, removed }, 'removed committed offsets of deleted topics');
  }

  /**
   * offsets.retention.minutes, as Kafka applies it: an Empty group's offsets expire that
   * long after it became empty (for a group known only through offsets: after its latest
   * commit); a simple group's, that long after each commit; a Stable consumer group's, only
   * for topics it no longer subscribes to. Explicit expire timestamps (OffsetCommit v2-v4)
   * win. Empty groups left without offsets are removed. Returns the offsets removed.
   */
  async expire(): Promise<number> {
    const now = this.host.now();
    const retentionMs = this.host.config.offsetsRetentionMinutes * 60_000;
    let removed = 0;
    for (const stored of await this.host.store.listGroups()) {
      const group = this.host.group(stored.groupId);
      let rule: ExpireRule | null;
      if (!group) rule = { now, retentionMs, since: stored.lastCommitTimestamp };
      else if (group.protocolType === null) rule = { now, retentionMs, since: null };
      else if (group.state === 'Empty') rule = { now, retentionMs, since: group.stateTimestamp };
      else if (group.state === 'Stable' && group.isConsumerGroup() && group.subscriptions() !== null) {
        rule = { now, retentionMs, since: null, keepTopics: [...group.subscriptions()!] };
      } else rule = null;
      if (rule === null) continue;
      const r = rule;
      removed += await this.queue.run(stored.groupId, () => this.host.store.expireOffsets(stored.groupId, r));
    }
    const remaining = new Set((await this.host.store.listGroups()).map((g) => g.groupId));
    for (const group of [...this.host.groups()]) {
      if (group.state === 'Empty' && !remaining.has(group.groupId)) this.host.removeGroup(group);
    }
    if (removed > 0) this.host.logger.info({ removed }, 'expired committed offsets');
    return removed;
  }

}
