import type { Logger } from 'pino';
import { assignBatchOffsets } from '../../codec/records/batch-header.js';
import { setLogAppendTime } from '../../codec/records/log-append-time.js';
import { KafkaError } from '../../codec/error-codes.js';
import type { CachedBatch } from '../tail-cache.js';
import type { AppendResult } from '../types.js';
import type { LogConnection, Row } from './log-connection.js';
import type { CommitStats, CommitTarget, PendingAppend } from './types.js';

/**
 * Writes one group-commit transaction: the steps of a transaction of a lane, from its
 * connection to the settling of its appends. This is the one place where statements join
 * the append transaction: see "Step 4" in writeTransaction.
 *
 * 1. open:      a connection (one retry on a connection that died while idle), reloads of
 *               partitions that must re-read their end, appends of deleted partitions
 *               rejected, BEGIN.
 * 2. assign:    offsets from each partition's next offset (committed, or tentative in the
 *               transaction before this one), written into the batches; rows built.
 * 3. rows:      the INSERTs, one call per log table.
 * 4. in-txn:    checks and writes that must commit or roll back with the rows.
 * 5. order:     wait for the transaction before this one; COMMIT only if it committed, else
 *               ROLLBACK and put the appends back.
 * 6. settle:    on COMMIT, advance the partitions and resolve; on failure, classify the error
 *               (duplicate key, missing table, anything else) and reject or retry.
 */

/** One connection of a lane; a transaction holds it from BEGIN to COMMIT/ROLLBACK. */
export interface Slot {
  conn: LogConnection | undefined;
  busy: boolean;
}

/** A transaction of a lane, from its offset assignment until it committed or rolled back. */
export interface Txn {
  /** true once COMMIT succeeded and the appends were resolved; false when it rolled back. */
  readonly done: Promise<boolean>;
  /** Next offset per partition after this transaction (tentative until it commits). */
  next: Map<CommitTarget, bigint>;
}

/** What a transaction needs from its lane (lane.ts). */
export interface TransactionLane {
  readonly shard: number;
  readonly stats: CommitStats;
  readonly logger: Logger | undefined;
  /** Next offset per partition assuming every transaction in flight commits. */
  readonly tentative: Map<CommitTarget, { next: bigint; owner: Txn }>;
  /** The slot's connection, opened when it has none. */
  connection(slot: Slot): Promise<LogConnection>;
  dropConnection(slot: Slot): void;
  /** Starts nothing new until every transaction in flight has ended. */
  markBroken(): void;
  /** Puts appends back, to run again (in order, ahead of the queue) once nothing is in flight. */
  requeue(group: PendingAppend[]): void;
  /** Rejects the appends with KAFKA_STORAGE_ERROR (or their KafkaError) and marks their partitions for reload. */
  fail(group: PendingAppend[], err: unknown): void;
}

/**
 * Runs one transaction of `input` on `slot`, after `prev` (the transaction before it in the
 * lane, or a resolved `true`). Calls `assigned` once offsets are assigned (or it gave up), so
 * the lane can start the next transaction from this one's tentative ends. Resolves true when
 * committed; every append is settled (resolved, rejected or put back) by then.
 */
export async function writeTransaction(
  lane: TransactionLane,
  txn: Txn,
  slot: Slot,
  input: PendingAppend[],
  prev: Promise<boolean>,
  assigned: () => void,
): Promise<boolean> {
  // Step 1: open.
  const group: PendingAppend[] = [];
  const conn = await openTransaction(lane, slot, input, group);
  if (conn === null) return false;
  // Nothing to write: this transaction stands for its predecessor's outcome.
  if (group.length === 0) return await prev;

  // Step 2: assign offsets.
  const results: AppendResult[] = [];
  const rowsByTable = new Map<string, Row[]>();
  const cached = new Map<CommitTarget, CachedBatch[]>();
  assignOffsets(lane, txn, group, results, rowsByTable, cached);
  assigned();

  let failedTable: string | undefined;
  let prevOk: boolean | undefined;
  try {
    // Step 3: rows.
    for (const [table, rows] of rowsByTable) {
      failedTable = table;
      await conn.insertRows(table, rows);
    }
    failedTable = undefined;

    // Step 4: in-txn. Statements that must commit or roll back with these rows go here, on
    // `conn`, before the wait for the previous transaction: the cluster's leader-epoch check
    // (fencing: this broker still leads the partitions of `group`) and the producer-state
    // writes of idempotent and transactional producers. A failure thrown here is handled by
    // step 6 like an INSERT failure (set `failedTable` to confine it to one table's appends).

    // Step 5: order. COMMITs go in order: this one only after the previous transaction committed.
    prevOk = await prev;
    if (!prevOk) {
      lane.stats.abortedTransactions++;
      await conn.run('ROLLBACK').catch(() => lane.dropConnection(slot));
      lane.requeue(group);
      return false;
    }
    await conn.run('COMMIT');
  } catch (err) {
    // Step 6: settle a failure.
    lane.stats.failedTransactions++;
    // Settle in order: the previous transaction's outcome first.
    if (prevOk === undefined) prevOk = await prev;
    await conn.run('ROLLBACK').catch(() => lane.dropConnection(slot));
    settleFailure(lane, slot, group, prevOk, failedTable, err);
    return false;
  }

  // Step 6: settle the commit.
  settleCommitted(lane, txn, group, results, rowsByTable, cached);
  return true;
}

/**
 * Step 1: the slot's connection, reloads, deleted partitions' appends rejected (the rest
 * pushed onto `group`), and BEGIN unless `group` is empty. Null when it failed: every append
 * of `input` is then rejected.
 */
