import type { MysqlLogManager } from './log-manager.js';
import type { ShardMap } from './shards.js';
import type { MysqlTopicCatalog } from './topic-catalog.js';

/**
 * What openStorage builds behind the Storage interface, kept here for tests only (reached
 * through storage/testing.ts). Production code outside storage/ never sees a pool.
 */
export interface StorageInternals {
  shards: ShardMap;
  catalog: MysqlTopicCatalog;
  logs: MysqlLogManager;
}

const internals = new WeakMap<object, StorageInternals>();

export function registerStorageInternals(storage: object, parts: StorageInternals): void {
  internals.set(storage, parts);
}

export function storageInternals(storage: object): StorageInternals {
  const parts = internals.get(storage);
  if (!parts) throw new Error('not a Storage opened by openStorage');
  return parts;
}
