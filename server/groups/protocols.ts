import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-protocol.js';
import type { Member } from './member.js';

/**
 * How many members support each protocol name, for Kafka's protocol checks and selection.
 * Members are counted in with `add` and out with `remove` whenever their protocols change.
 */
export class ProtocolVotes {
  private readonly supported = new Map<string, number>();

  add(member: Member): void {
    this.count(member, +1);
  }

  remove(member: Member): void {
    this.count(member, -1);
  }

  private count(member: Member, delta: number): void {
    // A name a member lists twice (a malformed JoinGroup) still counts as one member's support,
    // or a lone member would never reach "supported by all" and selection would find nothing.
    for (const name of new Set(member.protocols.map((p) => p.name))) {
      const n = (this.supported.get(name) ?? 0) + delta;
      if (n === 0) this.supported.delete(name);
      else this.supported.set(name, n);
    }
  }

  /** Whether one of the names is supported by all `memberCount` members. */
  anySupportedByAll(names: readonly string[], memberCount: number): boolean {
    return names.some((n) => this.supported.get(n) === memberCount);
  }

  /**
   * Every member votes for its most preferred protocol among those all members support; the
   * most votes win. Kafka leaves ties to hash order; here the earliest member's vote wins.
   */
  select(members: Iterable<Member>, memberCount: number): string {
    const candidates = new Set<string>();
    for (const [name, n] of this.supported) if (n === memberCount) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of members) {
      const vote = m.vote(candidates);
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = 0;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    if (best === null) throw new Error('no protocol common to all members');
    return best;
  }
}

/**
 * Topics a consumer group's members subscribe to under the selected protocol, or null when
 * unknown (another protocol type, or metadata that does not parse).
 */
export function subscribedTopics(protocolType: string | null, protocolName: string | null, members: Iterable<Member>): Set<string> | null {
  if (protocolType !== CONSUMER_PROTOCOL_TYPE || protocolName === null) return null;
  const topics = new Set<string>();
  for (const m of members) {
    const t = subscribedTopicsOf(m.metadataFor(protocolName));
    if (t === null) return null;
    for (const name of t) topics.add(name);
  }
  return topics;
}
