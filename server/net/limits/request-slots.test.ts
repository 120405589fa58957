import { describe, expect, it } from 'vitest';
import { RequestSlots } from './request-slots.js';

describe('RequestSlots', () => {
  it('is full at the limit and wakes waiters oldest first while slots are free', () => {
    const slots = new RequestSlots(2);
    const woken: string[] = [];
    const waiter = (name: string) => ({ slotsAvailable: () => woken.push(name) });
    const a = waiter('a');
    const b = waiter('b');
    slots.take();
    expect(slots.full(a)).toBe(false);
    slots.take();
    expect(slots.full(a)).toBe(true);
    expect(slots.full(b)).toBe(true);
    slots.give();
    slots.wake();
    expect(woken).toEqual(['a', 'b']);
    // A waiter that takes the freed slot when woken stops the others being woken.
    slots.take();
    const c = { slotsAvailable: () => (woken.push('c'), slots.take()) };
    const d = waiter('d');
    expect(slots.full(c)).toBe(true);
    expect(slots.full(d)).toBe(true);
    slots.give();
    slots.wake();
    expect(woken).toEqual(['a', 'b', 'c']);
    expect(slots.used).toBe(2);
  });

  it('0 means no limit; a removed waiter is not woken', () => {
    const unlimited = new RequestSlots(0);
    for (let i = 0; i < 10_000; i++) unlimited.take();
    expect(unlimited.full({ slotsAvailable: () => {} })).toBe(false);
    const slots = new RequestSlots(1);
    let woken = 0;
    const w = { slotsAvailable: () => woken++ };
    slots.take();
    expect(slots.full(w)).toBe(true);
    slots.remove(w);
    slots.give();
    slots.wake();
    expect(woken).toBe(0);
  });
});