async function openTransaction(
  lane: TransactionLane,
  slot: Slot,
  input: PendingAppend[],
  group: PendingAppend[],
): Promise<LogConnection | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      const conn = slot.conn ?? (await lane.connection(slot));
      for (const t of new Set(input.map((p) => p.target))) {
        if (t.isDeleted() || !t.needsReload()) continue;
        try {
          await t.reload(conn.queryConn);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw err;
          t.markDeleted();
        }
      }
      group.length = 0;
      for (const p of input) {
        if (p.target.isDeleted()) p.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
        else group.push(p);
      }
      if (group.length > 0) await conn.run('BEGIN');
      return conn;
    } catch (err) {
      lane.dropConnection(slot);
      // A connection that died while idle (server restarted, network cut) is only noticed
      // now, before anything was written: try once more on a fresh one.
      if ((err as { fatal?: boolean }).fatal && attempt === 0) {
        lane.logger?.warn({ shard: lane.shard, err: (err as Error).message }, 'reconnecting the group-commit connection');
        continue;
      }
      lane.markBroken();
      lane.fail(input, err);
      return null;
    }
  }
}

/**
 * Step 2: assigns offsets from each partition's next offset: the committed one, or the
 * tentative one of the transaction in flight before this one (assumed to commit; if it does
 * not, this one rolls back too). Writes them (and the log append time) into the batches,
 * fills `results`, `rowsByTable` and `cached`, and records this transaction's ends as tentative.
 */
function assignOffsets(
  lane: TransactionLane,
  txn: Txn,
  group: PendingAppend[],
  results: AppendResult[],
  rowsByTable: Map<string, Row[]>,
  cached: Map<CommitTarget, CachedBatch[]>,
): void {
  const now = BigInt(Date.now());
  const next = txn.next;
  for (const p of group) {
    let offset = next.get(p.target) ?? lane.tentative.get(p.target)?.next ?? p.target.nextOffset();
    const appendTime = p.options.logAppendTime ? now : -1n;
    results.push({ baseOffset: offset, logAppendTimeMs: appendTime, logStartOffset: p.target.logStartOffset() });
    let rows = rowsByTable.get(p.target.table);
    if (!rows) rowsByTable.set(p.target.table, (rows = []));
    let list = cached.get(p.target);
    if (!list) cached.set(p.target, (list = []));
    for (const b of p.batches) {
      const view = p.records.subarray(b.position, b.position + b.size);
      assignBatchOffsets(view, offset, p.options.leaderEpoch);
      if (p.options.logAppendTime) setLogAppendTime(view, now);
      const last = offset + BigInt(b.lastOffsetDelta);
      rows.push({
        values: [
          p.target.partition,
          offset,
          last,
          b.recordCount,
          p.options.logAppendTime ? now : b.baseTimestamp,
          p.options.logAppendTime ? now : b.maxTimestamp,
          b.producerId,
          b.producerEpoch,
          b.baseSequence,
          b.isTransactional ? 1 : 0,
          b.isControl ? 1 : 0,
          b.size,
          view,
        ],
        bytes: b.size,
      });
      list.push({ baseOffset: offset, lastOffset: last, bytes: view });
      offset = last + 1n;
    }
    next.set(p.target, offset);
  }
  for (const [t, offset] of next) lane.tentative.set(t, { next: offset, owner: txn });
}

/** Step 6 after COMMIT: stats, partitions advanced (tail cache, high watermark), appends resolved. */
function settleCommitted(
  lane: TransactionLane,
  txn: Txn,
  group: PendingAppend[],
  results: AppendResult[],
  rowsByTable: Map<string, Row[]>,
  cached: Map<CommitTarget, CachedBatch[]>,
): void {
  const stats = lane.stats;
  stats.transactions++;
  stats.appends += group.length;
  stats.maxAppendsPerTransaction = Math.max(stats.maxAppendsPerTransaction, group.length);
  for (const rows of rowsByTable.values()) {
    stats.batches += rows.length;
    for (const r of rows) stats.bytes += r.bytes;
  }
  for (const [target, offset] of txn.next) target.committed(offset, cached.get(target) ?? []);
  group.forEach((p, i) => p.resolve(results[i]!));
}

/**
 * Step 6 after a failure (rolled back): after a predecessor that did not commit, the appends
 * run again. Otherwise a duplicate key (someone else wrote those offsets) or a missing table
 * fails only that table's appends and retries the others; anything else fails them all and
 * drops the connection.
 */
function settleFailure(
  lane: TransactionLane,
  slot: Slot,
  group: PendingAppend[],
  prevOk: boolean,
  failedTable: string | undefined,
  err: unknown,
): void {
  if (!prevOk) {
    // Offsets were assigned after a transaction that did not commit: run again.
    lane.requeue(group);
    return;
  }
  lane.markBroken();
  const code = (err as { code?: string }).code;
  if (failedTable !== undefined && (code === 'ER_DUP_ENTRY' || code === 'ER_NO_SUCH_TABLE')) {
    const rest: PendingAppend[] = [];
    for (const p of group) {
      if (p.target.table !== failedTable) rest.push(p);
      else if (code === 'ER_NO_SUCH_TABLE') {
        p.target.markDeleted();
        p.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
      } else {
        p.target.markNeedsReload();
        p.reject(KafkaError.of('NOT_LEADER_OR_FOLLOWER', 'offsets already written by another writer; reloading the partition'));
      }
    }
    lane.logger?.warn({ shard: lane.shard, table: failedTable, code }, 'append conflict; retrying the other appends');
    lane.requeue(rest);
    return;
  }
  lane.dropConnection(slot);
  lane.fail(group, err);
}
