import type { Migration } from './types.js';
import { migration as m0001 } from './0001-metadata.js';
import { migration as m0002 } from './0002-shard.js';
import { migration as m0003 } from './0003-group-offsets.js';
import { migration as m0004 } from './0004-broker-configs.js';
import { migration as m0005 } from './0005-partition-leaders.js';
import { migration as m0010 } from './0010-producer-state.js';
import { migration as m0011 } from './0011-transactions.js';
import { migration as m0012 } from './0012-user-credentials.js';
import { migration as m0013 } from './0013-acls.js';
import { migration as m0014 } from './0014-client-quotas.js';
import { migration as m0015 } from './0015-delayed-messages.js';
import { migration as m0016 } from './0016-subscriptions.js';

export type { Migration } from './types.js';
export { runMigrations, listLogTables, MIGRATION_LOCK } from './runner.js';

/**
 * Every migration, in any order (the runner sorts by version). To add one: create
 * `NNNN-what.ts` exporting `migration: Migration` with the next free version, and add it here.
 */
export const migrations: Migration[] = [
  m0001,
  m0002,
  m0003,
  m0004,
  m0010,
  m0011,
  m0012,
  m0013,
  m0014,
  m0015,
  m0016,
  m0005,
];
