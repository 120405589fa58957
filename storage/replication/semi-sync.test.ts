/**
 * SemiSyncMonitor: ends read from the primary (awaitConfirmation) wait for a confirmation sent
 * after the read; a probe is asked for at once; ends of unconfirmed commits keep their ticket
 * rule; a shard whose topology has no replica (standalone) confirms ends at once, and waits
 * again once a replica is back. The probe is a function the test answers by hand, timers are
 * vitest's fake ones.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SemiSyncMonitor, type ConfirmTarget } from './semi-sync.js';

class Target implements ConfirmTarget {
  hw = 0n;
  confirmUpTo(offset: bigint): void {
    if (offset > this.hw) this.hw = offset;
  }
}

/** A probe whose answers the test gives: each call waits for `answer`. */
function manualProbe() {
  const calls: Array<(ok: boolean) => void> = [];
  return {
    calls,
    probe: () => new Promise<boolean>((resolve) => calls.push(resolve)),
    async answer(ok: boolean) {
      calls.shift()!(ok);
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SemiSyncMonitor.awaitConfirmation', () => {
  it('asks for a probe at once and moves the target when it is confirmed', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    m.awaitConfirmation(t, 10n);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.calls).toHaveLength(1);
    await p.answer(true);
    expect(t.hw).toBe(10n);
    expect(m.pendingCount).toBe(0);
    m.stop();
  });

  it('keeps the end while probes are not confirmed, and probes again each interval', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    m.awaitConfirmation(t, 10n);
    await vi.advanceTimersByTimeAsync(0);
    await p.answer(false);
    expect(t.hw).toBe(0n);
    expect(m.degraded).toBe(true);
    await vi.advanceTimersByTimeAsync(499);
    expect(p.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.calls).toHaveLength(1);
    await p.answer(true);
    expect(t.hw).toBe(10n);
    m.stop();
  });

  it('is not released by a probe started before it, only by the next one', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const early = new Target();
    const late = new Target();
    m.awaitConfirmation(early, 5n);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.calls).toHaveLength(1);
    // Read while the first probe is in flight: that probe's write may precede the read's rows.
    m.awaitConfirmation(late, 8n);
    await p.answer(true);
    expect(early.hw).toBe(5n);
    expect(late.hw).toBe(0n);
    // The next probe follows an interval after the last one started, not an interval after it ended.
    await vi.advanceTimersByTimeAsync(500);
    expect(p.calls).toHaveLength(1);
    await p.answer(true);
    expect(late.hw).toBe(8n);
    m.stop();
  });

  it('is released by a confirmed commit sent after it, not by one sent before', () => {
    const m = new SemiSyncMonitor(0, undefined, undefined, 500);
    const t = new Target();
    const before = m.commitsNoted; // a commit sent before the read
    m.awaitConfirmation(t, 7n);
    m.noteCommit(true);
    m.settle(true, before, []);
    expect(t.hw).toBe(0n);
    const after = m.commitsNoted; // a commit sent after the read (one settled since)
    m.noteCommit(true);
    m.settle(true, after, []);
    expect(t.hw).toBe(7n);
    expect(m.pendingCount).toBe(0);
  });

  it('keeps at most two waiting ends per target, the newest replaced', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    m.awaitConfirmation(t, 3n);
    await vi.advanceTimersByTimeAsync(0);
    for (let end = 4n; end <= 20n; end++) m.awaitConfirmation(t, end);
    expect(m.pendingCount).toBe(2);
    // The probe in flight started before all but the first.
    await p.answer(true);
    expect(t.hw).toBe(3n);
    expect(m.pendingCount).toBe(1);
    m.awaitConfirmation(t, 21n);
    expect(m.pendingCount).toBe(2);
    await vi.advanceTimersByTimeAsync(500);
    await p.answer(true);
    expect(t.hw).toBe(21n);
    expect(m.pendingCount).toBe(0);
    m.stop();
  });

  it('leaves the ends of unconfirmed commits to the interval probe', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    const ticket = m.commitsNoted;
    m.noteCommit(false);
    m.settle(false, ticket, [[t, 4n]]);
    await vi.advanceTimersByTimeAsync(499);
    expect(p.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.calls).toHaveLength(1);
    await p.answer(true);
    expect(t.hw).toBe(4n);
    m.stop();
  });

  it('forgets waiting ends when the shard moves to another primary', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    m.awaitConfirmation(t, 9n);
    m.forgetPending();
    await vi.advanceTimersByTimeAsync(0);
    if (p.calls.length > 0) await p.answer(true);
    expect(t.hw).toBe(0n);
    m.stop();
  });

  it('ignores the unconfirmed end of a commit sent to the previous primary and settled after the move', async () => {
    const p = manualProbe();
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500);
    const t = new Target();
    const ticket = m.commitsNoted; // sent to the old primary
    m.forgetPending();
    m.settle(false, ticket, [[t, 6n]]);
    expect(m.pendingCount).toBe(0);
    // A commit sent after the move keeps the rule.
    const later = m.commitsNoted;
    m.settle(false, later, [[t, 4n]]);
    expect(m.pendingCount).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    await p.answer(true);
    expect(t.hw).toBe(4n);
    m.stop();
  });
});

describe('SemiSyncMonitor without a replica in the topology (standalone)', () => {
  it('moves an end read from the primary at once, with no probe, until a replica is back', async () => {
    const p = manualProbe();
    let replicas = 0;
    const m = new SemiSyncMonitor(0, undefined, p.probe, 500, () => replicas > 0);
    const t = new Target();
    expect(m.standalone).toBe(true);
    m.awaitConfirmation(t, 12n);
    expect(t.hw).toBe(12n);
    expect(m.pendingCount).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.calls).toHaveLength(0);
    // A replica rejoined: an end read from now on waits for a confirmation again.
    replicas = 1;
    expect(m.standalone).toBe(false);
    m.awaitConfirmation(t, 15n);
    expect(t.hw).toBe(12n);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.calls).toHaveLength(1);
    await p.answer(false);
    expect(t.hw).toBe(12n);
    await vi.advanceTimersByTimeAsync(500);
    await p.answer(true);
    expect(t.hw).toBe(15n);
    m.stop();
  });
});
