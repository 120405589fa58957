import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestOffsetStore } from '../testing/mysql.js';
import type { MysqlOffsetStore, OffsetRecord } from './offset-store.js';

function record(topic: string, partition: number, offset: bigint, over: Partial<OffsetRecord> = {}): OffsetRecord {
  return { topic, partition, offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: null, ...over };
}

describe('MysqlOffsetStore', () => {
  let fixture: Awaited<ReturnType<typeof openTestOffsetStore>>;
  let pool: Pool;
  let store: MysqlOffsetStore;

  beforeAll(async () => {
    fixture = await openTestOffsetStore('offset store');
    ({ pool, store } = fixture);
  });
  afterAll(async () => {
    await fixture.close();
  });
  beforeEach(async () => {
    await pool.query('DELETE FROM group_offsets');
  });

  it('commits, replaces and fetches offsets with epoch, metadata and timestamps', async () => {
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
  });

  it('commits a large batch of partitions in chunks', async () => {
    const many = Array.from({ length: 1203 }, (_, i) => record(`t${i % 7}`, i, BigInt(i)));
    await store.commit('big', many);
    const back = await store.fetch('big', null);
    expect(back).toHaveLength(1203);
    expect(back.find((r) => r.partition === 1202)).toEqual(record('t5', 1202, 1202n));
  });

  it('keeps group ids apart byte for byte (case, trailing spaces, non-ASCII)', async () => {
    const ids = ['Group', 'group', 'group ', 'grüppe', '组'];
    for (const [i, id] of ids.entries()) await store.commit(id, [record('t', 0, BigInt(i))]);
    for (const [i, id] of ids.entries()) expect((await store.fetch(id, null)).map((r) => r.offset)).toEqual([BigInt(i)]);
    expect((await store.listGroups()).map((g) => g.groupId).sort()).toEqual([...ids].sort());
    expect(await store.existingGroups(['group', 'GROUP', '组', 'x'])).toEqual(new Set(['group', '组']));
  });

  it('deletes offsets by partition, by group and by topic', async () => {
    await store.commit('a', [record('t1', 0, 1n), record('t1', 1, 1n), record('t2', 0, 1n)]);
    await store.commit('b', [record('t1', 0, 1n), record('t2', 0, 1n)]);
    expect(await store.deleteOffsets('a', [{ topic: 't1', partitions: [1, 5] }])).toBe(1);
    expect(await store.deleteTopics(['t2'])).toBe(2);
    expect((await store.fetch('a', null)).map((r) => `${r.topic}-${r.partition}`)).toEqual(['t1-0']);
    expect(await store.deleteGroups(['a', 'missing'])).toBe(1);
    expect((await store.listGroups()).map((g) => g.groupId)).toEqual(['b']);
  });

  it('lists groups with their offset count and latest commit', async () => {
    await store.commit('a', [record('t', 0, 1n, { commitTimestamp: 10 }), record('t', 1, 1n, { commitTimestamp: 30 })]);
    expect(await store.listGroups()).toEqual([{ groupId: 'a', offsetCount: 2, lastCommitTimestamp: 30 }]);
  });

  it('expires offsets by commit time, by the time the group became empty, and by explicit expiry', async () => {
    const retentionMs = 1000;
    await store.commit('g', [
      record('old', 0, 1n, { commitTimestamp: 100 }),
      record('new', 0, 1n, { commitTimestamp: 900 }),
      record('explicit', 0, 1n, { commitTimestamp: 900, expireTimestamp: 1500 }),
      record('kept', 0, 1n, { commitTimestamp: 100 }),
    ]);
    // Per-commit rule at t=1200: 'old' (1100 ms old) goes; 'kept' is subscribed.
    expect(await store.expireOffsets('g', { now: 1200, retentionMs, since: null, keepTopics: ['kept'] })).toBe(1);
    // Explicit expiry at 1500 wins over the retention rule.
    expect(await store.expireOffsets('g', { now: 1500, retentionMs, since: null, keepTopics: ['kept'] })).toBe(1);
    // Empty since 1000: nothing until 2000, then everything.
    expect(await store.expireOffsets('g', { now: 1999, retentionMs, since: 1000 })).toBe(0);
    expect(await store.expireOffsets('g', { now: 2000, retentionMs, since: 1000 })).toBe(2);
    expect(await store.listGroups()).toEqual([]);
  });
});
