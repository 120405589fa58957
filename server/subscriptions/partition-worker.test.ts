import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../codec/records/records.js';
import type { SubscriptionStore } from '../../storage/subscriptions/store.js';
import type { PartitionLog, TopicRecord } from '../../storage/types.js';
import { parseSpec, type Ordering } from './definition.js';
import { PartitionWorker } from './partition-worker.js';

/** A worker over records with these keys (offsets 0..n-1); no MySQL is touched before a progress write. */
async function worker(ordering: Ordering, keys: (string | null)[], filter?: Record<string, unknown>): Promise<PartitionWorker> {
  const spec = parseSpec({ topics: ['t'], endpoint: { url: 'http://x/' }, ordering, ...(filter ? { filter } : {}) });
  const w = new PartitionWorker({ name: 't', topicId: 'id' } as TopicRecord, 0, 1, 0n, 's', spec, {} as SubscriptionStore, 'me');
  const records: KafkaRecord[] = keys.map((k, i) => ({ offset: BigInt(i), timestamp: 0n, key: k === null ? null : Buffer.from(k), value: Buffer.from(String(i)), headers: [] }));
  await w.fill({ logStartOffset: () => 0n } as PartitionLog, async () => ({ records, next: BigInt(records.length) }), 1000);
  return w;
}

/** Takes what may be sent now, marking each in flight, until nothing more may. */
function takeAll(w: PartitionWorker): number[] {
  const out: number[] = [];
  for (let next = w.next(0, false); next !== null; next = w.next(0, false)) {
    next.task.state = 'inflight';
    out.push(Number(next.task.offset));
  }
  return out;
}

describe('PartitionWorker ordering', () => {
  it('per key: one record of a key at a time, keyless records free', async () => {
    const w = await worker('key', ['a', 'b', 'a', null, 'b', 'a']);
    expect(takeAll(w)).toEqual([0, 1, 3]);
  });

  it('per key: the next of a key goes once the previous is finished', async () => {
    const w = await worker('key', ['a', 'a', 'a']);
    const t0 = w.next(0, false)!.task;
    t0.state = 'inflight';
    expect(w.next(0, false)).toBeNull();
    w.finish(t0, 'dead');
    expect(Number(w.next(0, false)!.task.offset)).toBe(1);
  });

  it('per partition: only the first unfinished record, also while it waits for a retry', async () => {
    const w = await worker('partition', ['a', 'b', 'c']);
    expect(takeAll(w)).toEqual([0]);
    const w2 = await worker('partition', ['a', 'b']);
    const t = w2.next(0, false)!.task;
    t.nextMs = 1000;
    expect(w2.next(500, false)).toBeNull();
    expect(Number(w2.next(1000, false)!.task.offset)).toBe(0);
  });

  it('none: everything at once; filtered records are never offered', async () => {
    expect(takeAll(await worker('none', ['a', 'a', 'b']))).toEqual([0, 1, 2]);
    expect(takeAll(await worker('none', ['x-1', 'y-1', 'x-2', null], { key_prefix: 'x-' }))).toEqual([0, 2]);
  });
});
