import { ErrorCode } from '../../codec/error-codes.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { EffectSink, errorJoin, errorSync, type Effect } from './effects.js';
import { Member } from './member.js';
import { ProtocolVotes, subscribedTopics } from './protocols.js';
import type {
  GroupDescription,
  GroupOverview,
  GroupState,
  HeartbeatParams,
  JoinMember,
  JoinParams,
  JoinResult,
  LeaveResult,
  LeavingMember,
  SyncParams,
  SyncResult,
} from './types.js';

/** Kafka's limit on how long a new member may sit in a join phase (5 minutes). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export const JOIN_TIMER = 'join';
export const SYNC_TIMER = 'sync';
const HEARTBEAT_PREFIX = 'hb:';
const PENDING_PREFIX = 'pending:';

export interface GroupOptions {
  initialRebalanceDelayMs: number;
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

type JoinPhase = { kind: 'initial'; delayMs: number; remainingMs: number } | { kind: 'normal' };

const EMPTY = Buffer.alloc(0);

/**
 * One classic consumer group as a state machine, after Apache Kafka's GroupCoordinator and
 * GroupMetadata: every event (a request, a timer firing) changes the state synchronously and
 * returns the effects for the caller to carry out: replies to requests that were waiting, and
 * timers to (re)schedule or cancel. No sockets, no clock of its own, no I/O, so it is tested by
 * feeding events and reading effects.
 *
 * Replies are addressed by tokens the caller hands in with JoinGroup and SyncGroup requests;
 * a request may be answered at once (an effect of its own event) or later (an effect of
 * another member's request or of a timer).
 */
export class Group extends EffectSink {
  state: GroupState = 'Empty';
  /** When the group entered its current state (offset expiration counts from Empty). */
  stateTimestamp: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;

  private readonly members = new Map<string, Member>();
  private readonly staticMembers = new Map<string, string>();
  private readonly pendingMembers = new Set<string>();
  private readonly pendingSync = new Set<string>();
  private readonly votes = new ProtocolVotes();
  private numAwaitingJoin = 0;
  private newMemberAdded = false;
  private joinPhase: JoinPhase | null = null;
  private subscribedTopics: Set<string> | null = null;

