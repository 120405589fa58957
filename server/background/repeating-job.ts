/**
 * A background job that runs one pass at a time: `runOnce()` joins a pass already running
 * instead of starting a second, and `start()` schedules passes one interval apart, counted from
 * the end of the previous pass (a slow pass never overlaps the next; the first runs one interval
 * after start-up). Retention and compaction use it; `stop()` ends the schedule and waits for a
 * pass in progress (the caller aborts it first through its own signal if it must not finish).
 */
export class RepeatingJob<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  private stopped = false;

  /**
   * @param pass one pass; its rejection is the caller's to log (the schedule goes on regardless)
   * @param intervalMs read before each wait, so a changed configuration applies from the next one
   * @param enabled read before each wait; false ends the schedule (until start() again)
   */
  constructor(
    private readonly pass: () => Promise<T>,
    private readonly intervalMs: () => number,
    private readonly enabled: () => boolean = () => true,
  ) {}

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  /** One pass now (`pass` instead of the scheduled one, e.g. with other options), or the one already running. */
  runOnce(pass: () => Promise<T> = this.pass): Promise<T> {
    this.running ??= pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private scheduleNext(): void {
    if (this.stopped || !this.enabled()) return;
    this.timer = setTimeout(() => {
      this.runOnce().then(
        () => this.scheduleNext(),
        () => this.scheduleNext(),
      );
    }, this.intervalMs());
    this.timer.unref();
  }
}

/** Calls `tick` every `intervalMs` (none when intervalMs ≤ 0), reporting its failures to `onError`; returns the stop function. */
export function everyInterval(intervalMs: number, tick: () => Promise<void>, onError: (err: unknown) => void): () => void {
  if (intervalMs <= 0) return () => undefined;
  const timer = setInterval(() => {
    tick().catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
