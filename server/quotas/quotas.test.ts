import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { QuotaManager, PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE } from './manager.js';
import { WindowedRate } from './rate.js';

const logger = pino({ level: 'silent' });

describe('WindowedRate (hand-driven clock)', () => {
  it('counts a new sensor as having run samples - 1 windows', () => {
    const r = new WindowedRate({ samples: 11, windowMs: 1000 });
    r.record(1000, 0);
    // 1000 bytes over at least 10 windows of 1 s.
    expect(r.rate(0)).toBe(100);
    expect(r.elapsedMs(0)).toBe(10_000);
  });

  it('throttles by (rate - quota) / quota of the elapsed time, at most one window', () => {
    const r = new WindowedRate({ samples: 2, windowMs: 1000 });
    r.record(300, 0);
    expect(r.rate(0)).toBe(300);
    expect(r.throttleMs(200, 0)).toBe(500);
    expect(r.throttleMs(300, 0)).toBe(0);
    r.record(2700, 10);
    // 3000 bytes per 1010 ms is far over 200/s: the pause is bounded by one window.
    expect(r.throttleMs(200, 10)).toBe(1000);
  });

  it('falls back under the quota after the pause it asked for, and forgets old windows', () => {
    const r = new WindowedRate({ samples: 2, windowMs: 1000 });
    r.record(300, 0);
    expect(r.throttleMs(200, 0)).toBe(500);
    r.record(0, 1500);
    expect(r.rate(1500)).toBe(200);
    expect(r.throttleMs(200, 1500)).toBe(0);
    // At 2000 ms the first window (started at 0) is two windows old: only the empty one remains.
    expect(r.rate(2000)).toBe(0);
  });

  it('sums values recorded within one window', () => {
    const r = new WindowedRate({ samples: 3, windowMs: 1000 });
    r.record(100, 0);
    r.record(100, 999);
    r.record(100, 1000);
    // Three records over 2 windows counted (samples - 1) and a 1000 ms elapsed: 300 / 2 s.
    expect(r.rate(1000)).toBe(150);
  });
});

describe('QuotaManager resolution (Kafka order)', () => {
  const settings = { samples: 2, windowMs: 1000, refreshMs: 1000 };

  it('prefers user+client-id, then user, then the default user, then client-id', () => {
    const m = new QuotaManager(null, settings, logger);
    m.load([
      { entity: { user: 'alice', clientId: 'app' }, values: { [PRODUCER_BYTE_RATE]: 1 } },
      { entity: { user: 'alice' }, values: { [PRODUCER_BYTE_RATE]: 2, [CONSUMER_BYTE_RATE]: 20 } },
      { entity: { user: null }, values: { [PRODUCER_BYTE_RATE]: 3 } },
      { entity: { clientId: 'app' }, values: { [PRODUCER_BYTE_RATE]: 4 } },
      { entity: { clientId: null }, values: { [CONSUMER_BYTE_RATE]: 5 } },
    ]);
    expect(m.resolve(PRODUCER_BYTE_RATE, 'alice', 'app')?.quota).toBe(1);
    expect(m.resolve(PRODUCER_BYTE_RATE, 'alice', 'other')?.quota).toBe(2);
    expect(m.resolve(PRODUCER_BYTE_RATE, 'bob', 'app')?.quota).toBe(3);
    expect(m.resolve(CONSUMER_BYTE_RATE, 'alice', 'x')?.quota).toBe(20);
    expect(m.resolve(CONSUMER_BYTE_RATE, 'bob', 'x')?.quota).toBe(5);
    m.load([{ entity: { clientId: 'app' }, values: { [PRODUCER_BYTE_RATE]: 4 } }]);
    expect(m.resolve(PRODUCER_BYTE_RATE, 'bob', 'app')?.quota).toBe(4);
    expect(m.resolve(PRODUCER_BYTE_RATE, 'bob', 'other')).toBeNull();
    expect(m.record(PRODUCER_BYTE_RATE, 'bob', 'other', 1e9, 0)).toBe(0);
  });

  it("shares a user's quota among its client ids; a default-user quota is measured per user", () => {
    const m = new QuotaManager(null, settings, logger);
    m.load([
      { entity: { user: 'alice' }, values: { [PRODUCER_BYTE_RATE]: 100 } },
      { entity: { user: null }, values: { [PRODUCER_BYTE_RATE]: 100 } },
    ]);
    expect(m.record(PRODUCER_BYTE_RATE, 'alice', 'a', 100, 0)).toBe(0);
    // Same user, another client id: the 100 already recorded counts, 200/s against 100/s.
    expect(m.record(PRODUCER_BYTE_RATE, 'alice', 'b', 100, 0)).toBe(1000);
    expect(m.record(PRODUCER_BYTE_RATE, 'bob', 'a', 100, 0)).toBe(0);
    expect(m.record(PRODUCER_BYTE_RATE, 'carol', 'a', 100, 0)).toBe(0);
    expect(m.record(PRODUCER_BYTE_RATE, 'carol', 'a', 50, 0)).toBe(500);
  });
});
