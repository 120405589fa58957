import { describe, expect, it } from 'vitest';
import { CreationBudget } from './auto-create.js';

describe('auto-creation budget (auto.create.topics.max.per.second)', () => {
  it('allows a burst of one second, then refills at the rate', () => {
    const budget = new CreationBudget(4, 0);
    expect([1, 2, 3, 4, 5].map(() => budget.take(0))).toEqual([true, true, true, true, false]);
    // 250 ms at 4/s is one token.
    expect(budget.take(250)).toBe(true);
    expect(budget.take(250)).toBe(false);
    // A long pause refills to the burst, not beyond it.
    expect([1, 2, 3, 4, 5].map(() => budget.take(60_000))).toEqual([true, true, true, true, false]);
  });
});
