import { ErrorCode } from '../../codec/error-codes.js';
import { errorJoin, errorSync, type Effect } from './effects.js';
import { EMPTY, GroupCore, HEARTBEAT_PREFIX, JOIN_TIMER, SYNC_TIMER } from './group-core.js';
import { subscribedTopics } from './protocols.js';
import type { JoinMember, JoinResult, SyncParams } from './types.js';

/**
 * The rebalance of a group: the join phase (PreparingRebalance: who rejoined, the initial
 * delay, the rebalance timeout, the next generation and its leader and protocol), the sync
 * phase (CompletingRebalance: the leader's assignment handed out, members that never sync
 * removed), and the SyncGroup event that drives it. Membership changes (group.ts) call in
 * here to start or finish a join phase.
 */
export abstract class RebalancingGroup extends GroupCore {
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

  /** The protocol the next generation would use (Kafka's selectProtocol). */
  selectProtocol(): string {
    return this.votes.select(this.members.values(), this.members.size);
  }

  // ---- join phase ----------------------------------------------------------------------

  protected maybePrepareRebalance(): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty') this.prepareRebalance();
  }

  protected prepareRebalance(): void {
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
  protected tryCompleteJoin(): void {
    if (this.state === 'PreparingRebalance' && this.joinPhase?.kind === 'normal' && this.hasAllMembersJoined()) {
      this.cancel(JOIN_TIMER);
      this.completeJoin();
    }
  }

  protected onJoinTimer(): void {
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

  protected joinResultFor(memberId: string): JoinResult {
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

  protected supportsProtocols(protocolType: string, names: readonly string[]): boolean {
    if (this.state === 'Empty') return protocolType !== '' && names.length > 0;
    return this.protocolType === protocolType && this.votes.anySupportedByAll(names, this.members.size);
  }

  // ---- sync phase ----------------------------------------------------------------------

  private validateSync(p: SyncParams): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.validateCurrentMember(p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (p.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (p.protocolType !== null && p.protocolType !== this.protocolType) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    if (p.protocolName !== null && p.protocolName !== this.protocolName) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return ErrorCode.NONE;
  }

  protected propagateAssignment(errorCode: number): void {
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

  protected onSyncTimer(): void {
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
}
