import type { Logger } from 'pino';
import { assignBatchOffsets } from '../../codec/records/batch-header.js';
import { setLogAppendTime } from '../../codec/records/log-append-time.js';
import { KafkaError } from '../../codec/error-codes.js';
import { appendBatch, appendMarker, checkBatch, ProducerOverlay, type ProducerEntry } from '../producer-state.js';
import type { CachedBatch } from '../tail-cache.js';
import type { AppendResult } from '../types.js';
import { checkLeaderEpochs, FencedAppends } from './leader-epochs.js';
import { recordGroupMessageIds } from '../dedupe/message-ids.js';
import { confirmedBetween, needsReplica, readSemiSyncCounters, type ConfirmTarget, type SemiSyncCounters, type SemiSyncMonitor } from '../replication/semi-sync.js';
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
 * 2. assign:    producer checks (idempotence, transactions: producer-state.ts) against the
 *               committed state plus the tentative changes of the transactions before this
 *               one; duplicates and refused appends are decided here and settled with the
 *               commit. Offsets from each partition's next offset (committed, or tentative in
 *               the transaction before this one), written into the batches; rows built.
 * 3. rows:      the INSERTs, one call per log table.
 * 4. in-txn:    checks and writes that must commit or roll back with the rows.
 * 5. order:     a transaction whose producer checks or offsets depend on the ones before it
 *               committing (ordered) waits for the one before it and COMMITs only if it
 *               committed, else ROLLBACK and puts the appends back. Any other (overlapping)
 *               sends COMMIT at once, so MySQL can group the lane's commits in one binlog
 *               fsync, then waits for the one before it to settle (see mayOverlap).
 * 6. settle:    in lane order, on COMMIT, advance the partitions and resolve (a partition
 *               left with a gap by an earlier transaction that failed re-reads its end); on
 *               failure, classify the error (duplicate key, missing table, anything else)
 *               and reject or retry.
 */

/** One connection of a lane; a transaction holds it from BEGIN to COMMIT/ROLLBACK. */
export interface Slot {
  conn: LogConnection | undefined;
  busy: boolean;
}

/** A transaction of a lane, from its offset assignment until it committed or rolled back. */
export interface Txn {
  /**
   * Resolves once its appends are settled (after those of every earlier transaction): true when
   * it and every earlier one of the lane committed; false otherwise (it or an earlier one did not).
   */
  readonly done: Promise<boolean>;
  /** What `done` resolved to; undefined until then. */
  ok?: boolean;
  /** performance.now() at its INSERTs answered, COMMIT sent, COMMIT answered, as reached (lane.ts observes them). */
  readonly at: number[];
  /** Next offset per partition after this transaction (tentative until it commits). */
  next: Map<CommitTarget, bigint>;
}

/** A partition's state assuming every transaction in flight commits. */
export interface Tentative {
  next: bigint;
  owner: Txn;
  /** Producer changes of the owner and the transactions before it. */
  producers: ProducerOverlay | undefined;
}

/** What a transaction needs from its lane (lane.ts). */
export interface TransactionLane {
  readonly shard: number;
  readonly stats: CommitStats;
  readonly logger: Logger | undefined;
  /** Several brokers: step 4 checks the leader epochs (group-commit/leader-epochs.ts). */
  readonly fenceLeaderEpochs: boolean;
  /** The shard has replicas: commits of appends needing one are confirmed (storage/replication/semi-sync.ts). */
  readonly semiSync: SemiSyncMonitor | undefined;
  /** Next offset per partition assuming every transaction in flight commits. */
  readonly tentative: Map<CommitTarget, Tentative>;
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
 * lane, if any is in flight). Calls `assigned` once offsets are assigned (or it gave up), so
 * the lane can start the next transaction from this one's tentative ends. Resolves true when
 * committed; every append is settled (resolved, rejected or put back) by then.
 */