  constructor(
    readonly groupId: string,
    private readonly options: GroupOptions,
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

  // ---- events --------------------------------------------------------------------------

  /** JoinGroup. The reply comes back as a 'join-reply' effect for `token`, now or later. */
  join(p: JoinParams, token: number): Effect[] {
    if (this.state === 'Dead') {
      this.replyJoin(token, errorJoin(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } else if (!this.supportsProtocols(p.protocolType, p.protocols.map((x) => x.name))) {
      this.replyJoin(token, errorJoin(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    } else if (p.memberId === '') {
      this.joinNewMember(p, token);
    } else {
      this.joinCurrentMember(p, token);
    }
    if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
    return this.drain();
  }

  /** SyncGroup. The reply comes back as a 'sync-reply' effect for `token`, now or later. */
  sync(p: SyncParams, token: number): Effect[] {
    const error = this.validateSync(p);
    if (error !== ErrorCode.NONE) {
      this.replySync(token, errorSync(error));
      return this.drain();
    }
    const member = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'Empty':
        this.replySync(token, errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
        break;
      case 'PreparingRebalance':
        this.replySync(token, errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
        break;
      case 'CompletingRebalance':
        // A second SyncGroup from the same member replaces the first, which is answered so
        // that no request is left without a response.
        if (member.syncToken !== null) this.replySync(member.syncToken, errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
        member.syncToken = token;
        this.removePendingSync(member.memberId);
        if (this.leaderId === member.memberId) {
          const assignment = new Map<string, Buffer>();
          for (const a of p.assignments) assignment.set(a.memberId, a.assignment);
          for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY;
          this.propagateAssignment(ErrorCode.NONE);
          this.transition('Stable');
        }
        break;
      case 'Stable':
        this.removePendingSync(member.memberId);
        this.replySync(token, {
          errorCode: ErrorCode.NONE,
          protocolType: this.protocolType,
          protocolName: this.protocolName,
          assignment: member.assignment,
        });
        this.scheduleHeartbeat(member, member.sessionTimeoutMs);
        break;
      case 'Dead':
        throw new Error(`sync on dead group ${this.groupId}`);
    }
    return this.drain();
  }

  heartbeat(p: HeartbeatParams): { errorCode: number; effects: Effect[] } {
    let errorCode: number;
    if (this.state === 'Dead') errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    else {
      errorCode = this.validateCurrentMember(p.memberId, p.groupInstanceId);
      if (errorCode === ErrorCode.NONE && p.generationId !== this.generationId) errorCode = ErrorCode.ILLEGAL_GENERATION;
      if (errorCode === ErrorCode.NONE) {
        const member = this.members.get(p.memberId)!;
        switch (this.state) {
          case 'Empty':
            errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
            break;
          case 'PreparingRebalance':
            this.scheduleHeartbeat(member, member.sessionTimeoutMs);
            errorCode = ErrorCode.REBALANCE_IN_PROGRESS;
            break;
          default:
            this.scheduleHeartbeat(member, member.sessionTimeoutMs);
        }
      }
    }
    return { errorCode, effects: this.drain() };
  }

  leave(leaving: readonly LeavingMember[]): { result: LeaveResult; effects: Effect[] } {
    if (this.state === 'Dead') {
      return { result: { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] }, effects: this.drain() };
    }
    const members = leaving.map((l) => {
      let errorCode: number = ErrorCode.NONE;
      if (l.memberId === '') {
        const current = l.groupInstanceId === null ? undefined : this.staticMembers.get(l.groupInstanceId);
        if (current === undefined) errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
        else this.removeMemberAndUpdate(this.members.get(current)!);
      } else if (this.pendingMembers.has(l.memberId)) {
        this.removePendingMember(l.memberId);
      } else {
        errorCode = this.validateCurrentMember(l.memberId, l.groupInstanceId);
        if (errorCode === ErrorCode.NONE) this.removeMemberAndUpdate(this.members.get(l.memberId)!);
      }
      return { memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode };
    });
    return { result: { errorCode: ErrorCode.NONE, members }, effects: this.drain() };
  }

  /**
   * Whether an OffsetCommit from this member and generation may be written (Kafka's
   * validateOffsetCommit); a commit from a member counts as a heartbeat.
   */
  validateCommit(memberId: string, groupInstanceId: string | null, generationId: number): { errorCode: number; effects: Effect[] } {
    let errorCode: number = ErrorCode.NONE;
    if (this.state === 'Dead') errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    else if (generationId < 0 && this.state === 'Empty') errorCode = ErrorCode.NONE;
    else if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      errorCode = this.validateCurrentMember(memberId, groupInstanceId);
      if (errorCode === ErrorCode.NONE && generationId !== this.generationId) errorCode = ErrorCode.ILLEGAL_GENERATION;
    } else if (this.state !== 'Empty') {
      errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (errorCode === ErrorCode.NONE) {
      if (this.state === 'CompletingRebalance') errorCode = ErrorCode.REBALANCE_IN_PROGRESS;
      else {
        const member = this.members.get(memberId);
        if (member && (this.state === 'Stable' || this.state === 'PreparingRebalance')) {
          this.scheduleHeartbeat(member, member.sessionTimeoutMs);
        }
      }
    }
    return { errorCode, effects: this.drain() };
  }

  /** A timer this group scheduled has fired. */
  onTimer(timer: string): Effect[] {
    if (this.state === 'Dead') return this.drain();
    if (timer === JOIN_TIMER) this.onJoinTimer();
    else if (timer === SYNC_TIMER) this.onSyncTimer();
    else if (timer.startsWith(HEARTBEAT_PREFIX)) this.onHeartbeatTimer(timer.slice(HEARTBEAT_PREFIX.length));
    else if (timer.startsWith(PENDING_PREFIX)) {
      const memberId = timer.slice(PENDING_PREFIX.length);
      if (this.pendingMembers.has(memberId)) this.removePendingMember(memberId);
    }
    return this.drain();
  }

  /** DeleteGroups / offset expiration: only an Empty group may die this way. */
  markDead(): Effect[] {
    if (this.state !== 'Empty' && this.state !== 'Dead') throw new Error(`cannot delete group ${this.groupId} in ${this.state}`);
    this.transition('Dead');
    this.cancel(JOIN_TIMER);
    this.cancel(SYNC_TIMER);
    for (const id of this.pendingMembers) this.cancel(PENDING_PREFIX + id);
    this.pendingMembers.clear();
    return this.drain();
  }

  // ---- join ----------------------------------------------------------------------------

  private joinNewMember(p: JoinParams, token: number): void {
    const newMemberId = this.options.newMemberId(p.groupInstanceId ?? p.clientId);
    if (p.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(p.groupInstanceId);
      if (oldMemberId !== undefined) this.replaceStaticMemberAndRebalance(oldMemberId, newMemberId, p, token);
      else this.addMemberAndRebalance(newMemberId, p, token);
    } else if (p.requireKnownMemberId) {
      // Kafka 2.2+ (JoinGroup v4): hand out the id first; the member joins again with it.
      this.pendingMembers.add(newMemberId);
      this.schedule(PENDING_PREFIX + newMemberId, p.sessionTimeoutMs);
      this.replyJoin(token, errorJoin(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(newMemberId, p, token);
    }
  }

  private joinCurrentMember(p: JoinParams, token: number): void {
    if (this.pendingMembers.has(p.memberId)) {
      if (p.groupInstanceId !== null) {
        // Pending ids are only handed to dynamic members; Kafka treats this as a bug.
        this.replyJoin(token, errorJoin(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      }
      this.cancel(PENDING_PREFIX + p.memberId);
      this.addMemberAndRebalance(p.memberId, p, token);
      return;
    }
    const error = this.validateCurrentMember(p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) {
      this.replyJoin(token, errorJoin(p.memberId, error));
      return;
    }
    const member = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(member, p, token);
        break;
      case 'CompletingRebalance':
        // Same metadata: the member lost the join response; give it the current generation again.
        if (member.matches(p.protocols)) this.replyJoin(token, this.joinResultFor(member.memberId));
        else this.updateMemberAndRebalance(member, p, token);
        break;
      case 'Stable':
        // The leader rejoining forces a rebalance (it may have seen a metadata change).
        if (this.leaderId === member.memberId || !member.matches(p.protocols)) this.updateMemberAndRebalance(member, p, token);
        else this.replyJoin(token, { ...this.joinResultFor(member.memberId), members: [] });
        break;
      default:
        this.replyJoin(token, errorJoin(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private addMemberAndRebalance(memberId: string, p: JoinParams, token: number): void {
    const member = new Member(
      memberId,
      p.groupInstanceId,
      p.clientId,
      p.clientHost,
      p.rebalanceTimeoutMs,
      p.sessionTimeoutMs,
      p.protocolType,
      p.protocols,
    );
    member.isNew = true;
    if (this.state === 'PreparingRebalance' && this.generationId === 0) this.newMemberAdded = true;
    this.add(member, token);
    this.scheduleHeartbeat(member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance();
  }

  private updateMemberAndRebalance(member: Member, p: JoinParams, token: number): void {
    this.updateMember(member, p, token);
    this.maybePrepareRebalance();
  }

  private updateMember(member: Member, p: JoinParams, token: number): void {
    this.votes.remove(member);
    member.protocols = p.protocols;
    this.votes.add(member);
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    if (member.joinToken !== null) {
      // A repeated JoinGroup replaces the waiting one, which gets an answer it can retry on.
      this.replyJoin(member.joinToken, errorJoin(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    } else {
      this.numAwaitingJoin++;
    }
    member.joinToken = token;
  }

  /**
   * A static member restarted (same group.instance.id, no member id): it takes over the old
   * member's slot under a new member id, and the old id is fenced. A Stable group keeps its
   * assignment and generation unless the member's protocols change the group's selection.
   */
  private replaceStaticMemberAndRebalance(oldMemberId: string, newMemberId: string, p: JoinParams, token: number): void {
    const previousLeader = this.leaderId;
    const member = this.members.get(oldMemberId)!;
    this.invokeJoin(member, errorJoin(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.invokeSync(member, errorSync(ErrorCode.FENCED_INSTANCE_ID));
    this.cancel(HEARTBEAT_PREFIX + oldMemberId);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId);
    this.staticMembers.set(p.groupInstanceId!, newMemberId);
    this.scheduleHeartbeat(member, member.sessionTimeoutMs);
    this.updateMember(member, p, token);

    switch (this.state) {
      case 'Stable':
        if (this.selectProtocol() === this.protocolName) {
          const current = this.joinResultFor(newMemberId);
          const isLeader = this.leaderId === newMemberId;
          if (p.supportSkippingAssignment) {
            // v9+: the leader learns it leads but must not run the assignor again.
            this.invokeJoin(member, { ...current, members: isLeader ? current.members : [], skipAssignment: isLeader });
          } else {
            // Before v9: report the old leader id so a returning leader does not reassign.
            this.invokeJoin(member, { ...current, members: [], leader: previousLeader ?? '' });
          }
        } else {
          this.maybePrepareRebalance();
        }
        break;
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: start over.
        this.prepareRebalance();
        break;
      default:
        // PreparingRebalance: the member now waits for the join phase like everyone else.
        break;
    }
  }

  private add(member: Member, token: number): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.votes.add(member);
    member.joinToken = token;
    this.numAwaitingJoin++;
    this.pendingMembers.delete(member.memberId);
  }

  private remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.votes.remove(member);
      if (member.awaitingJoin) this.numAwaitingJoin--;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingMembers.delete(memberId);
    this.pendingSync.delete(memberId);
  }

  private removeMemberAndUpdate(member: Member): void {
    // A member removed while its JoinGroup (or SyncGroup) waits is told so; it may join again.
    this.invokeJoin(member, errorJoin('', ErrorCode.UNKNOWN_MEMBER_ID));
    this.invokeSync(member, errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    this.cancel(HEARTBEAT_PREFIX + member.memberId);
    this.remove(member.memberId);
    switch (this.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance();
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin();
        break;
      default:
        break;
    }
  }

  private removePendingMember(memberId: string): void {
    this.cancel(PENDING_PREFIX + memberId);
    this.remove(memberId);
    if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
  }

  private maybePrepareRebalance(): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty') this.prepareRebalance();
  }

  private prepareRebalance(): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) m.assignment = EMPTY;
      this.propagateAssignment(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.pendingSync.clear();
    this.cancel(SYNC_TIMER);
    if (this.state === 'Empty') {
      const delay = this.options.initialRebalanceDelayMs;
      this.joinPhase = { kind: 'initial', delayMs: delay, remainingMs: Math.max(this.rebalanceTimeoutMs() - delay, 0) };
      this.schedule(JOIN_TIMER, delay);
    } else {
      this.joinPhase = { kind: 'normal' };
      this.schedule(JOIN_TIMER, this.rebalanceTimeoutMs());
    }
    this.transition('PreparingRebalance');
    this.tryCompleteJoin();
  }

  private hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** The join phase of a running group ends as soon as every known member has rejoined. */
  private tryCompleteJoin(): void {
    if (this.state === 'PreparingRebalance' && this.joinPhase?.kind === 'normal' && this.hasAllMembersJoined()) {
      this.cancel(JOIN_TIMER);
      this.completeJoin();
    }
  }

  private onJoinTimer(): void {
    if (this.state !== 'PreparingRebalance' || this.joinPhase === null) return;
    const phase = this.joinPhase;
    if (phase.kind === 'initial' && this.newMemberAdded && phase.remainingMs !== 0) {
      // group.initial.rebalance.delay.ms: wait again while new members keep arriving, up to
      // the rebalance timeout in total.
      this.newMemberAdded = false;
      const delay = Math.min(this.options.initialRebalanceDelayMs, phase.remainingMs);
      this.joinPhase = { kind: 'initial', delayMs: delay, remainingMs: Math.max(phase.remainingMs - phase.delayMs, 0) };
      this.schedule(JOIN_TIMER, delay);
      return;
    }
    this.completeJoin();
  }

  private completeJoin(): void {
    this.joinPhase = null;
    // Dynamic members that did not rejoin in time are dropped; static ones stay (their
    // session timeout decides), as in Kafka.
    for (const m of [...this.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        this.cancel(HEARTBEAT_PREFIX + m.memberId);
        this.remove(m.memberId);
      }
    }
    if (!this.electJoinedLeader() && this.members.size > 0) {
      // Nobody rejoined: wait another rebalance timeout for session timeouts to clear them.
      this.joinPhase = { kind: 'normal' };
      this.schedule(JOIN_TIMER, this.rebalanceTimeoutMs());
      return;
    }
    this.initNextGeneration();
    if (this.state === 'Empty') return;
    for (const m of this.members.values()) {
      this.invokeJoin(m, this.joinResultFor(m.memberId));
      this.scheduleHeartbeat(m, m.sessionTimeoutMs);
      m.isNew = false;
      this.pendingSync.add(m.memberId);
    }
    // Members that do not send SyncGroup within the rebalance timeout are removed.
    this.schedule(SYNC_TIMER, this.rebalanceTimeoutMs());
  }

  /** Keeps the leader if it rejoined, else picks any member that did. False if none did. */
  private electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.members.get(this.leaderId)?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = subscribedTopics(this.protocolType, this.protocolName, this.members.values());
      this.transition('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.subscribedTopics = null;
      this.transition('Empty');
    }
    this.pendingSync.clear();
  }

  private joinResultFor(memberId: string): JoinResult {
    const isLeader = this.leaderId === memberId;
    const members: JoinMember[] = [];
    if (isLeader && this.protocolName !== null) {
      for (const m of this.members.values()) {
        members.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(this.protocolName) });
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId,
      members,
    };
  }

  private supportsProtocols(protocolType: string, names: readonly string[]): boolean {
    if (this.state === 'Empty') return protocolType !== '' && names.length > 0;
    return this.protocolType === protocolType && this.votes.anySupportedByAll(names, this.members.size);
  }

  /** The protocol the next generation would use (Kafka's selectProtocol). */
  selectProtocol(): string {
    return this.votes.select(this.members.values(), this.members.size);
  }

  // ---- sync ----------------------------------------------------------------------------

  private validateSync(p: SyncParams): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.validateCurrentMember(p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (p.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (p.protocolType !== null && p.protocolType !== this.protocolType) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (p.protocolName !== null && p.protocolName !== this.protocolName) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return ErrorCode.NONE;
  }

  private propagateAssignment(errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of this.members.values()) {
      const sent = this.invokeSync(m, {
        errorCode,
        protocolType: ok ? this.protocolType : null,
        protocolName: ok ? this.protocolName : null,
        assignment: m.assignment,
      });
      // The session clock restarts once a member has its assignment.
      if (sent) this.scheduleHeartbeat(m, m.sessionTimeoutMs);
    }
  }

  private removePendingSync(memberId: string): void {
    this.pendingSync.delete(memberId);
    if (this.pendingSync.size === 0) this.cancel(SYNC_TIMER);
  }

  private onSyncTimer(): void {
    if ((this.state !== 'CompletingRebalance' && this.state !== 'Stable') || this.pendingSync.size === 0) return;
    for (const id of [...this.pendingSync]) {
      const m = this.members.get(id);
      if (m) {
        this.invokeJoin(m, errorJoin('', ErrorCode.UNKNOWN_MEMBER_ID));
        this.cancel(HEARTBEAT_PREFIX + id);
      }
      this.remove(id);
    }
    this.prepareRebalance();
  }

  // ---- members, heartbeats -------------------------------------------------------------

  /** Kafka's validateCurrentMember: a static id must map to this member id; the member must exist. */
  private validateCurrentMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private scheduleHeartbeat(member: Member, timeoutMs: number): void {
    this.schedule(HEARTBEAT_PREFIX + member.memberId, timeoutMs);
  }

  private onHeartbeatTimer(memberId: string): void {
    const member = this.members.get(memberId);
    if (!member) return;
    // Members waiting in a join or sync phase are covered by the rebalance timeouts; a new
    // member that never completed a join is not.
    if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) return;
    this.removeMemberAndUpdate(member);
  }

  // ---- plumbing ------------------------------------------------------------------------

  private transition(to: GroupState): void {
    if (!VALID_PREVIOUS[to].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${to}`);
    }
    this.state = to;
    this.stateTimestamp = this.options.now();
  }

  private invokeJoin(member: Member, result: JoinResult): boolean {
    if (member.joinToken === null) return false;
    this.replyJoin(member.joinToken, result);
    member.joinToken = null;
    this.numAwaitingJoin--;
    return true;
  }

  private invokeSync(member: Member, result: SyncResult): boolean {
    if (member.syncToken === null) return false;
    this.replySync(member.syncToken, result);
    member.syncToken = null;
    return true;
  }
}
