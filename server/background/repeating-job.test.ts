import { afterEach, describe, expect, it, vi } from 'vitest';
import { everyInterval, RepeatingJob } from './repeating-job.js';

afterEach(() => {
  vi.useRealTimers();
});

function deferred(): { promise: Promise<number>; resolve: (n: number) => void } {
  let resolve!: (n: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RepeatingJob', () => {
  it('joins a pass already running instead of starting a second', async () => {
    const gate = deferred();
    const pass = vi.fn(() => gate.promise);
    const job = new RepeatingJob(pass, () => 1000);
    const first = job.runOnce();
    const second = job.runOnce(() => Promise.resolve(99));
    expect(second).toBe(first);
    gate.resolve(7);
    await expect(second).resolves.toBe(7);
    expect(pass).toHaveBeenCalledTimes(1);
    await expect(job.runOnce(() => Promise.resolve(99))).resolves.toBe(99);
  });

  it('waits one interval after the end of each pass, keeps going after a failed pass, and stops', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const job = new RepeatingJob(async () => {
      calls++;
      if (calls === 1) throw new Error('first pass fails');
      return calls;
    }, () => 100);
    job.start();
    await vi.advanceTimersByTimeAsync(99);
    expect(calls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
    await job.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
  });

  it('does not schedule while disabled', async () => {
    vi.useFakeTimers();
    const pass = vi.fn(async () => 1);
    const job = new RepeatingJob(pass, () => 10, () => false);
    job.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(pass).not.toHaveBeenCalled();
  });
});

describe('everyInterval', () => {
  it('reports failures and stops when asked; a non-positive interval runs nothing', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    let ticks = 0;
    const stop = everyInterval(50, async () => {
      ticks++;
      throw new Error(`tick ${ticks}`);
    }, (err) => errors.push(err));
    await vi.advanceTimersByTimeAsync(120);
    expect(ticks).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['tick 1', 'tick 2']);
    stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(ticks).toBe(2);
    const never = vi.fn(async () => undefined);
    everyInterval(0, never, () => undefined)();
    await vi.advanceTimersByTimeAsync(500);
    expect(never).not.toHaveBeenCalled();
  });
});
