import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { OffsetStore, TopicPartitions } from '../../storage/offset-store.js';
import { errorJoin, errorSync, type Effect } from './effects.js';
import { Group } from './group.js';
import { protocolBytes } from './member.js';
import { GroupOffsets, StoreQueue, invalidGroupId } from './offsets.js';
import {
  CLASSIC_GROUP_TYPE,
  DEFAULT_GROUP_CONFIG,
  type CommitParams,
  type DeleteOffsetsResult,
  type FetchResult,
  type FetchTopic,
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

/** How often groups that moved to another broker are looked for (several brokers). */
const OWNERSHIP_SWEEP_MS = 1000;

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
 * Kafka's after loading), their timers, and committed offsets (in MySQL through OffsetStore;
 * the offset calls are carried out by GroupOffsets, offsets.ts).
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
  /** Store calls of one group, in the order they were accepted (shared with the offset half). */
  private readonly queue = new StoreQueue();
  private readonly offsets: GroupOffsets;
  private readonly store: OffsetStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly newMemberId: (prefix: string) => string;
  private nextToken = 1;
  private expirationHandle: unknown = null;
  private sweepHandle: unknown = null;
  private owns: (groupId: string) => boolean = () => true;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_GROUP_CONFIG, ...options.config };
    this.store = options.offsetStore;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? defaultTimers;
    this.newMemberId = options.newMemberId ?? ((prefix) => `${prefix}-${randomUUID()}`);
    this.offsets = new GroupOffsets(
      {
        store: this.store,
        logger: this.logger,
        config: this.config,
        now: this.now,
        group: (groupId) => this.groups.get(groupId),
        groups: () => this.groups.values(),
        createGroup: (groupId) => this.createGroup(groupId),
        removeGroup: (group) => this.removeGroup(group),
        apply: (group, effects) => this.apply(group, effects),
      },
      this.queue,
    );
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
    if (this.sweepHandle !== null) this.timers.clearTimeout(this.sweepHandle);
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
    if (invalidGroupId(p.groupId, false)) return Promise.resolve(errorJoin(p.memberId, ErrorCode.INVALID_GROUP_ID));
    if (!this.owns(p.groupId)) return Promise.resolve(errorJoin(p.memberId, ErrorCode.NOT_COORDINATOR));
    if (p.sessionTimeoutMs < this.config.minSessionTimeoutMs || p.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return Promise.resolve(errorJoin(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    // group.member.metadata.max.bytes, checked before the metadata is copied out of the request.
    if (protocolBytes(p.protocols) > this.config.memberMetadataMaxBytes) {
      return Promise.resolve(errorJoin(p.memberId, ErrorCode.INVALID_REQUEST));
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
    if (invalidGroupId(p.groupId, false)) return Promise.resolve(errorSync(ErrorCode.INVALID_GROUP_ID));
    if (!this.owns(p.groupId)) return Promise.resolve(errorSync(ErrorCode.NOT_COORDINATOR));
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
    if (invalidGroupId(p.groupId, false)) return ErrorCode.INVALID_GROUP_ID;
    if (!this.owns(p.groupId)) return ErrorCode.NOT_COORDINATOR;
    const group = this.groups.get(p.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    const { errorCode, effects } = group.heartbeat(p);
    this.apply(group, effects);
    return errorCode;
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveResult {
    if (invalidGroupId(groupId, false)) return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    if (!this.owns(groupId)) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
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

  /** OffsetCommit: validated against the group's membership, then written (see offsets.ts). */
  commitOffsets(p: CommitParams): Promise<PartitionError[]> {
    if (!invalidGroupId(p.groupId, false) && !this.owns(p.groupId)) {
      return Promise.resolve(p.partitions.map((x) => ({ topic: x.topic, partition: x.partition, errorCode: ErrorCode.NOT_COORDINATOR })));
    }
    return this.offsets.commit(p);
  }

  /**
   * Committed offsets of a group: every committed partition when `topics` is null, else the
   * requested ones, -1 where nothing is committed, whatever the group's state.
   */
  fetchOffsets(groupId: string, topics: readonly FetchTopic[] | null): Promise<FetchResult> {
    if (!invalidGroupId(groupId, true) && !this.owns(groupId)) return Promise.resolve({ errorCode: ErrorCode.NOT_COORDINATOR, offsets: [] });
    return this.offsets.fetch(groupId, topics);
  }

  /** OffsetDelete: removes offsets of partitions the group does not consume. */
  deleteOffsets(groupId: string, topics: readonly TopicPartitions[]): Promise<DeleteOffsetsResult> {
    if (!invalidGroupId(groupId, true) && !this.owns(groupId)) return Promise.resolve({ errorCode: ErrorCode.NOT_COORDINATOR, partitions: [] });
    return this.offsets.deleteOffsets(groupId, topics);
  }

  /** DeleteTopics: every group's offsets of the topics go. */
  onTopicsDeleted(topics: readonly string[]): Promise<void> {
    return this.offsets.onTopicsDeleted(topics);
  }

  /** One pass of offsets.retention.minutes (see GroupOffsets.expire); returns the offsets removed. */
  expireOffsets(): Promise<number> {
    return this.offsets.expire();
  }

  // ---- administration ------------------------------------------------------------------

  /** Groups held in memory, by state (for metrics; groups known only by stored offsets are not counted). */
  groupCountsByState(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const g of this.groups.values()) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
    return counts;
  }

  /**
   * Groups in memory plus groups that exist only through committed offsets (after a broker
   * restart; Kafka lists those too, loaded from its offsets topic), optionally filtered by
   * state names (case-insensitive, as Kafka compares them) and by group type names (ListGroups
   * v5; case-insensitive too; every group here is classic, so a filter without "classic" lists
   * nothing, as Kafka lists no group for a type it has none of or does not know).
   */
  async listGroups(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): Promise<GroupOverview[]> {
    if (typesFilter.length > 0 && !typesFilter.some((t) => t.toLowerCase() === CLASSIC_GROUP_TYPE)) return [];
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const out: GroupOverview[] = [];
    for (const g of this.groups.values()) if (g.state !== 'Dead' && this.owns(g.groupId)) out.push(g.overview());
    let stored;
    try {
      stored = await this.store.listGroups();
    } catch (err) {
      this.logger.error({ err }, 'offset store failed');
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'offset store unavailable');
    }
    for (const s of stored) {
      // Several brokers: each lists the groups it coordinates (clients ask every broker).
      if (!this.groups.has(s.groupId) && this.owns(s.groupId)) out.push({ groupId: s.groupId, protocolType: '', state: 'Empty' });
    }
    return states.size === 0 ? out : out.filter((g) => states.has(g.state.toLowerCase()));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const unknown = groupIds.filter((id) => !this.groups.has(id) && !invalidGroupId(id, true) && this.owns(id));
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
      if (invalidGroupId(groupId, true)) return described('', ErrorCode.INVALID_GROUP_ID);
      if (!this.owns(groupId)) return described('', ErrorCode.NOT_COORDINATOR);
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
      if (invalidGroupId(groupId, true)) results.set(groupId, ErrorCode.INVALID_GROUP_ID);
      else if (!this.owns(groupId)) results.set(groupId, ErrorCode.NOT_COORDINATOR);
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
          await this.queue.run(groupId, () => this.store.deleteGroups([groupId]));
          results.set(groupId, ErrorCode.NONE);
        } catch (err) {
          this.logger.error({ err, groupId }, 'group delete failed');
          results.set(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
      }),
    );
    return groupIds.map((groupId) => ({ groupId, errorCode: results.get(groupId)! }));
  }

  // ---- placement (several brokers) -----------------------------------------------------

  /**
   * Which groups this broker coordinates (several brokers: placement by hash over the live
   * brokers, server/cluster/placement.ts). Set by the handlers' lookup (groups/service.ts);
   * the first call starts a sweep that unloads, within a second, groups that moved away
   * (a broker joined or came back), answering their waiting requests NOT_COORDINATOR.
   */
  setOwnership(owns: (groupId: string) => boolean): void {
    this.owns = owns;
    if (this.sweepHandle !== null || this.closed) return;
    const sweep = (): void => {
      this.sweepHandle = null;
      if (this.closed) return;
      for (const groupId of [...this.groups.keys()]) if (!this.owns(groupId)) this.unloadGroup(groupId);
      this.sweepHandle = this.timers.setTimeout(sweep, OWNERSHIP_SWEEP_MS);
    };
    this.sweepHandle = this.timers.setTimeout(sweep, OWNERSHIP_SWEEP_MS);
  }

  /** True when this broker coordinates `groupId` (always when running alone). */
  ownsGroup(groupId: string): boolean {
    return this.owns(groupId);
  }

  /** Forgets a group coordinated elsewhere now (see setOwnership). */
  unloadGroup(groupId: string): void {
    const group = this.groups.get(groupId);
    if (!group) return;
    this.logger.info({ groupId, state: group.state, generation: group.generationId }, 'group moved to another coordinator: unloaded');
    this.apply(group, group.resign());
    const timers = this.groupTimers.get(groupId);
    if (timers) for (const h of timers.values()) this.timers.clearTimeout(h);
    this.groupTimers.delete(groupId);
    this.groups.delete(groupId);
  }

  // ---- plumbing ------------------------------------------------------------------------

  private createGroup(groupId: string): Group {
    const group = new Group(groupId, {
      initialRebalanceDelayMs: this.config.initialRebalanceDelayMs,
      maxSize: this.config.maxSize,
      metadataMaxBytes: this.config.groupMetadataMaxBytes,
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

}

/** The factory the broker uses; registers nothing by itself (the broker puts it in services). */
export function createGroupCoordinator(options: GroupCoordinatorOptions): GroupCoordinator {
  const coordinator = new GroupCoordinator(options);
  coordinator.start();
  return coordinator;
}