export async function writeTransaction(
  lane: TransactionLane,
  txn: Txn,
  slot: Slot,
  input: PendingAppend[],
  prevTxn: Txn | undefined,
  assigned: () => void,
): Promise<boolean> {
  const prev = prevTxn?.done ?? Promise.resolve(true);
  // Step 1: open.
  const group: PendingAppend[] = [];
  const conn = await openTransaction(lane, slot, input, group);
  if (conn === null) return false;
  // Nothing to write: this transaction stands for its predecessor's outcome.
  if (group.length === 0) return await prev;

  // Step 2: producer checks, assign offsets.
  const results: Outcome[] = [];
  const rowsByTable = new Map<string, Row[]>();
  const cached = new Map<CommitTarget, CachedBatch[]>();
  const overlays = new Map<CommitTarget, ProducerOverlay>();
  // Decided before assignOffsets records this transaction's own state as tentative.
  const starts = prevTxn === undefined ? null : mayOverlap(lane, group);
  assignOffsets(lane, txn, group, results, rowsByTable, cached, overlays);
  assigned();

  let failedTable: string | undefined;
  let prevOk: boolean | undefined;
  // A shard with replicas: every commit writing rows is bracketed by the semi-sync counters,
  // since what no replica confirmed stays invisible to readers (SemiSyncMonitor) and appends
  // needing a replica are refused. One writing nothing (only duplicates, e.g. an idempotent
  // retry after a failover) binlogs nothing, so its counters never move: its duplicates are
  // answered from the high watermark. A shard with no replica left (SemiSyncMonitor.standalone,
  // judged once offsets are assigned) has nothing to confirm: its commits are visible at once.
  const alone = lane.semiSync?.standalone === true;
  const confirm = lane.semiSync !== undefined && rowsByTable.size > 0 && !alone;
  if (lane.semiSync !== undefined && !confirm) refuseUnconfirmedDuplicates(group, results);
  let confirmed = true;
  let ticket = 0;
  try {
    // Step 3: rows. On MariaDB every table's INSERT is sent at once (pipelined): a transaction
    // over many topics (one log table each) costs one round trip, not one per table. All must
    // answer before anything else is sent (an INSERT still waiting for its PREPARE would run
    // after the ROLLBACK, in autocommit). One failed fails all (step 6); `failedTable`: the first.
    if (conn.driver === 'mariadb' && rowsByTable.size > 1) {
      const tables = [...rowsByTable.keys()];
      const settled = await Promise.allSettled([...rowsByTable].map(([table, rows]) => conn.insertRows(table, rows)));
      const bad = settled.findIndex((r) => r.status === 'rejected');
      if (bad >= 0) {
        failedTable = tables[bad];
        throw (settled[bad] as PromiseRejectedResult).reason;
      }
    } else {
      for (const [table, rows] of rowsByTable) {
        failedTable = table;
        await conn.insertRows(table, rows);
      }
    }
    failedTable = undefined;
    txn.at.push(performance.now());

    // Step 4: in-txn. Statements that must commit or roll back with these rows, on `conn`,
    // before the wait for the previous transaction: the leader-epoch check (fencing: this broker
    // still leads the partitions of `group`), aborted transactions with their abort markers
    // (producer state is otherwise rebuilt from the rows' producer columns), message ids. A
    // failure here is handled by step 6 like an INSERT failure (`failedTable` confines it to one
    // table's appends). Each is awaited only when it has something to write: no extra turn first.
    if (anyAborted(overlays)) await recordAbortedTransactions(conn, overlays);
    if (lane.fenceLeaderEpochs) await checkLeaderEpochs(conn, group);
    // Message ids of topics with message.id.header; a conflict fails only its table's appends.
    if (group.some((p) => p.options.messageIds !== undefined)) {
      await recordGroupMessageIds(conn.queryConn, group, results, (table) => (failedTable = table));
      failedTable = undefined;
    }

    // Step 5: order. An ordered transaction COMMITs only after the previous one committed; an
    // overlapping one at once, unless the previous one is known to have failed already (no
    // gap is made on purpose: it rolls back and runs again like an ordered one).
    if (starts === null || prevTxn!.ok === false) {
      prevOk = await prev;
      if (!prevOk) {
        lane.stats.abortedTransactions++;
        await conn.run('ROLLBACK').catch(() => lane.dropConnection(slot));
        lane.requeue(group);
        return false;
      }
    } else if (prevTxn!.ok === undefined) lane.stats.overlappedCommits++;
    txn.at.push(performance.now());
    if (confirm) {
      ticket = lane.semiSync!.commitsNoted;
      confirmed = await commitConfirmed(conn);
    } else await conn.run('COMMIT');
    txn.at.push(performance.now());
  } catch (err) {
    // Step 6: settle a failure.
    lane.stats.failedTransactions++;
    if (starts !== null && prevOk === undefined) {
      // Overlapping: its offsets did not depend on the one before it committing, so the
      // failure is its own; still settled after the one before it, to keep the order.
      await conn.run('ROLLBACK').catch(() => lane.dropConnection(slot));
      await prev;
      settleFailure(lane, slot, group, true, failedTable, err);
      return false;
    }
    // Settle in order: the previous transaction's outcome first.
    if (prevOk === undefined) prevOk = await prev;
    await conn.run('ROLLBACK').catch(() => lane.dropConnection(slot));
    settleFailure(lane, slot, group, prevOk, failedTable, err);
    return false;
  }
  // An overlapping commit is settled after the transactions before it.
  if (prevOk === undefined) prevOk = await prev;

  // Step 6: settle the commit.
  if (confirm) {
    lane.semiSync!.noteCommit(confirmed);
    if (!confirmed) refuseUnconfirmed(group, results);
  } else if (alone) refuseUnconfirmed(group, results); // admitted before the last replica was promoted away
  const reloaded = starts !== null && !prevOk ? await reloadAfterGap(lane, conn, txn, starts) : undefined;
  settleCommitted(lane, txn, group, results, rowsByTable, cached, overlays, confirmed, reloaded);
  if (confirm) {
    const ends: Array<[ConfirmTarget, bigint]> = [];
    for (const [t, end] of txn.next) if (t.confirmUpTo) ends.push([t as CommitTarget & ConfirmTarget, end]);
    lane.semiSync!.settle(confirmed, ticket, ends);
  }
  return prevOk;
}

