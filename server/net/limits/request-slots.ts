/**
 * queued.max.requests: how many requests all connections together may have in progress
 * (dispatched, not yet answered). Kafka counts the requests waiting for a handler thread and
 * blocks its network threads when they are that many; here a request read while the count is
 * at the limit is held unhandled, its connection stops reading, and held requests go out,
 * oldest connection first, as requests finish. A
 * request waiting for something outside the broker's control (a Fetch's long poll) gives its
 * slot back while it waits, as a Kafka request in purgatory is no longer queued.
 */
export interface SlotWaiter {
  /** Called when a slot may be free again. */
  slotsAvailable(): void;
}

export class RequestSlots {
  private inUse = 0;
  private readonly waiters = new Set<SlotWaiter>();
  private wakeScheduled = false;

  /** @param limit requests; 0 or less means no limit. */
  constructor(readonly limit: number) {}

  get used(): number {
    return this.inUse;
  }

  /** True while no further request may be read; `waiter` is told when that may have changed. */
  full(waiter: SlotWaiter): boolean {
    if (this.limit <= 0 || this.inUse < this.limit) return false;
    this.waiters.add(waiter);
    return true;
  }

  take(): void {
    this.inUse++;
  }

  give(): void {
    this.inUse--;
    if (this.waiters.size > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      process.nextTick(() => {
        this.wakeScheduled = false;
        this.wake();
      });
    }
  }

  remove(waiter: SlotWaiter): void {
    this.waiters.delete(waiter);
  }

  /** Wakes waiting connections oldest first while slots are free. */
  wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.limit > 0 && this.inUse >= this.limit) return;
      this.waiters.delete(waiter);
      waiter.slotsAvailable();
    }
  }
}
