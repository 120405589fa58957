import { describe, expect, it } from 'vitest';
import { assembleFetch, concurrentReadLimit, type PartitionReadOutcome } from './fetch-assembly.js';

/**
 * Each case gives what every partition's concurrent read returned (batch sizes; a read failed;
 * or the partition was not read) and the cut expected, worked out by hand from KIP-74's rules:
 * partitions in request order share the request's budget, each within its own limit; the first
 * partition with data sends its first batch even when too large; later partitions never do.
 */
type Read = { batches: number[]; partitionMaxBytes: number } | { error: string; partitionMaxBytes: number } | { skip: true; partitionMaxBytes: number };

function outcomesOf(reads: Read[]): PartitionReadOutcome[] {
  return reads.map((r, i) => {
    if ('skip' in r) return null;
    if ('error' in r) return { error: new Error(r.error) };
    return { batches: r.batches.map((size, k) => Buffer.alloc(size, i * 16 + k)) };
  });
}

function assemble(reads: Read[], requestMaxBytes: number): { sizes: (number[] | null)[]; total: number } {
  const a = assembleFetch(
    outcomesOf(reads),
    reads.map((r) => r.partitionMaxBytes),
    requestMaxBytes,
  );
  for (const p of a.partitions) if (p) expect(p.bytes).toBe(p.batches.reduce((n, b) => n + b.length, 0));
  return { sizes: a.partitions.map((p) => (p ? p.batches.map((b) => b.length) : null)), total: a.total };
}

describe('concurrentReadLimit', () => {
  it('is the partition limit capped by the request limit, never negative', () => {
    expect(concurrentReadLimit(100, 1000)).toBe(100);
    expect(concurrentReadLimit(1000, 200)).toBe(200);
    expect(concurrentReadLimit(100, 0)).toBe(0);
    expect(concurrentReadLimit(-5, 100)).toBe(0);
    expect(concurrentReadLimit(100, -1)).toBe(0);
  });
});

