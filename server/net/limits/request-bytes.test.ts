import { describe, expect, it } from 'vitest';
import { RequestByteBudget, type BudgetClient } from './request-bytes.js';

const MiB = 1024 * 1024;

/** A client that records its wake-ups and asks again through `onWake` when told to. */
function client(onWake: () => void = () => {}): BudgetClient & { woken: number } {
  const c = {
    woken: 0,
    memoryAvailable() {
      c.woken++;
      onWake();
    },
  };
  return c;
}

describe('RequestByteBudget', () => {
  it('grants what fits under the limit and refuses the rest', () => {
    const budget = new RequestByteBudget(10 * MiB, 100 * MiB);
    const a = client();
    const b = client();
    expect(budget.reserve(a, 6 * MiB, 6 * MiB)).toBe(true);
    expect(budget.reserve(b, 4 * MiB, 4 * MiB)).toBe(true);
    expect(budget.used).toBe(10 * MiB);
    // Over the limit: b may take the privilege (10 + 90 <= 10 + 100), a second one may not.
    const c = client();
    expect(budget.reserve(c, 2 * MiB, 90 * MiB)).toBe(true);
    const d = client();
    expect(budget.reserve(d, 2 * MiB, 2 * MiB)).toBe(false);
    expect(budget.waiting).toBe(1);
    // The privileged frame gets every further allocation, even far over the limit.
    expect(budget.reserve(c, 64 * MiB, 88 * MiB)).toBe(true);
    expect(budget.used).toBe(76 * MiB);
  });

  it('refuses the privilege when the frame could pass limit + largest frame', () => {
    const budget = new RequestByteBudget(10 * MiB, 20 * MiB);
    const a = client();
    expect(budget.reserve(a, 10 * MiB, 10 * MiB)).toBe(true);
    const b = client();
    // 10 used + 21 still needed > 10 + 20.
    expect(budget.reserve(b, 2 * MiB, 21 * MiB)).toBe(false);
    expect(budget.reserve(b, 2 * MiB, 20 * MiB)).toBe(true);
  });

  it('a negative limit means no limit', () => {
    const budget = new RequestByteBudget(-1, MiB);
    expect(budget.reserve(client(), 500 * MiB, 500 * MiB)).toBe(true);
    expect(budget.reserve(client(), 500 * MiB, 500 * MiB)).toBe(true);
    expect(budget.used).toBe(1000 * MiB);
  });

  it('counts forced and added bytes without granting them', () => {
    const budget = new RequestByteBudget(MiB, MiB);
    const a = client();
    budget.add(MiB);
    const p = client();
    expect(budget.reserve(p, 1, MiB)).toBe(true); // takes the privilege
    expect(budget.reserve(a, 4096, 4096, true)).toBe(false);
    expect(budget.used).toBe(MiB + 1 + 4096);
    expect(budget.waiting).toBe(0); // a forced request does not wait
  });

  it('wakes waiters first come first served, stopping at the first one refused again', () => {
    const budget = new RequestByteBudget(10 * MiB, 10 * MiB);
    const holder = client();
    expect(budget.reserve(holder, 10 * MiB, 10 * MiB)).toBe(true);
    const privileged = client();
    expect(budget.reserve(privileged, 1 * MiB, 1 * MiB)).toBe(true);
    const order: string[] = [];
    const a: ReturnType<typeof client> = client(() => {
      order.push('a');
      budget.reserve(a, 4 * MiB, 4 * MiB);
    });
    const b: ReturnType<typeof client> = client(() => {
      order.push('b');
      budget.reserve(b, 4 * MiB, 4 * MiB);
    });
    const c: ReturnType<typeof client> = client(() => {
      order.push('c');
      budget.reserve(c, 4 * MiB, 4 * MiB);
    });
    for (const w of [a, b, c]) expect(budget.reserve(w, 4 * MiB, 4 * MiB)).toBe(false);
    expect(budget.waiting).toBe(3);

    // 9 MiB back: used 2 MiB, a and b fit (10 MiB), c is refused and stays first in line.
    budget.release(holder, 9 * MiB, true);
    budget.wake();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(budget.used).toBe(10 * MiB);
    expect(budget.waiting).toBe(1);
    // The privileged frame completes: c, first in line, takes the privilege on the next wake.
    budget.release(privileged, 1 * MiB, true);
    budget.wake();
    expect(order).toEqual(['a', 'b', 'c', 'c']);
    expect(budget.waiting).toBe(0);
    expect(budget.used).toBe(13 * MiB);
  });

  it('gives the privilege to the longest waiting client only', () => {
    const budget = new RequestByteBudget(4, 100);
    const filler = client();
    expect(budget.reserve(filler, 4, 4)).toBe(true);
    const privileged = client();
    expect(budget.reserve(privileged, 1, 1)).toBe(true);
    const first = client();
    const second = client();
    expect(budget.reserve(first, 2, 2)).toBe(false);
    expect(budget.reserve(second, 2, 2)).toBe(false);
    budget.release(privileged, 1, true);
    // The privilege is free, but not for the second in line.
    expect(budget.reserve(second, 2, 2)).toBe(false);
    expect(budget.reserve(first, 2, 2)).toBe(true);
  });

  it('forgets a closed client: its privilege passes on, it is not woken', () => {
    const budget = new RequestByteBudget(4, 100);
    const gone = client();
    expect(budget.reserve(client(), 4, 4)).toBe(true);
    expect(budget.reserve(gone, 50, 60)).toBe(true); // privileged
    const next = client();
    expect(budget.reserve(next, 1, 1)).toBe(false);
    budget.release(gone, 50, true);
    budget.remove(gone);
    expect(budget.reserve(next, 1, 1)).toBe(true);
    const waiter = client();
    expect(budget.reserve(waiter, 1, 1)).toBe(false);
    budget.remove(waiter);
    budget.wake();
    expect(waiter.woken).toBe(0);
  });
});
