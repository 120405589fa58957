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
