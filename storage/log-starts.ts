import type { RowDataPacket } from 'mysql2/promise';
import type { MysqlLogManager } from './log-manager.js';
import type { ShardMap } from './shards.js';

/**
 * Applies the log start offsets persisted in the metadata database (by the `retention run`
 * CLI, another broker, DeleteRecords elsewhere) to the logs this process has loaded.
 */
export async function refreshLoadedLogStarts(shards: ShardMap, logs: MysqlLogManager): Promise<void> {
  const loaded = logs.loadedLogs();
  if (loaded.length === 0) return;
  const [rows] = await shards.metadataPool.query<RowDataPacket[]>('SELECT topic_id, partition_id, log_start_offset FROM partitions');
  const starts = new Map(rows.map((r) => [`${String(r.topic_id)}:${Number(r.partition_id)}`, BigInt(r.log_start_offset)]));
  for (const p of loaded) {
    const log = await p.catch(() => null);
    const start = log && starts.get(`${log.topicId}:${log.partition}`);
    if (log && start !== undefined && start !== null) log.applyLogStartOffset(start);
  }
}
