import type { MysqlLogManager } from '../log-manager.js';
import type { ShardMap } from '../shards.js';
import { readGenerations } from './checkpoints.js';

/**
 * Brings this process's tail caches up to date with compaction done elsewhere (the
 * `compaction run` CLI, another broker): each chunk bumps its partition's generation in the
 * checkpoint table before it commits; a loaded log whose partition's generation moved forgets its cached
 * batches below the rewritten offset. Until then it may serve the batches as they were before
 * compaction: an older, complete view of the same offsets (every latest record is in it too).
 */
export class CompactionRefresher {
  private readonly seen = new Map<string, bigint>();

  constructor(
    private readonly shards: ShardMap,
    private readonly logs: MysqlLogManager,
  ) {}

  async refresh(): Promise<void> {
    const generations = await readGenerations(this.shards.metadataPool);
    for (const g of generations) {
      const key = `${g.topicId}:${g.partition}`;
      const before = this.seen.get(key);
      this.seen.set(key, g.generation);
      if (before === g.generation) continue;
      const log = await this.logs.loadedLog(g.topicId, g.partition)?.catch(() => null);
      log?.forgetCachedBefore(g.rewrittenUpto);
    }
  }
}
