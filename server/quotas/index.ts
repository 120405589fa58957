/**
 * The broker's client quotas (docs/security.md, Quotas): the manager, loaded and polling, and
 * what the dispatcher records per request (enforce.ts).
 */
import type { Logger } from 'pino';
import type { QuotaStore } from '../../storage/quotas.js';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import { QuotaManager } from './manager.js';

export { QuotaManager } from './manager.js';

/** The quota manager with the quotas stored in MySQL, polling every quota.refresh.ms. */
export async function startQuotaManager(config: BrokerConfig, store: QuotaStore, logger: Logger): Promise<QuotaManager> {
  const samples = config.int('quota.window.num');
  const windowSeconds = config.int('quota.window.size.seconds');
  const refreshMs = config.int('quota.refresh.ms');
  if (!(samples >= 2)) throw new ConfigError(`'quota.window.num' must be at least 2, got ${samples}`);
  if (!(windowSeconds >= 1)) throw new ConfigError(`'quota.window.size.seconds' must be at least 1, got ${windowSeconds}`);
  if (!(refreshMs > 0)) throw new ConfigError(`'quota.refresh.ms' must be positive, got ${refreshMs}`);
  const manager = new QuotaManager(store, { samples, windowMs: windowSeconds * 1000, refreshMs }, logger);
  await manager.start();
  return manager;
}