describe('fetch assembly (concurrent partition reads, sequential budget)', () => {
  it('takes everything that fits, handing back the read batches themselves', () => {
    const outcomes = outcomesOf([
      { batches: [10, 10], partitionMaxBytes: 100 },
      { batches: [5, 5, 5], partitionMaxBytes: 100 },
    ]);
    const a = assembleFetch(outcomes, [100, 100], 1000);
    expect(a.total).toBe(35);
    expect(a.partitions[0]!.batches).toEqual((outcomes[0] as { batches: Buffer[] }).batches);
    a.partitions[1]!.batches.forEach((b, k) => expect(b).toBe((outcomes[1] as { batches: Buffer[] }).batches[k]));
  });

  it('cuts later partitions to the budget left, dropping their surplus batches', () => {
    // 80 taken; 20 left: 15 fits, 15 more does not; 5 left: the 1 fits.
    const reads = [
      { batches: [40, 40], partitionMaxBytes: 100 },
      { batches: [15, 15, 15], partitionMaxBytes: 100 },
      { batches: [1], partitionMaxBytes: 100 },
    ];
    expect(assemble(reads, 100)).toEqual({ sizes: [[40, 40], [15], [1]], total: 96 });
  });

  it('cuts a partition at its own limit when the request has room', () => {
    expect(assemble([{ batches: [30, 30, 30], partitionMaxBytes: 60 }, { batches: [30], partitionMaxBytes: 60 }], 1000)).toEqual({
      sizes: [[30, 30], [30]],
      total: 90,
    });
    // A batch ending exactly on the limit is kept, one byte over is not.
    expect(assemble([{ batches: [30, 30], partitionMaxBytes: 59 }, { batches: [30, 31], partitionMaxBytes: 60 }], 1000)).toEqual({
      sizes: [[30], [30]],
      total: 60,
    });
  });

  it('budget exactly used up: later partitions get nothing', () => {
    const reads = [{ batches: [50, 50], partitionMaxBytes: 100 }, { batches: [1, 1], partitionMaxBytes: 100 }];
    expect(assemble(reads, 100)).toEqual({ sizes: [[50, 50], []], total: 100 });
  });

  it('KIP-74: only the first partition with data may exceed the limits, with one batch', () => {
    // The read of partition 1 (limit 100) gave its first batch alone, as a read with minOneBatch does.
    const reads = [
      { batches: [], partitionMaxBytes: 100 },
      { batches: [500], partitionMaxBytes: 100 },
      { batches: [300], partitionMaxBytes: 1000 },
      { batches: [1], partitionMaxBytes: 1000 },
    ];
    expect(assemble(reads, 200)).toEqual({ sizes: [[], [500], [], []], total: 500 });
  });

  it('an oversized batch in a later partition is not returned', () => {
    const reads = [{ batches: [10], partitionMaxBytes: 100 }, { batches: [150], partitionMaxBytes: 100 }];
    expect(assemble(reads, 1000)).toEqual({ sizes: [[10], []], total: 10 });
  });

  it('errors and skipped partitions take no budget and do not end the first-batch rule', () => {
    const reads: Read[] = [
      { error: 'boom', partitionMaxBytes: 100 },
      { skip: true, partitionMaxBytes: 100 },
      { batches: [300], partitionMaxBytes: 100 },
      { batches: [10], partitionMaxBytes: 100 },
    ];
    expect(assemble(reads, 50)).toEqual({ sizes: [null, null, [300], []], total: 300 });
  });

  it('zero budgets: the first batch still goes out, nothing after it', () => {
    // Partition limit 0: its first batch alone; the next partition then has 90 of the 100 left.
    expect(assemble([{ batches: [10], partitionMaxBytes: 0 }, { batches: [10], partitionMaxBytes: 100 }], 100)).toEqual({
      sizes: [[10], [10]],
      total: 20,
    });
    expect(assemble([{ batches: [10, 10], partitionMaxBytes: 0 }], 100)).toEqual({ sizes: [[10]], total: 10 });
    // Request limit 0: the first batch, then nothing.
    expect(assemble([{ batches: [10], partitionMaxBytes: 100 }, { batches: [10], partitionMaxBytes: 100 }], 0)).toEqual({
      sizes: [[10], []],
      total: 10,
    });
    expect(assemble([{ batches: [10], partitionMaxBytes: -5 }], 100)).toEqual({ sizes: [[10]], total: 10 });
  });

  it('keeps the rules on random requests: prefixes, within the limits but for one first batch, cut no earlier than needed', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const reads: Read[] = Array.from({ length: 1 + rand(6) }, () => {
        const partitionMaxBytes = rand(10) === 0 ? 0 : 1 + rand(120);
        const kind = rand(10);
        if (kind === 0) return { error: 'e', partitionMaxBytes };
        if (kind === 1) return { skip: true, partitionMaxBytes };
        return { batches: Array.from({ length: rand(8) }, () => 1 + rand(60)), partitionMaxBytes };
      });
      const requestMaxBytes = rand(8) === 0 ? 0 : 1 + rand(250);
      const { sizes, total } = assemble(reads, requestMaxBytes);
      const context = { round, reads, requestMaxBytes, sizes };

      let before = 0;
      let requestExceeded = false;
      reads.forEach((read, i) => {
        const got = sizes[i]!;
        if (!('batches' in read)) {
          expect(got, JSON.stringify(context)).toBeNull();
          return;
        }
        expect(got, JSON.stringify(context)).toEqual(read.batches.slice(0, got.length));
        const bytes = got.reduce((n, s) => n + s, 0);
        if (requestExceeded) expect(got, JSON.stringify(context)).toEqual([]);
        if (before === 0 && read.batches.length > 0) expect(got.length, JSON.stringify(context)).toBeGreaterThan(0);
        const withinOwn = bytes <= Math.max(0, read.partitionMaxBytes);
        const withinRequest = bytes === 0 || before + bytes <= Math.max(0, requestMaxBytes);
        if (!withinOwn || !withinRequest) {
          // Only the first batch of the first partition with data may break a limit.
          expect({ before, batches: got.length }, JSON.stringify(context)).toEqual({ before: 0, batches: 1 });
        }
        if (!withinRequest) requestExceeded = true;
        // Cut no earlier than needed: the next batch would have broken a limit.
        const next = read.batches[got.length];
        if (next !== undefined) {
          const fitsOwn = bytes + next <= read.partitionMaxBytes;
          const fitsRequest = before + bytes + next <= requestMaxBytes;
          expect(fitsOwn && fitsRequest, JSON.stringify(context)).toBe(false);
        }
        before += bytes;
      });
      expect(total, JSON.stringify(context)).toBe(before);
    }
  });
});
