import { ErrorCode } from '../../codec/error-codes.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { EffectSink } from './effects.js';
import type { Member } from './member.js';
import { ProtocolVotes } from './protocols.js';
import type { GroupDescription, GroupOverview, GroupState, JoinResult, SyncResult } from './types.js';

/** Kafka's limit on how long a new member may sit in a join phase (5 minutes). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export const JOIN_TIMER = 'join';
export const SYNC_TIMER = 'sync';
export const HEARTBEAT_PREFIX = 'hb:';
export const PENDING_PREFIX = 'pending:';

export interface GroupOptions {
  initialRebalanceDelayMs: number;
  /** group.max.size. */
  maxSize: number;
  /** group.metadata.max.bytes: protocol bytes (names and metadata) of all members together. */
  metadataMaxBytes: number;
  now(): number;
  /** A fresh member id for a client id or group instance id (Kafka: `<prefix>-<uuid>`). */
  newMemberId(prefix: string): string;
}

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export type JoinPhase = { kind: 'initial'; delayMs: number; remainingMs: number } | { kind: 'normal' };

export const EMPTY = Buffer.alloc(0);

/**
 * What every part of a Group shares: its state, its members and their bookkeeping (the static
 * member index, pending member ids, members yet to sync, protocol votes), the read-only
 * queries, and the plumbing every event uses (state transitions, answering a member's waiting
 * request, heartbeat timers). The events are in the layers above: rebalance.ts (join and sync
 * phases, SyncGroup) and group.ts (membership: JoinGroup, Heartbeat, LeaveGroup, commits).
 */
export abstract class GroupCore extends EffectSink {
  state: GroupState = 'Empty';
  /** When the group entered its current state (offset expiration counts from Empty). */
  stateTimestamp: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;

  protected readonly members = new Map<string, Member>();
  protected readonly staticMembers = new Map<string, string>();
  protected readonly pendingMembers = new Set<string>();
  protected readonly pendingSync = new Set<string>();
  protected readonly votes = new ProtocolVotes();
  protected numAwaitingJoin = 0;
  /** Protocol bytes of all members (Member.protocolBytes), bounded by group.metadata.max.bytes. */
  protected protocolBytes = 0;
  protected newMemberAdded = false;
  protected joinPhase: JoinPhase | null = null;
  protected subscribedTopics: Set<string> | null = null;

  constructor(
    readonly groupId: string,
    protected readonly options: GroupOptions,
  ) {
    super();
    this.stateTimestamp = options.now();
  }

  // ---- queries -------------------------------------------------------------------------

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  member(memberId: string): Member | undefined {
    return this.members.get(memberId);
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  isPending(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  isConsumerGroup(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  /**
   * Whether the group's current generation subscribes to the topic. Unknown (not a consumer
   * group, or metadata that did not parse) counts as subscribed, to be safe, as in Kafka.
   */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /** The subscribed topics when known (consumer protocol that parsed), else null. */
  subscriptions(): ReadonlySet<string> | null {
    return this.subscribedTopics;
  }

  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  overview(): GroupOverview {
    return { groupId: this.groupId, protocolType: this.protocolType ?? '', state: this.state };
  }

  describe(): GroupDescription {
    const stable = this.state === 'Stable' && this.protocolName !== null;
    return {
      groupId: this.groupId,
      errorCode: ErrorCode.NONE,
      state: this.state,
      protocolType: this.protocolType ?? '',
      protocolName: stable ? this.protocolName! : '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(this.protocolName!) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  // ---- member bookkeeping --------------------------------------------------------------

  protected add(member: Member, token: number): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.votes.add(member);
    this.protocolBytes += member.protocolBytes;
    member.joinToken = token;
    this.numAwaitingJoin++;
    this.pendingMembers.delete(member.memberId);
  }

  protected remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.votes.remove(member);
      this.protocolBytes -= member.protocolBytes;
      if (member.awaitingJoin) this.numAwaitingJoin--;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingMembers.delete(memberId);
    this.pendingSync.delete(memberId);
  }

  /** Kafka's validateCurrentMember: a static id must map to this member id; the member must exist. */
  protected validateCurrentMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  protected scheduleHeartbeat(member: Member, timeoutMs: number): void {
    this.schedule(HEARTBEAT_PREFIX + member.memberId, timeoutMs);
  }

  // ---- plumbing ------------------------------------------------------------------------

  protected transition(to: GroupState): void {
    if (!VALID_PREVIOUS[to].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${to}`);
    }
    this.state = to;
    this.stateTimestamp = this.options.now();
  }

  protected invokeJoin(member: Member, result: JoinResult): boolean {
    if (member.joinToken === null) return false;
    this.replyJoin(member.joinToken, result);
    member.joinToken = null;
    this.numAwaitingJoin--;
    return true;
  }

  protected invokeSync(member: Member, result: SyncResult): boolean {
    if (member.syncToken === null) return false;
    this.replySync(member.syncToken, result);
    member.syncToken = null;
    return true;
  }
}
