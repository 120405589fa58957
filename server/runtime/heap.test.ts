import { describe, expect, it } from 'vitest';
import { applyHeapGrowingPercent } from './heap.js';

describe('v8.heap.growing.percent', () => {
  it('refuses values that are not integers from 0 to 1000', () => {
    for (const bad of ['abc', '-1', '1.5', '1001']) {
      expect(() => applyHeapGrowingPercent(bad)).toThrow(/v8\.heap\.growing\.percent/);
    }
    expect(applyHeapGrowingPercent('0')).toBe(0);
    expect(applyHeapGrowingPercent(null)).toBe(0);
  });

});
