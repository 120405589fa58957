/**
 * The fetch session cache's slots and eviction, on a hand-driven clock (Kafka 3.9's
 * FetchSessionCacheShard rules: stale least-recently-used first, then (privileged, size, id)
 * among sessions old enough when last used; 8 shards of slots/8).
 */
import { describe, expect, it } from 'vitest';
import { FetchSessionCache, FetchSessionCacheShard } from './cache.js';
import { nextEpoch, type PartitionFetch } from './session.js';

const EVICTION_MS = 1000;

function part(partition: number): PartitionFetch {
  return { topic: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 };
}

/** Ids handed out in order 1, 2, 3, ... (so eviction order by id is predictable). */
function counting(): (min: number, max: number) => number {
  let next = 0;
  return (min) => min + next++;
}

function create(shard: FetchSessionCacheShard, now: number, size: number, privileged = false): number {
  return shard.maybeCreateSession(now, privileged, size, false, (s) => {
    for (let p = 0; p < size; p++) s.add(part(p));
  });
}

describe('fetch session cache shard', () => {
  it('fills its slots, then refuses a session no bigger than any while none is stale', () => {
    const shard = new FetchSessionCacheShard(2, EVICTION_MS, 0x7fffffff, 0, counting());
    expect(create(shard, 0, 3)).toBe(1);
    expect(create(shard, 0, 3)).toBe(2);
    expect(create(shard, 10, 3)).toBe(0);
    // Bigger, but both sessions are younger than the eviction time.
    expect(create(shard, 10, 50)).toBe(0);
    expect(shard.size).toBe(2);
    expect(shard.totalPartitions).toBe(6);
    expect(shard.get(1)!.epoch).toBe(1);
  });

  it('a new session takes the slot of the least recently used one once it is unused for more than the eviction time', () => {
    const shard = new FetchSessionCacheShard(2, EVICTION_MS, 0x7fffffff, 0, counting());
    create(shard, 0, 5);
    create(shard, 100, 5);
    shard.touch(shard.get(1)!, 500); // 1 used at 500, 2 at 100: 2 is the least recently used
    expect(create(shard, 1100, 1)).toBe(0); // 2 unused for exactly 1000 ms: not more
    expect(create(shard, 1101, 1)).toBe(3);
    expect(shard.get(2)).toBeUndefined();
    expect(shard.get(1)).toBeDefined();
    expect(shard.evictions).toBe(1);
    expect(shard.totalPartitions).toBe(6);
  });

  it('with equal last use, the lower id goes first', () => {
    const shard = new FetchSessionCacheShard(2, EVICTION_MS, 0x7fffffff, 0, counting());
    create(shard, 0, 5);
    create(shard, 0, 5);
    expect(create(shard, 5000, 1)).toBe(3);
    expect([shard.get(1), shard.get(2)].map((s) => s !== undefined)).toEqual([false, true]);
  });

  it('a bigger session takes the slot of the smallest one that was older than the eviction time when last used', () => {
    const shard = new FetchSessionCacheShard(3, EVICTION_MS, 0x7fffffff, 0, counting());
    create(shard, 0, 10); // 1
    create(shard, 0, 4); // 2
    create(shard, 0, 6); // 3
    // Used again at 1001 (1 and 3) and 900 (2): 2 was not yet old when last used.
    shard.touch(shard.get(1)!, 1001);
    shard.touch(shard.get(2)!, 900);
    shard.touch(shard.get(3)!, 1001);
    // Nothing is stale at 1500 (least recently used: 2 at 900, 600 ms ago).
    expect(create(shard, 1500, 6)).toBe(0); // not bigger than 3 (6), the smallest evictable
    expect(create(shard, 1500, 7)).toBe(4); // bigger than 3: takes its slot
    expect(shard.get(3)).toBeUndefined();
    // 2 (4 partitions) is still not evictable by size: it was young when last used.
    expect(create(shard, 1500, 8)).toBe(0);
    expect(shard.get(2)).toBeDefined();
  });

  it('a privileged session may take the slot of any unprivileged one, young or not', () => {
    const shard = new FetchSessionCacheShard(1, EVICTION_MS, 0x7fffffff, 0, counting());
    create(shard, 0, 100);
    expect(create(shard, 10, 1)).toBe(0);
    expect(create(shard, 10, 1, true)).toBe(2);
    // A young privileged session cannot be evicted by an unprivileged one, however big.
    expect(create(shard, 20, 1000)).toBe(0);
  });

  it('session ids stay inside the shard range and skip ids in use', () => {
    const ids = [5, 5, 6];
    const shard = new FetchSessionCacheShard(10, EVICTION_MS, 100, 3, (min, max) => {
      expect([min, max]).toEqual([300, 400]);
      return 300 + ids.shift()!;
    });
    expect(create(shard, 0, 1)).toBe(305);
    expect(create(shard, 0, 1)).toBe(306);
  });

  it('touch re-counts the partitions of a session that grew or shrank', () => {
    const shard = new FetchSessionCacheShard(2, EVICTION_MS, 0x7fffffff, 0, counting());
    create(shard, 0, 3);
    const s = shard.get(1)!;
    s.update([part(7), part(8)], [{ topic: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partition: 0 }]);
    shard.touch(s, 1);
    expect(shard.totalPartitions).toBe(4);
    shard.remove(s);
    expect([shard.size, shard.totalPartitions]).toEqual([0, 0]);
  });
});

describe('fetch session cache (8 shards)', () => {
  it('splits the slots over 8 shards: 7 slots make no session, 16 make two per shard', () => {
    const none = new FetchSessionCache({ maxSlots: 7, evictionMs: EVICTION_MS });
    for (let i = 0; i < 8; i++) expect(none.nextCacheShard().maybeCreateSession(0, false, 1, false, () => {})).toBe(0);
    const cache = new FetchSessionCache({ maxSlots: 16, evictionMs: EVICTION_MS });
    const ids: number[] = [];
    for (let i = 0; i < 24; i++) ids.push(cache.nextCacheShard().maybeCreateSession(0, false, 1, false, (s) => s.add(part(0))));
    expect(ids.filter((id) => id !== 0)).toHaveLength(16);
    // Round robin: the third pass over the shards finds each full.
    expect(ids.slice(16)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const range = Math.floor(0x7fffffff / 8);
    for (let i = 0; i < 16; i++) {
      const shardNum = i % 8;
      expect(ids[i]).toBeGreaterThanOrEqual(Math.max(1, shardNum * range));
      expect(ids[i]).toBeLessThan((shardNum + 1) * range);
      expect(cache.get(ids[i]!)!.id).toBe(ids[i]);
    }
    expect(cache.stats()).toEqual({ sessions: 16, partitions: 16, evictions: 0 });
  });

  it('ids no shard gives out are not found', () => {
    const cache = new FetchSessionCache({ maxSlots: 1000, evictionMs: EVICTION_MS });
    expect(cache.get(0)).toBeUndefined();
    expect(cache.get(-7)).toBeUndefined();
    expect(cache.shardOf(0x7fffffff)).toBeUndefined();
  });

  it('epochs count up from 1 and wrap from 2^31-1 to 1; FINAL stays FINAL', () => {
    expect([nextEpoch(0), nextEpoch(1), nextEpoch(0x7fffffff), nextEpoch(-1)]).toEqual([1, 2, 1, -1]);
  });
});
