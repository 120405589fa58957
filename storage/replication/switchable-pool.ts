import type { Socket } from 'node:net';
import type { Pool } from 'mysql2/promise';
import { KafkaError } from '../../codec/error-codes.js';
import { createPool, type CreatePoolOptions } from '../mysql.js';

/**
 * A pool whose server can be replaced at run time (failover): every holder keeps the same
 * object, which forwards each call to the pool of the current primary.
 *
 * On a swap every socket of the replaced pool is destroyed at once: each query in flight on it
 * (or waiting for one of its connections) fails with a fatal error instead of waiting for a
 * server that may be paused and never answer, and the pool is then ended. Errors of the
 * connection itself (lost, refused, timed out, pool closed) come out of query/execute/
 * getConnection as KAFKA_STORAGE_ERROR, which Kafka clients retry; SQL errors pass unchanged.
 */
export interface SwitchablePool {
  readonly pool: Pool;
  url(): string;
  switchTo(url: string): void;
}

export function createSwitchablePool(url: string, options: CreatePoolOptions): SwitchablePool {
  let currentUrl = url;
  let sockets = new Set<Socket>();
  let current = createPool(url, { ...options, sockets });
  const wrapped = new Set(['query', 'execute', 'getConnection']);
  const pool = new Proxy({} as Pool, {
    get(_target, prop) {
      const target = current;
      const v = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof v !== 'function') return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || !wrapped.has(prop)) return fn;
      return (...args: unknown[]) => (fn(...args) as Promise<unknown>).catch((err: unknown) => {
        throw asStorageError(err);
      });
    },
  });
  return {
    pool,
    url: () => currentUrl,
    switchTo(next) {
      const old = current;
      const oldSockets = sockets;
      currentUrl = next;
      sockets = new Set();
      current = createPool(next, { ...options, sockets });
      const moved = Object.assign(new Error('the MySQL primary moved (failover): connection to the old primary closed'), { code: 'PRIMARY_MOVED', fatal: true });
      for (const s of oldSockets) s.destroy(moved);
      void old.end().catch(() => undefined);
    },
  };
}

const CONNECTION_CODES = new Set(['PRIMARY_MOVED', 'ECONNABORTED', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST', 'POOL_CLOSED']);

/** A failure of the connection (not of the SQL) as a retriable Kafka error. */
export function asStorageError(err: unknown): unknown {
  if (err instanceof KafkaError || !(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; fatal?: boolean; errno?: unknown };
  const connection = e.fatal === true || (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) || /pool is closed|closed state/i.test(e.message);
  if (!connection) return err;
  const out = KafkaError.of('KAFKA_STORAGE_ERROR', `MySQL unavailable: ${e.message}`);
  (out as Error & { cause?: unknown }).cause = err;
  return out;
}
