import type { Pool } from 'mysql2/promise';
import { createPool, type CreatePoolOptions } from '../mysql.js';

/**
 * A pool whose server can be replaced at run time (failover): every holder keeps the same
 * object, which forwards each call to the pool of the current primary. The replaced pool is
 * ended without waiting: its queries in flight fail or finish on their own (a paused server's
 * never answer; their callers have timeouts).
 */
export interface SwitchablePool {
  readonly pool: Pool;
  url(): string;
  switchTo(url: string): void;
}

export function createSwitchablePool(url: string, options: CreatePoolOptions): SwitchablePool {
  let currentUrl = url;
  let current = createPool(url, options);
  const pool = new Proxy({} as Pool, {
    get(_target, prop) {
      const v = (current as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
  });
  return {
    pool,
    url: () => currentUrl,
    switchTo(next) {
      const old = current;
      currentUrl = next;
      current = createPool(next, options);
      void old.end().catch(() => undefined);
    },
  };
}
