import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import {
  MAX_GROUP_ID_BYTES,
  type ExpireRule,
  type OffsetRecord,
  type OffsetStore,
  type TopicPartitions,
} from '../../storage/offset-store.js';
import { errorJoin, errorSync, type Effect } from './effects.js';
import { Group } from './group.js';
import {
  DEFAULT_GROUP_CONFIG,
  type CommitParams,
  type DeleteOffsetsResult,
  type FetchResult,
  type FetchTopic,
  type FetchedOffset,
  type GroupCoordinatorConfig,
  type GroupDescription,
  type GroupOverview,
  type HeartbeatParams,
  type JoinParams,
  type JoinResult,
  type LeaveResult,
  type LeavingMember,
  type PartitionError,
  type SyncParams,
  type SyncResult,
  type Timers,
} from './types.js';

export interface GroupCoordinatorOptions {
  offsetStore: OffsetStore;
  config: GroupCoordinatorConfig;
  logger: Logger;
  now?: () => number;
  timers?: Timers;
  /** Member id factory; Kafka's form `<client id or instance id>-<uuid>` by default. */
  newMemberId?: (prefix: string) => string;
}

const defaultTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * The classic group coordinator of this broker: the groups it coordinates (in memory, like
 * Kafka's after loading), their timers, and committed offsets (in MySQL through OffsetStore).
 *
 * Group state changes are synchronous calls into Group, so each group is driven serially by
 * construction; the store calls of one group (commits, fetches, deletions, expiration) run in
 * a per-group queue, so they reach MySQL in the order the requests were accepted.
 */
export class GroupCoordinator {
  readonly config: Required<GroupCoordinatorConfig>;
  private readonly groups = new Map<string, Group>();
  private readonly groupTimers = new Map<string, Map<string, unknown>>();
  private readonly waiting = new Map<number, (result: JoinResult | SyncResult) => void>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly store: OffsetStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly newMemberId: (prefix: string) => string;
  private nextToken = 1;
  private expirationHandle: unknown = null;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_GROUP_CONFIG, ...options.config };
    this.store = options.offsetStore;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? defaultTimers;
    this.newMemberId = options.newMemberId ?? ((prefix) => `${prefix}-${randomUUID()}`);
  }

  /** Starts the periodic offset expiration (offsets.retention.check.interval.ms). */
  start(): void {
    const interval = this.config.offsetsRetentionCheckIntervalMs;
    if (interval <= 0 || this.closed) return;
    const tick = (): void => {
      this.expirationHandle = null;
      this.expireOffsets()
        .catch((err: unknown) => this.logger.error({ err }, 'offset expiration failed'))
        .finally(() => {
          if (!this.closed) this.expirationHandle = this.timers.setTimeout(tick, interval);
        });
    };
    this.expirationHandle = this.timers.setTimeout(tick, interval);
  }

  /** Stops every timer and answers requests still waiting with NOT_COORDINATOR. */
  close(): void {
    this.closed = true;
    if (this.expirationHandle !== null) this.timers.clearTimeout(this.expirationHandle);
    for (const timers of this.groupTimers.values()) for (const h of timers.values()) this.timers.clearTimeout(h);
    this.groupTimers.clear();
    for (const [token, resolve] of this.waiting) {
      resolve(token > 0 ? errorJoin('', ErrorCode.NOT_COORDINATOR) : errorSync(ErrorCode.NOT_COORDINATOR));
    }
    this.waiting.clear();
  }

  /** Broker shutdown hook (services with shutdown() are stopped by server/broker.ts). */
  async shutdown(): Promise<void> {
    this.close();
  }

  /** The in-memory group, if any (tests, console). */
  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  // ---- membership ----------------------------------------------------------------------

  joinGroup(p: JoinParams): Promise<JoinResult> {
    if (this.invalidGroupId(p.groupId, false)) return Promise.resolve(errorJoin(p.memberId, ErrorCode.INVALID_GROUP_ID));
    if (p.sessionTimeoutMs < this.config.minSessionTimeoutMs || p.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return Promise.resolve(errorJoin(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    let group = this.groups.get(p.groupId);
    if (!group) {
      // A member id for a group this coordinator does not know is stale.
      if (p.memberId !== '') return Promise.resolve(errorJoin(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.createGroup(p.groupId);
    }
    // Protocol metadata outlives the request: copy it out of the request buffer.
    const params: JoinParams = {
      ...p,
      protocols: p.protocols.map((x) => ({ name: x.name, metadata: Buffer.from(x.metadata) })),
    };
    const token = this.nextToken++;
    const reply = new Promise<JoinResult>((resolve) => this.waiting.set(token, resolve as (r: JoinResult | SyncResult) => void));
    this.apply(group, group.join(params, token));
    return reply;
  }

  syncGroup(p: SyncParams): Promise<SyncResult> {
    if (this.invalidGroupId(p.groupId, false)) return Promise.resolve(errorSync(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(p.groupId);
    if (!group) return Promise.resolve(errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    const params: SyncParams = {
      ...p,
      assignments: p.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    };
    // Sync tokens are negative, join tokens positive (close() answers each with its kind).
    const token = -this.nextToken++;
    const reply = new Promise<SyncResult>((resolve) => this.waiting.set(token, resolve as (r: JoinResult | SyncResult) => void));
    this.apply(group, group.sync(params, token));
    return reply;
  }

  heartbeat(p: HeartbeatParams): number {
    if (this.invalidGroupId(p.groupId, false)) return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(p.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    const { errorCode, effects } = group.heartbeat(p);
    this.apply(group, effects);
    return errorCode;
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveResult {
    if (this.invalidGroupId(groupId, false)) return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    if (!group) {
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    const { result, effects } = group.leave(members);
    this.apply(group, effects);
    return result;
  }

  // ---- offsets -------------------------------------------------------------------------

  async commitOffsets(p: CommitParams): Promise<PartitionError[]> {
    const all = (errorCode: number): PartitionError[] =>
      p.partitions.map((x) => ({ topic: x.topic, partition: x.partition, errorCode }));
    if (this.invalidGroupId(p.groupId, true)) return all(ErrorCode.INVALID_GROUP_ID);
    let group = this.groups.get(p.groupId);
    if (!group) {
      if (p.generationId >= 0) {
        // A generation for a group without members: a group known only by its offsets
        // (Kafka would have loaded it, Empty) rejects the member, any other the generation.
        try {
          const known = await this.store.existingGroups([p.groupId]);
          return all(known.has(p.groupId) ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.ILLEGAL_GENERATION);
        } catch (err) {
          this.logger.error({ err, groupId: p.groupId }, 'offset store failed');
          return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
      }
      // A simple (group-less) commit creates an Empty group, as in Kafka.
      group = this.createGroup(p.groupId);
    }
    const { errorCode, effects } = group.validateCommit(p.memberId, p.groupInstanceId, p.generationId);
    this.apply(group, effects);
    if (errorCode !== ErrorCode.NONE) return all(errorCode);

    const now = this.now();
    const records: OffsetRecord[] = [];
    const results: PartitionError[] = [];
    for (const x of p.partitions) {
      const tooLarge = x.metadata !== null && x.metadata.length > this.config.offsetMetadataMaxBytes;
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
        await this.enqueue(p.groupId, () => this.store.commit(p.groupId, records));
      } catch (err) {
        this.logger.error({ err, groupId: p.groupId }, 'offset commit failed');
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
  async fetchOffsets(groupId: string, topics: readonly FetchTopic[] | null): Promise<FetchResult> {
    if (this.invalidGroupId(groupId, true)) return { errorCode: ErrorCode.INVALID_GROUP_ID, offsets: [] };
    let rows: OffsetRecord[];
    try {
      rows = await this.enqueue(groupId, () => this.store.fetch(groupId, topics));
    } catch (err) {
      this.logger.error({ err, groupId }, 'offset fetch failed');
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
    if (this.invalidGroupId(groupId, false)) return { errorCode: ErrorCode.INVALID_GROUP_ID, partitions: [] };
    let group = this.groups.get(groupId);
    if (!group) {
      let known: Set<string>;
      try {
        known = await this.store.existingGroups([groupId]);
      } catch (err) {
        this.logger.error({ err, groupId }, 'offset store failed');
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, partitions: [] };
      }
      group = this.groups.get(groupId);
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
        await this.enqueue(groupId, () => this.store.deleteOffsets(groupId, eligible));
      } catch (err) {
        this.logger.error({ err, groupId }, 'offset delete failed');
        errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      for (const t of eligible) for (const partition of t.partitions) partitions.push({ topic: t.topic, partition, errorCode });
    }
    return { errorCode: ErrorCode.NONE, partitions };
  }

  /** DeleteTopics: every group's offsets of the topics go. */
  async onTopicsDeleted(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    const removed = await this.store.deleteTopics(topics);
    this.logger.info({ topics, removed }, 'removed committed offsets of deleted topics');
  }

  // ---- administration ------------------------------------------------------------------

  /**
   * Groups in memory plus groups that exist only through committed offsets (after a broker
   * restart; Kafka lists those too, loaded from its offsets topic), optionally filtered by
   * state names (case-insensitive, as Kafka compares them).
   */
  /** Groups held in memory, by state (for metrics; groups known only by stored offsets are not counted). */
  groupCountsByState(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const g of this.groups.values()) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
    return counts;
  }

  async listGroups(statesFilter: readonly string[] = []): Promise<GroupOverview[]> {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const out: GroupOverview[] = [];
    for (const g of this.groups.values()) if (g.state !== 'Dead') out.push(g.overview());
    let stored;
    try {
      stored = await this.store.listGroups();
    } catch (err) {
      this.logger.error({ err }, 'offset store failed');
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'offset store unavailable');
    }
    for (const s of stored) {
      if (!this.groups.has(s.groupId)) out.push({ groupId: s.groupId, protocolType: '', state: 'Empty' });
    }
    return states.size === 0 ? out : out.filter((g) => states.has(g.state.toLowerCase()));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const unknown = groupIds.filter((id) => !this.groups.has(id) && !this.invalidGroupId(id, true));
    let stored = new Set<string>();
    let storeError = false;
    if (unknown.length > 0) {
      try {
        stored = await this.store.existingGroups(unknown);
      } catch (err) {
        this.logger.error({ err }, 'offset store failed');
        storeError = true;
      }
    }
    return groupIds.map((groupId) => {
      const described = (state: GroupDescription['state'], errorCode: number): GroupDescription => ({
        groupId,
        errorCode,
        state,
        protocolType: '',
        protocolName: '',
        members: [],
      });
      if (this.invalidGroupId(groupId, true)) return described('', ErrorCode.INVALID_GROUP_ID);
      const group = this.groups.get(groupId);
      if (group) return group.describe();
      if (storeError) return described('', ErrorCode.COORDINATOR_NOT_AVAILABLE);
      return stored.has(groupId) ? described('Empty', ErrorCode.NONE) : described('Dead', ErrorCode.NONE);
    });
  }

  /** DeleteGroups: Empty groups (and groups known only by offsets) are removed with their offsets. */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results = new Map<string, number>();
    const eligible: string[] = [];
    const check = (groupId: string, group: Group): void => {
      if (group.state === 'Dead') results.set(groupId, ErrorCode.GROUP_ID_NOT_FOUND);
      else if (group.state !== 'Empty') results.set(groupId, ErrorCode.NON_EMPTY_GROUP);
      else {
        this.removeGroup(group);
        eligible.push(groupId);
      }
    };
    const unknown: string[] = [];
    for (const groupId of new Set(groupIds)) {
      if (this.invalidGroupId(groupId, true)) results.set(groupId, ErrorCode.INVALID_GROUP_ID);
      else {
        const group = this.groups.get(groupId);
        if (group) check(groupId, group);
        else unknown.push(groupId);
      }
    }
    if (unknown.length > 0) {
      let stored: Set<string> | null = null;
      try {
        stored = await this.store.existingGroups(unknown);
      } catch (err) {
        this.logger.error({ err }, 'offset store failed');
      }
      for (const groupId of unknown) {
        const group = this.groups.get(groupId); // may have appeared meanwhile
        if (group) check(groupId, group);
        else if (stored === null) results.set(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        else if (stored.has(groupId)) eligible.push(groupId);
        else results.set(groupId, ErrorCode.GROUP_ID_NOT_FOUND);
      }
    }
    await Promise.all(
      eligible.map(async (groupId) => {
        try {
          await this.enqueue(groupId, () => this.store.deleteGroups([groupId]));
          results.set(groupId, ErrorCode.NONE);
        } catch (err) {
          this.logger.error({ err, groupId }, 'group delete failed');
          results.set(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
      }),
    );
    return groupIds.map((groupId) => ({ groupId, errorCode: results.get(groupId)! }));
  }

  /**
   * offsets.retention.minutes, as Kafka applies it: an Empty group's offsets expire that
   * long after it became empty (for a group known only through offsets: after its latest
   * commit); a simple group's, that long after each commit; a Stable consumer group's, only
   * for topics it no longer subscribes to. Explicit expire timestamps (OffsetCommit v2-v4)
   * win. Empty groups left without offsets are removed. Returns the offsets removed.
   */
  async expireOffsets(): Promise<number> {
    const now = this.now();
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000;
    let removed = 0;
    for (const stored of await this.store.listGroups()) {
      const group = this.groups.get(stored.groupId);
      let rule: ExpireRule | null;
      if (!group) rule = { now, retentionMs, since: stored.lastCommitTimestamp };
      else if (group.protocolType === null) rule = { now, retentionMs, since: null };
      else if (group.state === 'Empty') rule = { now, retentionMs, since: group.stateTimestamp };
      else if (group.state === 'Stable' && group.isConsumerGroup() && group.subscriptions() !== null) {
        rule = { now, retentionMs, since: null, keepTopics: [...group.subscriptions()!] };
      } else rule = null;
      if (rule === null) continue;
      const r = rule;
      removed += await this.enqueue(stored.groupId, () => this.store.expireOffsets(stored.groupId, r));
    }
    const remaining = new Set((await this.store.listGroups()).map((g) => g.groupId));
    for (const group of [...this.groups.values()]) {
      if (group.state === 'Empty' && !remaining.has(group.groupId)) this.removeGroup(group);
    }
    if (removed > 0) this.logger.info({ removed }, 'expired committed offsets');
    return removed;
  }

  // ---- plumbing ------------------------------------------------------------------------

  private invalidGroupId(groupId: string, allowEmpty: boolean): boolean {
    if (groupId === '') return !allowEmpty;
    return Buffer.byteLength(groupId, 'utf8') > MAX_GROUP_ID_BYTES;
  }

  private createGroup(groupId: string): Group {
    const group = new Group(groupId, {
      initialRebalanceDelayMs: this.config.initialRebalanceDelayMs,
      now: this.now,
      newMemberId: this.newMemberId,
    });
    this.groups.set(groupId, group);
    return group;
  }

  private removeGroup(group: Group): void {
    this.apply(group, group.markDead());
    const timers = this.groupTimers.get(group.groupId);
    if (timers) for (const h of timers.values()) this.timers.clearTimeout(h);
    this.groupTimers.delete(group.groupId);
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  private apply(group: Group, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'join-reply':
        case 'sync-reply': {
          const resolve = this.waiting.get(e.token);
          this.waiting.delete(e.token);
          resolve?.(e.result);
          break;
        }
        case 'schedule': {
          this.clearTimer(group.groupId, e.timer);
          if (this.closed) break;
          let timers = this.groupTimers.get(group.groupId);
          if (!timers) this.groupTimers.set(group.groupId, (timers = new Map()));
          const handle = this.timers.setTimeout(() => this.fire(group, e.timer), e.delayMs);
          timers.set(e.timer, handle);
          break;
        }
        case 'cancel':
          this.clearTimer(group.groupId, e.timer);
          break;
      }
    }
  }

  private clearTimer(groupId: string, timer: string): void {
    const timers = this.groupTimers.get(groupId);
    const handle = timers?.get(timer);
    if (handle === undefined) return;
    this.timers.clearTimeout(handle);
    timers!.delete(timer);
    if (timers!.size === 0) this.groupTimers.delete(groupId);
  }

  private fire(group: Group, timer: string): void {
    const timers = this.groupTimers.get(group.groupId);
    timers?.delete(timer);
    if (timers && timers.size === 0) this.groupTimers.delete(group.groupId);
    if (this.groups.get(group.groupId) !== group) return;
    try {
      this.apply(group, group.onTimer(timer));
    } catch (err) {
      this.logger.error({ err, groupId: group.groupId, timer }, 'group timer failed');
    }
  }

  /** Runs `fn` after the group's earlier store calls have settled. */
  private enqueue<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
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

/** The factory the broker uses; registers nothing by itself (the broker puts it in services). */
export function createGroupCoordinator(options: GroupCoordinatorOptions): GroupCoordinator {
  const coordinator = new GroupCoordinator(options);
  coordinator.start();
  return coordinator;
}
