import { describe, expect, it } from 'vitest';
import { TailCache, TailCacheBudget } from './tail-cache.js';

const batch = (base: bigint, count: number, size: number) => ({
  baseOffset: base,
  lastOffset: base + BigInt(count - 1),
  bytes: Buffer.alloc(size, Number(base % 256n)),
});

describe('TailCache', () => {
  it('covers from its start offset and answers reads at the end with nothing', () => {
    const c = new TailCache(100, 7n);
    expect(c.coveredFrom).toBe(7n);
    expect(c.read(6n, 100, 7n, true)).toBeUndefined();
    expect(c.read(7n, 100, 7n, true)).toEqual([]);
  });

  it('evicts the oldest batches to stay within its budget', () => {
    const c = new TailCache(100, 0n);
    c.push(batch(0n, 2, 40));
    c.push(batch(2n, 2, 40));
    c.push(batch(4n, 2, 40));
    expect(c.bytes).toBe(80);
    expect(c.count).toBe(2);
    expect(c.coveredFrom).toBe(2n);
    expect(c.read(1n, 1000, 6n, true)).toBeUndefined();
    expect(c.read(3n, 1000, 6n, true)!.map((b) => b.length)).toEqual([40, 40]);
  });

  it('empties itself for a batch larger than its budget', () => {
    const c = new TailCache(50, 0n);
    c.push(batch(0n, 1, 10));
    c.push(batch(1n, 3, 60));
    expect(c.count).toBe(0);
    expect(c.coveredFrom).toBe(4n);
    expect(c.read(3n, 100, 4n, true)).toBeUndefined();
    c.push(batch(4n, 1, 10));
    expect(c.read(4n, 100, 5n, true)).toHaveLength(1);
  });

  it('applies maxBytes, minOneBatch and maxOffset', () => {
    const c = new TailCache(1000, 0n);
    for (let i = 0n; i < 5n; i++) c.push(batch(i * 2n, 2, 30));
    expect(c.read(0n, 65, 10n, true)).toHaveLength(2);
    expect(c.read(0n, 10, 10n, true)).toHaveLength(1);
    expect(c.read(0n, 10, 10n, false)).toHaveLength(0);
    expect(c.read(0n, 1000, 5n, true)).toHaveLength(3);
    expect(c.read(9n, 1000, 10n, true)![0]![0]).toBe(8);
  });

  it('drops batches below a new log start', () => {
    const c = new TailCache(1000, 0n);
    for (let i = 0n; i < 3n; i++) c.push(batch(i * 2n, 2, 10));
    c.truncateBefore(3n);
    expect(c.count).toBe(2);
    expect(c.coveredFrom).toBe(2n);
    c.truncateBefore(6n);
    expect(c.count).toBe(0);
    expect(c.coveredFrom).toBe(6n);
  });
});

describe('TailCacheBudget', () => {
  it('bounds the caches of all partitions together, evicting the batches cached longest ago', () => {
    const budget = new TailCacheBudget(100);
    const a = new TailCache(80, 0n, budget);
    const b = new TailCache(80, 0n, budget);
    a.push(batch(0n, 1, 30));
    b.push(batch(0n, 1, 30));
    a.push(batch(1n, 1, 30));
    expect(budget.bytes).toBe(90);
    b.push(batch(1n, 1, 30)); // 120 > 100: a's first batch (the oldest overall) goes
    expect(budget.bytes).toBe(90);
    expect(a.coveredFrom).toBe(1n);
    expect(a.read(0n, 1000, 2n, true)).toBeUndefined();
    expect(b.read(0n, 1000, 2n, true)!.length).toBe(2);
    b.push(batch(2n, 1, 30)); // b's oldest goes next
    expect(b.coveredFrom).toBe(1n);
    expect(budget.bytes).toBe(90);
  });

  it('releases what a cache evicts or clears by itself', () => {
    const budget = new TailCacheBudget(1000);
    const a = new TailCache(50, 0n, budget);
    for (let i = 0n; i < 100n; i++) a.push(batch(i, 1, 20));
    expect(a.bytes).toBe(40);
    expect(budget.bytes).toBe(40);
    a.clear(100n);
    expect(budget.bytes).toBe(0);
    a.push(batch(100n, 1, 60)); // larger than the partition cap: not cached at all
    expect(budget.bytes).toBe(0);
  });

  it('makes room for read-aheads by evicting the oldest batches, up to half the budget', () => {
    const budget = new TailCacheBudget(100);
    const a = new TailCache(100, 0n, budget);
    a.push(batch(0n, 1, 30));
    a.push(batch(1n, 1, 30));
    a.push(batch(2n, 1, 30));
    expect(budget.reserveAhead(20)).toBe(true); // 110 > 100: the oldest batch goes
    expect(a.coveredFrom).toBe(1n);
    expect(budget.bytes).toBe(80);
    expect(budget.reserveAhead(40)).toBe(false); // 60 > 50: refused, nothing evicted
    expect(a.coveredFrom).toBe(1n);
    expect(budget.reserveAhead(30)).toBe(true);
    expect(a.coveredFrom).toBe(2n);
    expect(budget.bytes).toBe(80);
    a.push(batch(3n, 1, 30)); // cached batches make room while read-aheads are held
    expect(a.coveredFrom).toBe(3n);
    expect(budget.bytes).toBe(80);
    budget.releaseAhead(50);
    expect(budget.bytes).toBe(30);
    a.push(batch(4n, 1, 30));
    expect(a.coveredFrom).toBe(3n);
  });
});
