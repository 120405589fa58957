import { ErrorCode } from '../../codec/error-codes.js';
import { errorJoin, errorSync, type Effect } from './effects.js';
import { HEARTBEAT_PREFIX, JOIN_TIMER, NEW_MEMBER_JOIN_TIMEOUT_MS, PENDING_PREFIX, SYNC_TIMER } from './group-core.js';
import { Member, protocolBytes } from './member.js';
import { RebalancingGroup } from './rebalance.js';
import type { HeartbeatParams, JoinParams, LeaveResult, LeavingMember } from './types.js';

export { JOIN_TIMER, NEW_MEMBER_JOIN_TIMEOUT_MS, SYNC_TIMER, type GroupOptions } from './group-core.js';

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
 *
 * In three layers: group-core.ts (state, members, plumbing), rebalance.ts (join and sync
 * phases, SyncGroup), and this file, the membership events: JoinGroup, Heartbeat, LeaveGroup,
 * commit validation, member timers, deletion.
 */
export class Group extends RebalancingGroup {
  // ---- events --------------------------------------------------------------------------

  /** JoinGroup. The reply comes back as a 'join-reply' effect for `token`, now or later. */
  join(p: JoinParams, token: number): Effect[] {
    if (this.state === 'Dead') {
      this.replyJoin(token, errorJoin(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } else if (!this.acceptJoiningMember(p.memberId) || !this.fitsMetadataLimit(p)) {
      this.refuseJoiningMember(p.memberId, token);
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

  /**
   * This broker stopped coordinating the group (several brokers: its id now hashes to another
   * broker). As Kafka's unloading on resignation: the group dies here and every request still
   * waiting is answered NOT_COORDINATOR, so its member looks the coordinator up again and
   * rejoins there (membership is not stored; committed offsets are, in MySQL).
   */
  resign(): Effect[] {
    for (const member of this.members.values()) {
      this.invokeJoin(member, errorJoin(member.memberId, ErrorCode.NOT_COORDINATOR));
      this.invokeSync(member, errorSync(ErrorCode.NOT_COORDINATOR));
    }
    this.transition('Dead');
    return this.drain();
  }

  // ---- join ----------------------------------------------------------------------------

  /**
   * group.max.size, as Kafka's acceptJoiningMember: while preparing a rebalance, a member
   * already waiting is accepted and others only while fewer than the limit wait (so the last
   * members to rejoin a group over the limit are the ones turned away); otherwise known members
   * are accepted and new ones while the group is below the limit. A restarted static member
   * comes without a member id and so counts as new, as in Kafka.
   */
  private acceptJoiningMember(memberId: string): boolean {
    switch (this.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return this.members.get(memberId)?.awaitingJoin === true || this.numAwaitingJoin < this.options.maxSize;
      default:
        return this.members.has(memberId) || this.members.size < this.options.maxSize;
    }
  }

  /**
   * group.metadata.max.bytes: the group's protocol bytes once this join is applied (a known
   * member's, or a replaced static member's, current protocols give way to the new ones).
   */
  private fitsMetadataLimit(p: JoinParams): boolean {
    const currentId = p.memberId !== '' ? p.memberId : p.groupInstanceId !== null ? this.staticMembers.get(p.groupInstanceId) : undefined;
    const replaced = currentId === undefined ? 0 : (this.members.get(currentId)?.protocolBytes ?? 0);
    return this.protocolBytes - replaced + protocolBytes(p.protocols) <= this.options.metadataMaxBytes;
  }

  /**
   * GROUP_MAX_SIZE_REACHED with an empty member id, as Kafka answers it; the member (or the
   * pending member id) is removed, as Kafka removes it, and the group rebalances without it.
   */
  private refuseJoiningMember(memberId: string, token: number): void {
    const member = this.members.get(memberId);
    if (member) this.removeMemberAndUpdate(member);
    else if (this.pendingMembers.has(memberId)) this.removePendingMember(memberId);
    this.replyJoin(token, errorJoin('', ErrorCode.GROUP_MAX_SIZE_REACHED));
  }

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
    this.protocolBytes -= member.protocolBytes;
    member.protocols = p.protocols;
    this.protocolBytes += member.protocolBytes;
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

  // ---- leaving -------------------------------------------------------------------------

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

  private onHeartbeatTimer(memberId: string): void {
    const member = this.members.get(memberId);
    if (!member) return;
    // Members waiting in a join or sync phase are covered by the rebalance timeouts; a new
    // member that never completed a join is not.
    if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) return;
    this.removeMemberAndUpdate(member);
  }
}
