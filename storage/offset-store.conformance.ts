import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GROUP_ID_BYTES, type OffsetRecord, type OffsetStore } from './offset-store.js';

/**
 * The behaviour every OffsetStore must show, written once and run against MySQL and the
 * in-memory double the coordinator tests use (testing/memory-offset-store.ts), so the double
 * cannot drift from the real thing. Expected values are written out by hand from what each
 * test committed.
 */
export interface OffsetStoreHarness {
  /** A store holding no offsets (a new one, or the same one emptied). */
  emptyStore(): Promise<OffsetStore>;
  close(): Promise<void>;
}

function record(topic: string, partition: number, offset: bigint, over: Partial<OffsetRecord> = {}): OffsetRecord {
  return { topic, partition, offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: null, ...over };
}

const byGroupId = (a: { groupId: string }, b: { groupId: string }) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0);

export function describeOffsetStore(name: string, factory: () => Promise<OffsetStoreHarness>): void {
  describe(`OffsetStore conformance: ${name}`, () => {
    let harness: OffsetStoreHarness;
    let store: OffsetStore;
    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.close();
    });
    const fresh = async () => (store = await harness.emptyStore());

    it('commits, replaces and fetches offsets with epoch, metadata and timestamps', async () => {
      await fresh();
      await store.commit('g', [
        record('orders', 0, 10n, { leaderEpoch: 3, metadata: 'from consumer ✓' }),
        record('orders', 1, 9_223_372_036_854_775_807n, { expireTimestamp: 5000 }),
      ]);
      await store.commit('g', [record('orders', 0, 11n, { commitTimestamp: 2000 })]);
      expect(await store.fetch('g', null)).toEqual([
        record('orders', 0, 11n, { commitTimestamp: 2000 }),
        record('orders', 1, 9_223_372_036_854_775_807n, { expireTimestamp: 5000 }),
      ]);
      expect(await store.fetch('g', [{ topic: 'orders', partitions: [1, 7] }, { topic: 'none', partitions: [0] }])).toEqual([
        record('orders', 1, 9_223_372_036_854_775_807n, { expireTimestamp: 5000 }),
      ]);
      expect(await store.fetch('other', null)).toEqual([]);
      expect(await store.fetch('g', [{ topic: 'ünïcode', partitions: [0] }])).toEqual([]);
      expect(await store.fetch('g', [])).toEqual([]);
    });

    it('fetches in topic then partition order, whatever the commit order', async () => {
      await fresh();
      await store.commit('g', [record('b', 2, 1n), record('a', 1, 2n), record('b', 0, 3n), record('B', 5, 4n), record('a', 0, 5n)]);
      const order = (rs: OffsetRecord[]) => rs.map((r) => `${r.topic}-${r.partition}`);
      expect(order(await store.fetch('g', null))).toEqual(['B-5', 'a-0', 'a-1', 'b-0', 'b-2']);
      expect(order(await store.fetch('g', [{ topic: 'b', partitions: [2, 0] }, { topic: 'a', partitions: [1] }]))).toEqual([
        'a-1',
        'b-0',
        'b-2',
      ]);
    });

    it('keeps the last of two offsets for one partition in a single commit', async () => {
      await fresh();
      await store.commit('g', [record('t', 0, 1n), record('t', 0, 2n, { metadata: 'second' })]);
      expect(await store.fetch('g', null)).toEqual([record('t', 0, 2n, { metadata: 'second' })]);
    });

    it('hands out copies: changing a fetched record changes nothing stored', async () => {
      await fresh();
      const committed = [record('t', 0, 1n)];
      await store.commit('g', committed);
      committed[0]!.offset = 99n;
      const [first] = await store.fetch('g', null);
      first!.offset = 42n;
      expect(await store.fetch('g', null)).toEqual([record('t', 0, 1n)]);
    });

    it('commits a large batch of partitions in chunks', async () => {
      await fresh();
      const many = Array.from({ length: 1203 }, (_, i) => record(`t${i % 7}`, i, BigInt(i)));
      await store.commit('big', many);
      const back = await store.fetch('big', null);
      expect(back).toHaveLength(1203);
      expect(back.find((r) => r.partition === 1202)).toEqual(record('t5', 1202, 1202n));
    });

    it('keeps group ids apart byte for byte (case, trailing spaces, non-ASCII)', async () => {
      await fresh();
      const ids = ['Group', 'group', 'group ', 'grüppe', '组'];
      for (const [i, id] of ids.entries()) await store.commit(id, [record('t', 0, BigInt(i))]);
      for (const [i, id] of ids.entries()) expect((await store.fetch(id, null)).map((r) => r.offset)).toEqual([BigInt(i)]);
      expect((await store.listGroups()).map((g) => g.groupId).sort()).toEqual([...ids].sort());
      expect(await store.existingGroups(['group', 'GROUP', '组', 'x'])).toEqual(new Set(['group', '组']));
    });

    it('makes no group of a commit without offsets', async () => {
      await fresh();
      await store.commit('empty', []);
      expect(await store.listGroups()).toEqual([]);
      expect(await store.existingGroups(['empty'])).toEqual(new Set());
      expect(await store.fetch('empty', null)).toEqual([]);
    });

    it('rejects what MySQL cannot hold (group id over the byte limit, topic name not ASCII or too long), storing none of that commit', async () => {
      await fresh();
      const longest = 'é'.repeat(MAX_GROUP_ID_BYTES / 2);
      await store.commit(longest, [record('t', 0, 1n)]);
      expect((await store.fetch(longest, null)).map((r) => r.offset)).toEqual([1n]);
      await expect(store.commit(longest + 'x', [record('t', 0, 1n)])).rejects.toThrow();
      await expect(store.commit('g', [record('ok', 0, 1n), record('ünï', 0, 1n)])).rejects.toThrow();
      await expect(store.commit('g', [record('ok', 0, 1n), record('x'.repeat(250), 0, 1n)])).rejects.toThrow();
      await store.commit('g', [record('x'.repeat(249), 0, 7n)]);
      expect((await store.fetch('g', null)).map((r) => `${r.topic.length}:${r.offset}`)).toEqual(['249:7']);
      expect((await store.listGroups()).map((g) => g.groupId).sort()).toEqual(['g', longest]);
    });

    it('deletes offsets by partition, by group and by topic', async () => {
      await fresh();
      await store.commit('a', [record('t1', 0, 1n), record('t1', 1, 1n), record('t2', 0, 1n)]);
      await store.commit('b', [record('t1', 0, 1n), record('t2', 0, 1n)]);
      expect(await store.deleteOffsets('a', [{ topic: 't1', partitions: [1, 5] }])).toBe(1);
      expect(await store.deleteTopics(['t2'])).toBe(2);
      expect((await store.fetch('a', null)).map((r) => `${r.topic}-${r.partition}`)).toEqual(['t1-0']);
      expect(await store.deleteGroups(['a', 'missing', 'a'])).toBe(1);
      expect((await store.listGroups()).map((g) => g.groupId)).toEqual(['b']);
      expect(await store.deleteGroups([])).toBe(0);
      expect(await store.deleteTopics([])).toBe(0);
    });

    it('forgets a group whose last offset was deleted', async () => {
      await fresh();
      await store.commit('a', [record('t', 0, 1n)]);
      await store.commit('b', [record('u', 0, 1n)]);
      expect(await store.deleteOffsets('a', [{ topic: 't', partitions: [0] }])).toBe(1);
      expect(await store.deleteTopics(['u'])).toBe(1);
      expect(await store.existingGroups(['a', 'b'])).toEqual(new Set());
      expect(await store.listGroups()).toEqual([]);
    });

    it('lists groups with their offset count and latest commit', async () => {
      await fresh();
      await store.commit('a', [record('t', 0, 1n, { commitTimestamp: 10 }), record('t', 1, 1n, { commitTimestamp: 30 })]);
      await store.commit('b', [record('t', 0, 1n, { commitTimestamp: 20 })]);
      expect((await store.listGroups()).sort(byGroupId)).toEqual([
        { groupId: 'a', offsetCount: 2, lastCommitTimestamp: 30 },
        { groupId: 'b', offsetCount: 1, lastCommitTimestamp: 20 },
      ]);
    });

    it('expires offsets by commit time, by the time the group became empty, and by explicit expiry', async () => {
      await fresh();
      const retentionMs = 1000;
      await store.commit('g', [
        record('old', 0, 1n, { commitTimestamp: 100 }),
        record('new', 0, 1n, { commitTimestamp: 900 }),
        record('explicit', 0, 1n, { commitTimestamp: 900, expireTimestamp: 1500 }),
        record('kept', 0, 1n, { commitTimestamp: 100 }),
      ]);
      // Per-commit rule at t=1200: 'old' (1100 ms old) goes; 'kept' is subscribed.
      expect(await store.expireOffsets('g', { now: 1200, retentionMs, since: null, keepTopics: ['kept'] })).toBe(1);
      expect((await store.fetch('g', null)).map((r) => r.topic)).toEqual(['explicit', 'kept', 'new']);
      // Explicit expiry at 1500 wins over the retention rule.
      expect(await store.expireOffsets('g', { now: 1500, retentionMs, since: null, keepTopics: ['kept'] })).toBe(1);
      // Empty since 1000: nothing until 2000, then everything.
      expect(await store.expireOffsets('g', { now: 1999, retentionMs, since: 1000 })).toBe(0);
      expect(await store.expireOffsets('g', { now: 2000, retentionMs, since: 1000 })).toBe(2);
      expect(await store.listGroups()).toEqual([]);
      expect(await store.expireOffsets('missing', { now: 2000, retentionMs, since: null })).toBe(0);
    });

    it('counts an explicit expiry before the group-empty rule, and keeps subscribed topics under both', async () => {
      await fresh();
      await store.commit('g', [
        record('a', 0, 1n, { commitTimestamp: 0, expireTimestamp: 500 }),
        record('b', 0, 1n, { commitTimestamp: 0 }),
        record('kept', 0, 1n, { commitTimestamp: 0, expireTimestamp: 500 }),
      ]);
      // Empty since 900: the retention rule expires nothing before 1900, the explicit expiry at 500 does.
      expect(await store.expireOffsets('g', { now: 600, retentionMs: 1000, since: 900, keepTopics: ['kept'] })).toBe(1);
      expect((await store.fetch('g', null)).map((r) => r.topic)).toEqual(['b', 'kept']);
      expect(await store.expireOffsets('g', { now: 1900, retentionMs: 1000, since: 900, keepTopics: ['kept'] })).toBe(1);
      expect((await store.fetch('g', null)).map((r) => r.topic)).toEqual(['kept']);
    });
  });
}
