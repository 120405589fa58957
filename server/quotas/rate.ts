/**
 * Kafka's windowed rate (org.apache.kafka.common.metrics.stats.Rate over a SampledStat) and the
 * throttle time of its ClientQuotaManager, on a clock the caller passes in (unit tests drive it by
 * hand).
 *
 * Values are summed into `samples` windows of `windowMs` each; a window older than
 * samples * windowMs is forgotten. The rate is the sum over the kept windows divided by the time
 * since the oldest window began, counted as at least (samples - 1) full windows, so a new
 * sensor does not see a burst as an enormous rate. A client over its quota is throttled for
 * (rate - quota) / quota * that elapsed time: how long it must stay silent for the rate over the
 * kept windows to fall back to the quota. Kafka bounds one throttle by one window
 * (quota.window.size.seconds), so no single response asks for a longer pause.
 */
export interface RateSettings {
  /** quota.window.num */
  samples: number;
  /** quota.window.size.seconds, in ms */
  windowMs: number;
}

interface Sample {
  startMs: number;
  value: number;
}

export class WindowedRate {
  private readonly list: Sample[] = [];

  constructor(private readonly settings: RateSettings) {}

  record(value: number, nowMs: number): void {
    this.current(nowMs).value += value;
  }

  /** Per second. */
  rate(nowMs: number): number {
    this.purge(nowMs);
    let total = 0;
    for (const s of this.list) total += s.value;
    return (total * 1000) / this.elapsedMs(nowMs);
  }

  /** Kafka's Rate.windowSize: since the oldest kept window began, at least samples - 1 full windows. */
  elapsedMs(nowMs: number): number {
    const { samples, windowMs } = this.settings;
    const oldest = this.list.length > 0 ? this.list[0]!.startMs : nowMs;
    let elapsed = nowMs - oldest;
    const full = Math.floor(elapsed / windowMs);
    if (full < samples - 1) elapsed += (samples - 1 - full) * windowMs;
    return Math.max(elapsed, 1);
  }

  /** How long to stay silent when over `quota` (per second): 0 when within it, at most one window. */
  throttleMs(quota: number, nowMs: number): number {
    const rate = this.rate(nowMs);
    if (!(quota > 0) || rate <= quota) return 0;
    const ms = Math.round(((rate - quota) / quota) * this.elapsedMs(nowMs));
    return Math.min(ms, this.settings.windowMs);
  }

  private current(nowMs: number): Sample {
    const last = this.list[this.list.length - 1];
    if (last && nowMs < last.startMs + this.settings.windowMs) return last;
    // A new window starts now, as Kafka's SampledStat starts one at the first record after the last ended.
    const s: Sample = { startMs: nowMs, value: 0 };
    this.list.push(s);
    if (this.list.length > this.settings.samples) this.list.shift();
    return s;
  }

  /** Windows that ended more than samples * windowMs ago no longer count (Kafka's purgeObsoleteSamples). */
  private purge(nowMs: number): void {
    const horizon = this.settings.samples * this.settings.windowMs;
    while (this.list.length > 0 && nowMs - this.list[0]!.startMs >= horizon) this.list.shift();
  }
}
