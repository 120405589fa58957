import type { ProtocolEntry } from './types.js';

const EMPTY = Buffer.alloc(0);

/**
 * Bytes a member's protocols take: names and metadata. This is what the leader's JoinGroup
 * response carries for it and what the group keeps in memory, so the metadata limits count it.
 */
export function protocolBytes(protocols: readonly ProtocolEntry[]): number {
  let n = 0;
  for (const p of protocols) n += Buffer.byteLength(p.name, 'utf8') + p.metadata.length;
  return n;
}

/** One member of a classic group, as the coordinator keeps it between requests. */
export class Member {
  assignment: Buffer = EMPTY;
  /** Reply token of a JoinGroup waiting for the join phase to end; null when none waits. */
  joinToken: number | null = null;
  /** Reply token of a SyncGroup waiting for the leader's assignment. */
  syncToken: number | null = null;
  /** Joined but not yet through a completed join phase: expires after NEW_MEMBER_JOIN_TIMEOUT_MS. */
  isNew = false;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: ProtocolEntry[],
  ) {}

  get awaitingJoin(): boolean {
    return this.joinToken !== null;
  }

  get awaitingSync(): boolean {
    return this.syncToken !== null;
  }

  get protocolBytes(): number {
    return protocolBytes(this.protocols);
  }

  metadataFor(protocolName: string): Buffer {
    for (const p of this.protocols) if (p.name === protocolName) return p.metadata;
    return EMPTY;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly ProtocolEntry[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!;
      const b = this.protocols[i]!;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    for (const p of this.protocols) if (candidates.has(p.name)) return p.name;
    return undefined;
  }
}