/**
 * Step 5: whether this transaction may COMMIT without waiting for the one before it, and if so
 * each partition's first offset in it (assigned from the tentative ends of the transactions in
 * flight; null: ordered). Overlapping is safe when this transaction's outcome depends on
 * nothing the earlier ones might not commit, so that it can stand alone if one of them fails:
 * - no batch with a producer id, no marker: producer checks (sequences, duplicates, fencing of
 *   epochs, transaction state) build on the tentative producer changes of the transactions
 *   before it; had one of those failed, the log would hold a later sequence without the
 *   earlier one, which a Kafka idempotent producer never sees;
 * - no partition of it has producer changes in a transaction in flight before it (the same
 *   reason: those changes are assumed committed by whatever comes after);
 * - no replicas (semi-sync): a replica's confirmation of a commit covers the commits that
 *   completed before it was sent, in binlog order; two COMMITs of one partition in flight at
 *   once may reach the binlog in either order, and a high watermark moved over the later one
 *   could expose the earlier one unconfirmed.
 * What stays correct as it is: offsets (a failed earlier transaction leaves a gap, which
 * consumers skip as after compaction; the partition re-reads its end: reloadAfterGap),
 * message ids (each INSERTed with its record in one transaction; the same id in two
 * transactions in flight waits on the row lock and fails the later one with ER_DUP_ENTRY, as
 * before), leader epochs (each transaction checks them under a shared lock the controller's
 * bump waits for), delayed messages (acknowledged only once committed and settled, as before).
 */
