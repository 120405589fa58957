import { describe, expect, it } from 'vitest';
import { assembleFetch, concurrentReadLimit, type PartitionReadOutcome } from './fetch-assembly.js';

/** A partition as the log would serve it: batch sizes from the fetch offset on, or a failure / nothing to read. */
type ModelPartition = { sizes: number[]; partitionMaxBytes: number } | { error: string; partitionMaxBytes: number } | { skip: true; partitionMaxBytes: number };

/** PartitionLog.read on the model: the longest prefix within maxBytes, at least one batch with minOneBatch. */
function modelRead(sizes: number[], maxBytes: number, minOneBatch: boolean): Buffer[] {
  const out: Buffer[] = [];
  let total = 0;
  for (const s of sizes) {
    if (total + s > maxBytes && !(out.length === 0 && minOneBatch)) break;
    out.push(Buffer.alloc(s, out.length + 1));
    total += s;
  }
  return out;
}

/** What the handler did before: partitions read one after another, the budget shrinking. */
function sequential(parts: ModelPartition[], requestMaxBytes: number): { records: (number[] | null)[]; total: number } {
  let remaining = requestMaxBytes;
  let total = 0;
  const records: (number[] | null)[] = [];
  for (const p of parts) {
    if ('skip' in p || 'error' in p) {
      records.push(null);
      continue;
    }
    const r = modelRead(p.sizes, Math.max(0, Math.min(p.partitionMaxBytes, remaining)), total === 0);
    const bytes = r.reduce((a, b) => a + b.length, 0);
    records.push(r.map((b) => b.length));
    total += bytes;
    remaining -= bytes;
  }
  return { records, total };
}

function concurrent(parts: ModelPartition[], requestMaxBytes: number): { records: (number[] | null)[]; total: number } {
  const outcomes: PartitionReadOutcome[] = parts.map((p) => {
    if ('skip' in p) return null;
    if ('error' in p) return { error: new Error(p.error) };
    return { batches: modelRead(p.sizes, concurrentReadLimit(p.partitionMaxBytes, requestMaxBytes), true) };
  });
  const a = assembleFetch(
    outcomes,
    parts.map((p) => p.partitionMaxBytes),
    requestMaxBytes,
  );
  const bytes = a.partitions.reduce((acc, p) => acc + (p?.bytes ?? 0), 0);
  expect(bytes).toBe(a.total);
  return { records: a.partitions.map((p) => (p ? p.batches.map((b) => b.length) : null)), total: a.total };
}

function same(parts: ModelPartition[], requestMaxBytes: number): void {
  expect(concurrent(parts, requestMaxBytes)).toEqual(sequential(parts, requestMaxBytes));
}

describe('fetch assembly (concurrent partition reads, sequential budget)', () => {
  it('takes everything that fits', () => {
    same([{ sizes: [10, 10], partitionMaxBytes: 100 }, { sizes: [5, 5, 5], partitionMaxBytes: 100 }], 1000);
    expect(concurrent([{ sizes: [10, 10], partitionMaxBytes: 100 }], 1000).records).toEqual([[10, 10]]);
  });

  it('cuts later partitions to the budget left, dropping their surplus batches', () => {
    const parts = [
      { sizes: [40, 40], partitionMaxBytes: 100 },
      { sizes: [15, 15, 15], partitionMaxBytes: 100 },
      { sizes: [1], partitionMaxBytes: 100 },
    ];
    same(parts, 100);
    expect(concurrent(parts, 100).records).toEqual([[40, 40], [15], [1]]);
  });

  it('budget exactly used up: later partitions get nothing', () => {
    const parts = [{ sizes: [50, 50], partitionMaxBytes: 100 }, { sizes: [1, 1], partitionMaxBytes: 100 }];
    same(parts, 100);
    expect(concurrent(parts, 100).records).toEqual([[50, 50], []]);
  });

  it('KIP-74: only the first partition with data may exceed the limits, with one batch', () => {
    const parts = [
      { sizes: [], partitionMaxBytes: 100 },
      { sizes: [500, 10], partitionMaxBytes: 100 },
      { sizes: [300], partitionMaxBytes: 1000 },
      { sizes: [1], partitionMaxBytes: 1000 },
    ];
    same(parts, 200);
    expect(concurrent(parts, 200).records).toEqual([[], [500], [], []]);
  });

  it('an oversized batch in a later partition is not returned', () => {
    const parts = [{ sizes: [10], partitionMaxBytes: 100 }, { sizes: [150], partitionMaxBytes: 100 }];
    same(parts, 1000);
    expect(concurrent(parts, 1000).records).toEqual([[10], []]);
  });

  it('errors and skipped partitions take no budget and do not end the first-batch rule', () => {
    const parts: ModelPartition[] = [
      { error: 'boom', partitionMaxBytes: 100 },
      { skip: true, partitionMaxBytes: 100 },
      { sizes: [300], partitionMaxBytes: 100 },
      { sizes: [10], partitionMaxBytes: 100 },
    ];
    same(parts, 50);
    expect(concurrent(parts, 50).records).toEqual([null, null, [300], []]);
  });

  it('zero budgets', () => {
    same([{ sizes: [10], partitionMaxBytes: 0 }, { sizes: [10], partitionMaxBytes: 100 }], 100);
    same([{ sizes: [10], partitionMaxBytes: 100 }, { sizes: [10], partitionMaxBytes: 100 }], 0);
    same([{ sizes: [10], partitionMaxBytes: -5 }], 100);
  });

  it('matches the sequential reads on random requests', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const parts: ModelPartition[] = Array.from({ length: 1 + rand(6) }, () => {
        const partitionMaxBytes = rand(10) === 0 ? 0 : 1 + rand(120);
        const kind = rand(10);
        if (kind === 0) return { error: 'e', partitionMaxBytes };
        if (kind === 1) return { skip: true, partitionMaxBytes };
        return { sizes: Array.from({ length: rand(8) }, () => 1 + rand(60)), partitionMaxBytes };
      });
      same(parts, rand(8) === 0 ? 0 : 1 + rand(250));
    }
  });
});
