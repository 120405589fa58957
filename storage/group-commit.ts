import { CommitLane } from './group-commit/lane.js';
import { MysqlLogConnector } from './group-commit/log-connection.js';
import {
  addCommitStats,
  emptyCommitStats,
  type CommitStats,
  type CommitTarget,
  type GroupCommitOptions,
  type PendingAppend,
} from './group-commit/types.js';

export type { CommitStats, CommitTarget, GroupCommitOptions, LogInsertDriver, PendingAppend, TransactionTiming } from './group-commit/types.js';

/**
 * Group commit, one committer per shard, `lanes` lanes per committer. A lane has at most
 * `pipelineDepth` transactions in flight, each on its own connection; appends that arrive while
 * all are busy queue up and all go in the next transaction (multi-row INSERTs, one COMMIT, one
 * fsync). An idle lane waits `maxDelayMs` after the first append before it starts, to gather
 * more. Offsets are assigned at flush time from each partition's next offset: the committed one,
 * or the tentative one of the lane's transaction in flight (pipelining: N+1 inserts while N
 * commits). N+1 of plain records (no producer ids, no replicas) sends its COMMIT while N's is
 * in flight, so MySQL can group them in one binlog fsync; any other waits for N's to succeed.
 * Appends are settled in lane order either way, so the high watermark only ever covers
 * committed rows. If N does not commit, an N+1 that waited rolls back and its appends run
 * again once nothing is in flight, after the failed partitions re-read their end (N's offsets
 * are reused); an N+1 that committed is acknowledged, and its partitions re-read their end
 * past the gap N left (consumers skip it, as after compaction). See transaction.ts step 5.
 *
 * Failures: a duplicate key (someone else wrote those offsets: a stale leader, or an earlier
 * commit whose outcome was lost) rejects that table's appends with NOT_LEADER_OR_FOLLOWER and
 * reloads the partitions' next offsets; a missing table (topic deleted) rejects them with
 * UNKNOWN_TOPIC_OR_PARTITION; in both cases the other appends are retried in a new
 * transaction. Anything else (MySQL unreachable, lost connection) rejects every append of the
 * transaction with KAFKA_STORAGE_ERROR (retriable), drops the connection and reconnects on the
 * next append.
 *
 * The parts, in storage/group-commit/:
 * - lane.ts: queueing and pipelining (which appends go in which transaction, when it starts).
 * - transaction.ts: writes one transaction, step by step; statements that must share the
 *   append transaction (a leader-epoch check, producer-state writes) go in its step 4.
 * - log-connection.ts: the connection a transaction runs on and the choice of insert driver
 *   (SELECT VERSION() once per lane); insert-mariadb.ts: the `mariadb` connector's bulk
 *   execute, used on MariaDB; insert-mysql2.ts: mysql2's multi-row prepared INSERTs, used on
 *   MySQL or with logInsertDriver 'mysql2'.
 */

/**
 * A shard's committer: `lanes` independent lanes, each with `pipelineDepth` connections and at
 * most that many transactions in flight. A partition always goes to the same lane (by a hash of topic id and
 * partition), so its appends stay in order and its offsets are assigned by one lane only;
 * partitions on different lanes commit in parallel, letting MySQL overlap their fsyncs and
 * use more than one server thread (the binlog's group commit then shares the fsyncs).
 */
export class GroupCommitter {
  private readonly lanes: CommitLane[];
  private readonly laneOf = new WeakMap<CommitTarget, CommitLane>();

  constructor(
    readonly shard: number,
    url: string,
    options: GroupCommitOptions,
  ) {
    const n = Math.max(1, Math.floor(options.lanes ?? 1));
    this.lanes = Array.from({ length: n }, () => new CommitLane(shard, new MysqlLogConnector(shard, url, options), options));
  }

  /** Totals over the lanes. */
  get stats(): CommitStats {
    const total = emptyCommitStats();
    for (const l of this.lanes) addCommitStats(total, l.stats);
    return total;
  }

  enqueue(p: PendingAppend): void {
    let lane = this.laneOf.get(p.target);
    if (!lane) {
      lane = this.lanes[laneIndex(p.target.topicId, p.target.partition, this.lanes.length)]!;
      this.laneOf.set(p.target, lane);
    }
    lane.enqueue(p);
  }

  /** The shard's primary moved (failover): every lane reconnects to `url`. */
  repoint(url: string): void {
    for (const l of this.lanes) l.repoint(url);
  }

  /** Stops accepting appends, finishes queued and in-flight ones, closes the connections. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

function laneIndex(topicId: string, partition: number, lanes: number): number {
  if (lanes === 1) return 0;
  let h = partition | 0;
  for (let i = 0; i < topicId.length; i++) h = (Math.imul(h, 31) + topicId.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}
