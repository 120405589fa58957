import { describe, expect, it } from 'vitest';
import type { CompactionRecord } from '../../codec/records/compaction.js';
import { BatchDecider, DirtyScan, addMark, firstCleanTimeOf, type BatchMeta } from './select.js';

/** A record as the scanner would report it (positions are irrelevant to the selection). */
function rec(offset: number, key: string | null, value: 'v' | null = 'v'): CompactionRecord {
  return { offset: BigInt(offset), timestamp: 0n, key: key === null ? null : Buffer.from(key), tombstone: value === null, start: 0, end: 0 };
}

function data(base: number, last: number, producerId = -1n, transactional = false): BatchMeta {
  return { baseOffset: BigInt(base), lastOffset: BigInt(last), producerId, isTransactional: transactional, isControl: false };
}

function marker(offset: number, producerId: bigint, type: 'commit' | 'abort'): BatchMeta {
  return { baseOffset: BigInt(offset), lastOffset: BigInt(offset), producerId, isTransactional: true, isControl: true, controlType: type };
}

const DAY = 86_400_000n;

describe('compaction selection', () => {
  // b0: a@0 b@1 (no key)@2 | b3: a@3, c@4 tombstone | b5: b@5 tombstone
  const batches: Array<[BatchMeta, CompactionRecord[]]> = [
    [data(0, 2), [rec(0, 'a'), rec(1, 'b'), rec(2, null)]],
    [data(3, 4), [rec(3, 'a'), rec(4, 'c', null)]],
    [data(5, 5), [rec(5, 'b', null)]],
  ];

  function scan(maxKeys = 100) {
    const s = new DirtyScan(maxKeys);
    for (const [b, r] of batches) s.add(b, r);
    return s.finish();
  }

  it('maps each key to its latest offset', () => {
    const r = scan();
    expect([...r.map.entries()].sort()).toEqual([
      ['ra', 3n],
      ['rb', 5n],
      ['rc', 4n],
    ]);
    expect(r.openTransactionStart).toBeNull();
    expect(r.end).toBeNull();
  });

  it('first run: drops superseded and keyless records, keeps tombstones until their horizon', () => {
    const now = 1_000n * DAY;
    const d = new BatchDecider({ ...scan(), lastOfProducer: new Set(), firstCleanTime: () => null, now, deleteRetentionMs: DAY });
    const [b0, b3, b5] = batches.map(([b, r]) => d.decide(b, r));
    expect(b0).toMatchObject({ action: 'delete', keep: [false, false, false], superseded: 2, noKey: 1 });
    expect(b3).toMatchObject({ action: 'keep', keep: [true, true] });
    expect(b5).toMatchObject({ action: 'keep', keep: [true] });
    expect(d.nextDue).toBe(now + DAY);
  });

  it('a later run drops tombstones whose first cleaning is delete.retention.ms ago, not younger ones', () => {
    const t0 = 1_000n * DAY;
    // The first run covered up to offset 5 at t0, a second one up to 6 at t0 + 12h.
    const marks: Array<[bigint, bigint]> = [
      [5n, t0],
      [6n, t0 + DAY / 2n],
    ];
    const d = new BatchDecider({ ...scan(), lastOfProducer: new Set(), firstCleanTime: (o) => firstCleanTimeOf(marks, o), now: t0 + DAY, deleteRetentionMs: DAY });
    const [, b3, b5] = batches.map(([b, r]) => d.decide(b, r));
    expect(b3).toMatchObject({ action: 'rewrite', keep: [true, false], tombstones: 1 });
    expect(b5).toMatchObject({ action: 'keep', keep: [true] }); // first cleaned at t0 + 12h
    expect(d.nextDue).toBe(t0 + DAY / 2n + DAY);
  });

  it('keeps the last batch of a producer, emptied, when none of its records stay', () => {
    const s = new DirtyScan(100);
    s.add(data(0, 0, 42n), [rec(0, 'a')]);
    s.add(data(1, 1), [rec(1, 'a')]);
    const d = new BatchDecider({ ...s.finish(), lastOfProducer: new Set([0n]), firstCleanTime: () => null, now: 0n, deleteRetentionMs: 0n });
    expect(d.decide(data(0, 0, 42n), [rec(0, 'a')])).toMatchObject({ action: 'rewrite', keep: [false] });
    // An empty batch that is no longer its producer's last goes.
    const d2 = new BatchDecider({ ...s.finish(), lastOfProducer: new Set(), firstCleanTime: () => null, now: 0n, deleteRetentionMs: 0n });
    expect(d2.decide(data(0, 0, 42n), [])).toMatchObject({ action: 'delete' });
  });

  it('transactions: aborted data never enters the map and is dropped; markers go once their data is gone; open ones are reported', () => {
    const txn: Array<[BatchMeta, CompactionRecord[]]> = [
      [data(10, 10, 7n, true), [rec(10, 'x')]],
      [marker(11, 7n, 'abort'), [rec(11, 'ctl')]],
      [data(12, 12, 8n, true), [rec(12, 'x')]],
      [marker(13, 8n, 'commit'), [rec(13, 'ctl')]],
      [data(14, 14), [rec(14, 'y')]],
      [data(15, 15, 9n, true), [rec(15, 'z')]],
    ];
    const s = new DirtyScan(100);
    for (const [b, r] of txn) s.add(b, r);
    const r = s.finish();
    expect([...r.map.entries()].sort()).toEqual([
      ['rx', 12n],
      ['ry', 14n],
    ]);
    expect([...r.aborted.entries()]).toEqual([[7n, [[10n, 11n]]]]);
    expect(r.openTransactionStart).toBe(15n);

    // The section ends before the open transaction (offset 15). Producer 7's last batch is its marker.
    const last = new Set([11n, 13n, 14n]);
    const first = new BatchDecider({ ...r, lastOfProducer: last, firstCleanTime: () => null, now: 0n, deleteRetentionMs: 0n });
    const d1 = txn.slice(0, 5).map(([b, rr]) => first.decide(b, rr).action);
    expect(d1).toEqual(['delete', 'keep', 'keep', 'keep', 'keep']);

    // Next run, horizon passed: producer 7's ABORT marker stays although its data is gone
    // (read_committed consumers need it to end the aborted range); producer 8's COMMIT marker
    // keeps its data's company.
    const again = new BatchDecider({ ...r, lastOfProducer: last, firstCleanTime: () => 0n, now: 10n, deleteRetentionMs: 0n });
    const d2 = txn.slice(1, 5).map(([b, rr]) => again.decide(b, rr));
    expect(d2.map((d) => d.action)).toEqual(['keep', 'keep', 'keep', 'keep']);
  });

  it('a COMMIT marker is emptied once its transaction has no data, when it is its producer\'s last batch', () => {
    const s = new DirtyScan(100);
    s.add(data(0, 0, 5n, true), [rec(0, 'k')]);
    s.add(marker(1, 5n, 'commit'), [rec(1, 'ctl')]);
    s.add(data(2, 2), [rec(2, 'k')]);
    const d = new BatchDecider({ ...s.finish(), lastOfProducer: new Set([1n]), firstCleanTime: () => 0n, now: 5n, deleteRetentionMs: 1n });
    expect(d.decide(data(0, 0, 5n, true), [rec(0, 'k')]).action).toBe('delete');
    expect(d.decide(marker(1, 5n, 'commit'), [rec(1, 'ctl')])).toMatchObject({ action: 'rewrite', keep: [false] });
  });

  it('a COMMIT marker not the last of its producer is deleted once its transaction is empty', () => {
    const s = new DirtyScan(100);
    s.add(data(0, 0, 5n, true), [rec(0, 'k')]);
    s.add(marker(1, 5n, 'commit'), [rec(1, 'ctl')]);
    s.add(data(2, 2), [rec(2, 'k')]);
    const d = new BatchDecider({ ...s.finish(), lastOfProducer: new Set(), firstCleanTime: () => 0n, now: 5n, deleteRetentionMs: 1n });
    expect(d.decide(data(0, 0, 5n, true), [rec(0, 'k')]).action).toBe('delete');
    expect(d.decide(marker(1, 5n, 'commit'), [rec(1, 'ctl')]).action).toBe('delete');
  });

  it('ends the section before the batch that would overflow the key map', () => {
    const s = new DirtyScan(2);
    expect(s.add(data(0, 0), [rec(0, 'a')])).toBe(true);
    expect(s.add(data(1, 1), [rec(1, 'b')])).toBe(true);
    expect(s.add(data(2, 2), [rec(2, 'c')])).toBe(false);
    expect(s.finish().end).toBe(2n);
  });

  it('marks: the first cleaning of an offset, never re-marked by a run that got no further', () => {
    let marks = addMark([], 10n, 100n);
    marks = addMark(marks, 10n, 200n);
    marks = addMark(marks, 20n, 300n);
    expect(marks).toEqual([
      [10n, 100n],
      [20n, 300n],
    ]);
    expect(firstCleanTimeOf(marks, 9n)).toBe(100n);
    expect(firstCleanTimeOf(marks, 10n)).toBe(300n);
    expect(firstCleanTimeOf(marks, 20n)).toBeNull();
    // Bounded: merging the oldest keeps the later time.
    let many: Array<[bigint, bigint]> = [];
    for (let i = 1; i <= 5; i++) many = addMark(many, BigInt(i * 10), BigInt(i), 3);
    expect(many).toEqual([
      [30n, 3n],
      [40n, 4n],
      [50n, 5n],
    ]);
  });
});
