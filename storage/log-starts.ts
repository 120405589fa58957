import type { RowDataPacket } from 'mysql2/promise';
import type { MysqlLogManager } from './log-manager.js';
import type { ShardMap } from './shards.js';

/**
 * Applies the log start offsets persisted in the metadata database (by the `retention run`
 * CLI, another broker, DeleteRecords elsewhere) to the logs this process has loaded.
 *
 * Runs every log.start.offset.refresh.ms, so its cost is per loaded partition: only rows whose
 * start moved past 0 are read (a log start never moves back, and every log starts at 0 or
 * above), and each is looked up among the loaded logs, instead of reading every partition's
 * row and awaiting every loaded log (10,000 partitions: ~40 ms of the broker's thread each
 * time, issue 19).
 */
export async function refreshLoadedLogStarts(shards: ShardMap, logs: MysqlLogManager): Promise<void> {
  if (logs.loadedLogs().length === 0) return;
  const [rows] = await shards.metadataPool.query<RowDataPacket[]>('SELECT topic_id, partition_id, log_start_offset FROM partitions WHERE log_start_offset > 0');
  for (const r of rows) {
    const loaded = logs.loadedLog(String(r.topic_id), Number(r.partition_id));
    if (!loaded) continue;
    const log = await loaded.catch(() => null);
    if (log) log.applyLogStartOffset(BigInt(r.log_start_offset));
  }
}