function mayOverlap(lane: TransactionLane, group: PendingAppend[]): Map<CommitTarget, bigint> | null {
  if (lane.semiSync !== undefined) return null;
  const starts = new Map<CommitTarget, bigint>();
  for (const p of group) {
    if (p.options.marker !== undefined) return null;
    for (const b of p.batches) if (b.producerId >= 0n || b.isControl) return null;
    if (starts.has(p.target)) continue;
    const t = lane.tentative.get(p.target);
    if (t?.producers !== undefined) return null;
    starts.set(p.target, t?.next ?? p.target.nextOffset());
  }
  return starts;
}

/**
 * Step 6 of an overlapping transaction that committed after an earlier one of its lane failed:
 * a partition whose end is not where this transaction's offsets started (the failed one's
 * offsets were never written, or were: an ambiguous COMMIT) re-reads its end and producer
 * state from MySQL on this connection instead of taking the batches into its tail cache, so
 * the cache never claims a range it does not hold. Returns the partitions reloaded (their
 * end now covers this transaction's batches) as true. If a read fails (false), that partition
 * moves its end over the batches with its tail cache restarted there, since what lies in the
 * gap is unknown (MySQL answers reads below), and reloads before its next append.
 */
async function reloadAfterGap(lane: TransactionLane, conn: LogConnection, txn: Txn, starts: Map<CommitTarget, bigint>): Promise<Map<CommitTarget, boolean>> {
  lane.stats.commitsAfterGap++;
  const reloaded = new Map<CommitTarget, boolean>();
  for (const target of txn.next.keys()) {
    if (target.nextOffset() === starts.get(target)) continue;
    target.markNeedsReload();
    try {
      await target.reload(conn.queryConn);
      reloaded.set(target, true);
    } catch (err) {
      reloaded.set(target, false);
      lane.logger?.warn({ shard: lane.shard, table: target.table, err: (err as Error).message }, 'reload after a gap failed');
    }
  }
  return reloaded;
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
      // A degraded shard (a commit went unconfirmed), or one left with no replica at all:
      // refuse what needs a replica, write nothing of it.
      const alone = lane.semiSync?.standalone === true;
      const replicated = lane.semiSync === undefined || (!alone && !lane.semiSync.degraded) || !input.some((p) => needsReplica(p.options.minInsyncReplicas))
        ? true
        : alone ? false : await lane.semiSync.recheck(conn.queryConn);
      for (const p of input) {
        if (p.target.isDeleted()) p.reject(KafkaError.of('UNKNOWN_TOPIC_OR_PARTITION', 'topic was deleted'));
        else if (!replicated && needsReplica(p.options.minInsyncReplicas)) {
          p.reject(KafkaError.of('NOT_ENOUGH_REPLICAS', alone ? 'this MySQL shard has no replica (a failover promoted the last one)' : 'no replica confirms commits of this MySQL shard (semi-synchronous replication is off)'));
        } else group.push(p);
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

/** An append's outcome decided in step 2: its result, or the error it is refused with. */
type Outcome = AppendResult | KafkaError;

/**
 * Step 2: checks producer state, then assigns offsets from each partition's next offset: the
 * committed one, or the tentative one of the transaction in flight before this one (assumed to
 * commit; if it does not, this one rolls back too). Writes them (and the log append time) into
 * the batches, fills `results`, `rowsByTable` and `cached`, and records this transaction's ends
 * (and producer changes) as tentative. A duplicate (a retry of one of the producer's last
 * batches) gets the original's offsets and writes nothing; a refused append writes nothing.
 */
function assignOffsets(
  lane: TransactionLane,
  txn: Txn,
  group: PendingAppend[],
  results: Outcome[],
  rowsByTable: Map<string, Row[]>,
  cached: Map<CommitTarget, CachedBatch[]>,
  overlays: Map<CommitTarget, ProducerOverlay>,
): void {
  const now = BigInt(Date.now());
  const next = txn.next;
  for (const p of group) {
    const target = p.target;
    let offset = next.get(target) ?? lane.tentative.get(target)?.next ?? target.nextOffset();
    const decided = checkProducers(lane, target, p, offset, overlays);
    if (decided !== null) {
      results.push(decided);
      continue;
    }
    const appendTime = p.options.logAppendTime ? now : -1n;
    results.push({ baseOffset: offset, logAppendTimeMs: appendTime, logStartOffset: target.logStartOffset() });
    let rows = rowsByTable.get(target.table);
    if (!rows) rowsByTable.set(target.table, (rows = []));
    let list = cached.get(target);
    if (!list) cached.set(target, (list = []));
    for (const b of p.batches) {
      const view = p.records.subarray(b.position, b.position + b.size);
      assignBatchOffsets(view, offset, p.options.leaderEpoch);
      if (p.options.logAppendTime) setLogAppendTime(view, now);
      const last = offset + BigInt(b.lastOffsetDelta);
      rows.push({
        values: [
          target.partition,
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
    next.set(target, offset);
  }
  for (const [t, offset] of next) {
    lane.tentative.set(t, { next: offset, owner: txn, producers: overlays.get(t) ?? lane.tentative.get(t)?.producers });
  }
}

/**
 * The producer checks of one append whose first batch would get `offset`: null when it is to
 * be written (its producer changes are then in this transaction's overlay of the partition),
 * else its decided outcome. Batches without a producer id cost one comparison each.
 */
function checkProducers(
  lane: TransactionLane,
  target: CommitTarget,
  p: PendingAppend,
  offset: bigint,
  overlays: Map<CommitTarget, ProducerOverlay>,
): Outcome | null {
  let any = false;
  for (const b of p.batches) if (b.producerId >= 0n || b.isControl) any = true;
  if (!any) return null;
  let overlay = overlays.get(target);
  if (!overlay) {
    overlay = new ProducerOverlay(lane.tentative.get(target)?.producers, target.producerState);
    overlays.set(target, overlay);
  }
  // Batches of one append are checked in order, each against the state the previous one left.
  const changed = new Map<bigint, ProducerEntry>();
  const aborted: { producerId: bigint; firstOffset: bigint; lastOffset: bigint }[] = [];
  let at = offset;
  for (const b of p.batches) {
    const first = at;
    at += BigInt(b.lastOffsetDelta) + 1n;
    if (b.producerId < 0n && !b.isControl) continue;
    const entry = changed.get(b.producerId) ?? overlay.get(b.producerId);
    const check = checkBatch(entry, b, p.options.marker);
    if (check.kind === 'error') return check.error;
    if (check.kind === 'duplicate') {
      return { baseOffset: check.meta.firstOffset, logAppendTimeMs: -1n, logStartOffset: target.logStartOffset(), duplicate: true };
    }
    changed.set(
      b.producerId,
      b.isControl ? appendMarker(entry, b, p.options.marker!, first, aborted) : appendBatch(entry, b, first, at - 1n),
    );
  }
  for (const [id, e] of changed) overlay.entries.set(id, e);
  for (const a of aborted) overlay.aborted.push(a);
  return null;
}

function anyAborted(overlays: Map<CommitTarget, ProducerOverlay>): boolean {
  for (const o of overlays.values()) if (o.aborted.length > 0) return true;
  return false;
}

/** Step 4: the aborted transactions of this transaction's abort markers, in the shard's txn_aborted table. */
async function recordAbortedTransactions(conn: LogConnection, overlays: Map<CommitTarget, ProducerOverlay>): Promise<void> {
  const values: (string | number)[] = [];
  let n = 0;
  for (const [t, o] of overlays) {
    for (const a of o.aborted) {
      values.push(t.topicId, t.partition, a.producerId.toString(), a.firstOffset.toString(), a.lastOffset.toString());
      n++;
    }
  }
  if (n === 0) return;
  await conn.queryConn.query(
    `INSERT INTO txn_aborted (topic_id, partition_id, producer_id, first_offset, last_offset) VALUES ${new Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}`,
    values,
  );
}

/** Step 6 after COMMIT: stats, partitions advanced (tail cache, high watermark), appends resolved. */
function settleCommitted(
  lane: TransactionLane,
  txn: Txn,
  group: PendingAppend[],
  results: Outcome[],
  rowsByTable: Map<string, Row[]>,
  cached: Map<CommitTarget, CachedBatch[]>,
  overlays: Map<CommitTarget, ProducerOverlay>,
  confirmed: boolean,
  reloaded?: Map<CommitTarget, boolean>,
): void {
  const stats = lane.stats;
  stats.transactions++;
  stats.appends += group.length;
  stats.maxAppendsPerTransaction = Math.max(stats.maxAppendsPerTransaction, group.length);
  for (const rows of rowsByTable.values()) {
    stats.batches += rows.length;
    for (const r of rows) stats.bytes += r.bytes;
  }
  for (const [target, offset] of txn.next) {
    const gap = reloaded?.get(target);
    if (gap === true) continue;
    target.committed(offset, gap === false ? [] : cached.get(target) ?? [], overlays.get(target), confirmed);
    if (gap === false) target.restartCache?.(offset);
  }
  group.forEach((p, i) => {
    const r = results[i]!;
    if (r instanceof KafkaError) p.reject(r);
    else p.resolve(r);
  });
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
  if (err instanceof FencedAppends) {
    // This broker no longer leads those partitions: refuse them (clients refresh their metadata), retry the rest.
    for (const p of err.fenced) {
      p.target.markNeedsReload();
      p.reject(KafkaError.of('NOT_LEADER_OR_FOLLOWER', 'this broker is no longer the leader of the partition (leader epoch changed)'));
    }
    lane.requeue(group.filter((p) => !err.fenced.has(p)));
    return;
  }
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

/**
 * Step 5 with appends needing a replica: the semi-sync counters right before and after COMMIT
 * on the same connection, sent without waiting in between (pipelined by the mariadb connector).
 * Resolves whether a replica confirmed the commit; throws when COMMIT failed. A counter read
 * that failed after a successful COMMIT counts as unconfirmed.
 */
async function commitConfirmed(conn: LogConnection): Promise<boolean> {
  const before = readSemiSyncCounters(conn.queryConn);
  const commit = conn.run('COMMIT');
  const after = readSemiSyncCounters(conn.queryConn);
  const [b, c, a] = await Promise.allSettled([before, commit, after]);
  if (c.status === 'rejected') throw c.reason;
  if (b.status === 'rejected' || a.status === 'rejected') return false;
  return confirmedBetween(b.value as SemiSyncCounters, a.value as SemiSyncCounters);
}

/**
 * A transaction that writes nothing on a shard with replicas: a duplicate needing a replica
 * whose original is not below the high watermark (not confirmed yet) gets NOT_ENOUGH_REPLICAS
 * (retriable: the retry succeeds once a replica confirmed it), never an acknowledgement.
 */
function refuseUnconfirmedDuplicates(group: PendingAppend[], results: Outcome[]): void {
  group.forEach((p, i) => {
    const r = results[i];
    if (r === undefined || r instanceof KafkaError || !needsReplica(p.options.minInsyncReplicas)) return;
    const hw = p.target.highWatermark?.();
    if (hw !== undefined && r.baseOffset < hw) return;
    results[i] = KafkaError.of('NOT_ENOUGH_REPLICAS', 'the original of this retried batch is not confirmed by a replica yet');
  });
}

/**
 * A commit no replica confirmed: the appends needing one get NOT_ENOUGH_REPLICAS_AFTER_APPEND
 * (Kafka's answer when the records are in the leader's log but not on enough replicas); the
 * others are answered as committed.
 */
function refuseUnconfirmed(group: PendingAppend[], results: Outcome[]): void {
  group.forEach((p, i) => {
    if (!needsReplica(p.options.minInsyncReplicas) || results[i] instanceof KafkaError) return;
    results[i] = KafkaError.of('NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'committed on the MySQL primary, but no replica confirmed it in time (rpl_semi_sync_master_timeout)');
  });
}
