import type { Connection } from 'mysql2/promise';

/**
 * One schema change. `scope` says where it runs: 'metadata' on the metadata database, 'shard'
 * on every shard database (shards may hold only log tables). Versions are unique across all
 * migrations and applied in ascending order per scope. DDL is not transactional in MySQL, so
 * `up` must be safe to re-run after a partial failure (CREATE TABLE IF NOT EXISTS, check
 * information_schema before ALTER).
 */
export interface Migration {
  version: number;
  name: string;
  scope: 'metadata' | 'shard';
  up(conn: Connection): Promise<void>;
}
