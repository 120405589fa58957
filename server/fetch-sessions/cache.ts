/**
 * The broker's fetch session cache, as Kafka 3.9's FetchSessionCache: 8 shards, each with
 * `max.incremental.fetch.session.cache.slots / 8` slots (integer division, so fewer than 8
 * slots means no sessions at all, as in Kafka) and its own range of session ids; a new
 * session goes to the next shard in turn, and eviction looks only inside that shard.
 *
 * When a shard is full, a new session may take the slot of (Kafka's tryEvict):
 * 1. the least recently used session, if unused for more than the eviction time
 *    (`min.incremental.fetch.session.eviction.ms`, Kafka's fixed 120 s); otherwise
 * 2. the least valuable evictable session, ordered by (privileged, size, id), if the new one
 *    is worth more: privileged over not, then more partitions. A session becomes evictable by
 *    all only once it is older than the eviction time, as seen when it was last used; an
 *    unprivileged one is always evictable by a privileged one (only follower fetches are
 *    privileged; kafka-mysql has no followers, so every session here is a consumer's).
 *
 * Single-threaded here, so none of Kafka's locks. The clock is the caller's (`now` arguments):
 * tests drive it by hand. Sessions are few per shard (125 by default), so the orderings Kafka
 * keeps in tree maps are found by a scan when a full shard is asked for a new session.
 */
import { FetchSession, INITIAL_EPOCH, INVALID_SESSION_ID, nextEpoch } from './session.js';

export const CACHE_SHARDS = 8;
const MAX_INT32 = 0x7fffffff;

export interface CacheStats {
  sessions: number;
  partitions: number;
  evictions: number;
}

export class FetchSessionCacheShard {
  private readonly sessions = new Map<number, FetchSession>();
  private partitionCount = 0;
  evictions = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly evictionMs: number,
    readonly sessionIdRange: number = MAX_INT32,
    private readonly shardNum = 0,
    private readonly random: (min: number, max: number) => number = randomInt,
  ) {}

  get(sessionId: number): FetchSession | undefined {
    return this.sessions.get(sessionId);
  }

  get size(): number {
    return this.sessions.size;
  }

  get totalPartitions(): number {
    return this.partitionCount;
  }

  /** A new positive id unused in this shard, within the shard's range. */
  private newSessionId(): number {
    const min = Math.max(1, this.shardNum * this.sessionIdRange);
    const max = (this.shardNum + 1) * this.sessionIdRange;
    for (;;) {
      const id = this.random(min, max);
      if (id !== INVALID_SESSION_ID && !this.sessions.has(id)) return id;
    }
  }

  /**
   * A new session of `size` partitions filled by `fill`, if there is room or a slot can be
   * taken (see the file comment); its id, or INVALID_SESSION_ID (0) when none is made.
   */
  maybeCreateSession(now: number, privileged: boolean, size: number, usesTopicIds: boolean, fill: (session: FetchSession) => void): number {
    if (this.sessions.size >= this.maxEntries && !this.tryEvict(privileged, size, now)) return INVALID_SESSION_ID;
    const session = new FetchSession(this.newSessionId(), privileged, usesTopicIds, now, nextEpoch(INITIAL_EPOCH));
    fill(session);
    this.sessions.set(session.id, session);
    this.touch(session, now);
    return session.id;
  }

  private tryEvict(privileged: boolean, size: number, now: number): boolean {
    let lru: FetchSession | undefined;
    for (const s of this.sessions.values()) {
      if (!lru || s.lastUsedMs < lru.lastUsedMs || (s.lastUsedMs === lru.lastUsedMs && s.id < lru.id)) lru = s;
    }
    if (!lru) return false;
    if (now - lru.lastUsedMs > this.evictionMs) {
      this.remove(lru);
      this.evictions++;
      return true;
    }
    let victim: FetchSession | undefined;
    for (const s of this.sessions.values()) {
      if (!(privileged ? s.evictableByPrivileged : s.evictableByAll)) continue;
      if (!victim || compareEvictable(s, victim) < 0) victim = s;
    }
    if (!victim) return false;
    // The new entry's key is (privileged, size, 0): with the same privilege and size it is
    // smaller than any existing key (ids are positive), so it must be strictly worth more.
    const newKey = { privileged, cachedSize: size, id: 0 };
    if (compareEvictable(newKey, victim) < 0) return false;
    this.remove(victim);
    this.evictions++;
    return true;
  }

  remove(session: FetchSession): boolean {
    if (this.sessions.get(session.id) !== session) return false;
    this.sessions.delete(session.id);
    this.partitionCount -= session.cachedSize;
    session.cachedSize = -1;
    session.evictableByAll = false;
    session.evictableByPrivileged = false;
    return true;
  }

  /** Marks a session used now and re-files it (size, evictability), as Kafka's touch. */
  touch(session: FetchSession, now: number): void {
    session.lastUsedMs = now;
    if (session.cachedSize !== -1) this.partitionCount -= session.cachedSize;
    session.cachedSize = session.size;
    const old = now - session.creationMs > this.evictionMs;
    session.evictableByPrivileged = !session.privileged || old;
    session.evictableByAll = old;
    this.partitionCount += session.cachedSize;
  }
}

function compareEvictable(a: { privileged: boolean; cachedSize: number; id: number }, b: { privileged: boolean; cachedSize: number; id: number }): number {
  if (a.privileged !== b.privileged) return a.privileged ? 1 : -1;
  if (a.cachedSize !== b.cachedSize) return a.cachedSize - b.cachedSize;
  return a.id - b.id;
}

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min));
}

export interface FetchSessionCacheOptions {
  maxSlots: number;
  evictionMs: number;
  /** Shards (Kafka: 8). */
  shards?: number;
  /** Random integer in [min, max) for session ids; tests pass a deterministic one. */
  random?: (min: number, max: number) => number;
}

export class FetchSessionCache {
  private readonly shards: FetchSessionCacheShard[];
  private nextShard = 0;

  constructor(options: FetchSessionCacheOptions) {
    const count = options.shards ?? CACHE_SHARDS;
    const range = Math.floor(MAX_INT32 / count);
    const perShard = Math.floor(Math.max(0, options.maxSlots) / count);
    this.shards = Array.from({ length: count }, (_, n) => new FetchSessionCacheShard(perShard, options.evictionMs, range, n, options.random));
  }

  /** The shard owning a session id, or undefined for an id no shard can have given out. */
  shardOf(sessionId: number): FetchSessionCacheShard | undefined {
    // Kafka divides without a check and fails the request for ids past the last shard's
    // range; here such an id is simply not found.
    if (sessionId <= 0) return undefined;
    return this.shards[Math.floor(sessionId / this.shards[0]!.sessionIdRange)];
  }

  get(sessionId: number): FetchSession | undefined {
    return this.shardOf(sessionId)?.get(sessionId);
  }

  /** The shard that makes the next session (round robin). */
  nextCacheShard(): FetchSessionCacheShard {
    const shard = this.shards[this.nextShard]!;
    this.nextShard = (this.nextShard + 1) % this.shards.length;
    return shard;
  }

  stats(): CacheStats {
    let sessions = 0;
    let partitions = 0;
    let evictions = 0;
    for (const s of this.shards) {
      sessions += s.size;
      partitions += s.totalPartitions;
      evictions += s.evictions;
    }
    return { sessions, partitions, evictions };
  }
}
