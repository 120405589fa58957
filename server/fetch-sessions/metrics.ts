/**
 * Prometheus metrics of the fetch session cache, read at scrape time (Kafka's
 * NumIncrementalFetchSessions, NumIncrementalFetchPartitionsCached and
 * IncrementalFetchSessionEvictionsPerSec, the last as a counter).
 */
import type { MetricsRegistry } from '../metrics.js';
import type { FetchManager } from './manager.js';

export function registerFetchSessionMetrics(registry: MetricsRegistry, sessions: FetchManager): void {
  registry.gauge('kafka_mysql_fetch_sessions', 'Incremental fetch sessions (KIP-227) in the cache.').collect((g) => g.set(sessions.cache.stats().sessions));
  registry.gauge('kafka_mysql_fetch_session_partitions', 'Partitions cached by all incremental fetch sessions.').collect((g) => g.set(sessions.cache.stats().partitions));
  registry.counter('kafka_mysql_fetch_session_evictions_total', 'Fetch sessions evicted to make room for a new one.').collect((c) => c.set(sessions.cache.stats().evictions));
}
