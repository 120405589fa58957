import type { Logger } from 'pino';
import type { StorageLogs } from '../../storage/services.js';

/**
 * Timers of the producer side: idle producers forgotten every
 * producer.id.expiration.check.interval.ms (producer.id.expiration.ms, as Kafka's
 * ProducerStateManager). Timers are unref'd and stopped by shutdown().
 */
export interface ProducerExpirySettings {
  expirationMs: number;
  checkIntervalMs: number;
}

export class ProducerExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logs: StorageLogs,
    private readonly settings: ProducerExpirySettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer || this.settings.checkIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<number> {
    try {
      const n = await this.logs.expireProducers(this.now(), this.settings.expirationMs);
      if (n > 0) this.logger.info({ producers: n }, 'idle producers expired');
      return n;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'producer expiry failed');
      return 0;
    }
  }

  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Timers of the transaction coordinator: transactions open longer than their timeout are
 * aborted every transaction.abort.timed.out.transaction.cleanup.interval.ms (markers of
 * prepared transactions retried on the same tick), and transactional ids idle for
 * transactional.id.expiration.ms removed every
 * transaction.remove.expired.transaction.cleanup.interval.ms.
 */
export interface TransactionTimerSettings {
  abortIntervalMs: number;
  expireIntervalMs: number;
  idExpirationMs: number;
}

export class TransactionTimers {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly coordinator: { abortTimedOut(): Promise<number>; expireIds(ms: number): Promise<number> },
    private readonly settings: TransactionTimerSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = (ms: number, work: () => Promise<unknown>) => {
      if (ms <= 0) return;
      const t = setInterval(() => {
        this.running = this.running.then(work).catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'transaction timer failed'));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.settings.abortIntervalMs, () => this.coordinator.abortTimedOut());
    every(this.settings.expireIntervalMs, () => this.coordinator.expireIds(this.settings.idExpirationMs));
  }

  async shutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }
}
