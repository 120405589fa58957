import type { Logger } from 'pino';
import { ErrorCode } from '../../codec/error-codes.js';
import { MAX_TRANSACTIONAL_ID_BYTES, type TransactionStore, type TxnOffset, type TxnPartition, type TxnRecord } from '../../storage/index.js';
import type { LogMarkerWriter, MarkerWriter } from './markers.js';
import type { VerifiedWrites } from './verified-writes.js';

/**
 * The transaction coordinator (docs/transactions.md): producer ids for idempotent producers and
 * the state machine of transactional ids, as Kafka 3.9's TransactionCoordinator. State lives in
 * MySQL (storage/transaction-store.ts); this class keeps a write-through copy in memory and
 * serializes the operations of one transactional id. Nothing is answered before its state
 * change is committed to MySQL. Differences from Kafka: EndTxn writes the markers before it
 * answers (Kafka answers after PrepareCommit is logged), so a client rarely meets
 * CONCURRENT_TRANSACTIONS; a fenced open transaction is aborted inside the InitProducerId that
 * fences it, which then answers the bumped epoch at once.
 * Several brokers (docs/cluster.md): the ids move between coordinators when the set of live
 * brokers changes (coordinationChanged), so what memory holds of an id is re-read from MySQL
 * before its first use after a change, and the new coordinator completes the prepared
 * transactions it inherits. Markers reach partitions other brokers lead through WriteTxnMarkers
 * (server/transactions/remote-markers.ts).
 */

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TransactionCoordinatorOptions {
  /** A new producer id from MySQL, unique across brokers and restarts. */
  allocateProducerId(): Promise<bigint>;
  store: TransactionStore;
  markers: MarkerWriter;
  /** Markers into the partitions this broker leads (WriteTxnMarkers from another coordinator). */
  leaderMarkers: LogMarkerWriter;
  /** Whether this broker coordinates the transactional id (the cluster's placement function). */
  isCoordinatorFor(transactionalId: string): boolean;
  /** Whether the topic partition exists. */
  partitionExists(topic: string, partition: number): boolean;
  maxTimeoutMs: number;
  logger: Logger;
  now?: () => number;
  /** Produce verifications against MySQL remembered per producer and partition (several brokers). */
  verified?: VerifiedWrites;
  /** Several brokers: prepared transactions are completed once the live brokers are known (coordinationChanged), not in start(). */
  deferRecovery?: boolean;
}

/** Kafka's limit before a producer id is replaced instead of its epoch bumped. */
const MAX_EPOCH = 32767 - 1;

export interface TxnPartitionResult extends TxnPartition {
  errorCode: number;
}

export interface TxnOffsetInput extends TxnOffset {
  errorCode?: number;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnRecord>();
  /** Producer id -> transactional id (produce verification). */
  private readonly byProducer = new Map<bigint, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private loaded = false;
  /** Bumped when transactional ids may have moved between brokers (coordinationChanged). */
  private generation = 0;
  /** The generation at which each id's copy in memory was read from (or written to) MySQL. */
  private readonly loadedAt = new Map<string, number>();

  constructor(private readonly options: TransactionCoordinatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the state from MySQL and finishes transactions left between prepare and complete. */
  async start(): Promise<void> {
    for (const r of await this.options.store.loadAll()) this.remember(r);
    this.loaded = true;
    if (this.options.deferRecovery) return;
    const pending = [...this.txns.values()].filter((r) => r.state === 'PrepareCommit' || r.state === 'PrepareAbort');
    for (const r of pending) {
      this.options.logger.info({ transactionalId: r.transactionalId, state: r.state }, 'completing a prepared transaction after restart');
    }
    await Promise.all(pending.map((r) => this.withLock(r.transactionalId, () => this.complete(r)).catch(() => undefined)));
  }

  /** Every transactional id known (ListTransactions, DescribeTransactions, the CLI). */
  all(): TxnRecord[] {
    return [...this.txns.values()];
  }

  get(transactionalId: string): TxnRecord | undefined {
    return this.txns.get(transactionalId);
  }

  /**
   * The live brokers changed, so transactional ids may have moved to or from this broker: every
   * copy in memory is read again from MySQL before it is used, and the prepared transactions this
   * broker now coordinates (their coordinator died between EndTxn and the last marker) are
   * completed. Resolves with how many were completed.
   */
  async coordinationChanged(): Promise<number> {
    this.generation++;
    const rows = await this.options.store.loadAll();
    let n = 0;
    for (const row of rows) {
      const id = row.transactionalId;
      if (!this.options.isCoordinatorFor(id)) continue;
      // Known to the timers (a timed-out transaction started under the old coordinator is aborted
      // here), but marked stale: an operation running meanwhile may have written a newer state.
      if (!this.locks.has(id)) {
        this.remember(row);
        this.loadedAt.delete(id);
      }
      if (row.state !== 'PrepareCommit' && row.state !== 'PrepareAbort') continue;
      this.options.logger.info({ transactionalId: id, state: row.state }, 'completing a prepared transaction this broker now coordinates');
      await this.completeIfPrepared(id)
        .then(() => void n++)
        .catch((err: unknown) => this.options.logger.warn({ transactionalId: id, err: (err as Error).message }, 'completing an inherited transaction failed; retried by the timer'));
    }
    return n;
  }

  // ---- InitProducerId --------------------------------------------------------------------

  /**
   * InitProducerId without a transactional id: as Kafka, always a new producer id with epoch 0,
   * whatever id and epoch the producer sends (KIP-360's bump applies to transactional ids).
   */
  async initIdempotent(): Promise<ProducerIdAndEpoch> {
    try {
      return { errorCode: ErrorCode.NONE, producerId: await this.options.allocateProducerId(), producerEpoch: 0 };
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'producer id allocation failed');
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  async initTransactional(id: string, timeoutMs: number, producerId: bigint, epoch: number, version: number): Promise<ProducerIdAndEpoch> {
    const invalid = this.checkId(id);
    if (invalid !== ErrorCode.NONE) return fail(invalid);
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const fenced = version >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
    return this.guard(id, async () => {
      let r = this.txns.get(id);
      if (!r) {
        const pid = await this.options.allocateProducerId();
        r = { transactionalId: id, producerId: pid, producerEpoch: 0, lastProducerId: -1n, lastProducerEpoch: -1, timeoutMs, state: 'Empty', txnStartMs: -1, updatedMs: this.now(), partitions: [], groups: [] };
        await this.save(r);
        return ok(r);
      }
      if (r.state === 'PrepareCommit' || r.state === 'PrepareAbort') {
        // Markers still to write (MySQL was down): try again now; the producer retries.
        await this.complete(r).catch(() => undefined);
        if (this.txns.get(id)!.state.startsWith('Prepare')) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        r = this.txns.get(id)!;
      }
      if (producerId >= 0n) {
        // KIP-360: the producer says which id and epoch it has. A retry of the bump that
        // already happened gets the current ones; anything else is a zombie.
        const current = producerId === r.producerId && epoch === r.producerEpoch;
        const retried = producerId === r.lastProducerId && epoch === r.lastProducerEpoch && r.state === 'Empty';
        if (retried) return ok(r);
        if (!current) return fail(fenced);
      }
      if (r.state === 'Ongoing') {
        // Fence the producer of the open transaction and abort it with the bumped epoch.
        const fencedRecord = bump({ ...r }, await this.maybeNewId(r));
        fencedRecord.state = 'PrepareAbort';
        fencedRecord.updatedMs = this.now();
        await this.save(fencedRecord);
        await this.complete(fencedRecord).catch(() => undefined);
        r = this.txns.get(id)!;
        if (r.state !== 'CompleteAbort') return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const next = bump({ ...r }, await this.maybeNewId(r));
      next.state = 'Empty';
      next.timeoutMs = timeoutMs;
      next.txnStartMs = -1;
      next.partitions = [];
      next.groups = [];
      next.updatedMs = this.now();
      await this.save(next);
      return ok(next);
    }, fail);
  }

  // ---- AddPartitionsToTxn, AddOffsetsToTxn -------------------------------------------------

  async addPartitions(id: string, producerId: bigint, epoch: number, partitions: TxnPartition[], version: number, verifyOnly = false): Promise<TxnPartitionResult[]> {
    const all = (errorCode: number) => partitions.map((p) => ({ ...p, errorCode }));
    const invalid = this.checkId(id);
    if (invalid !== ErrorCode.NONE) return all(invalid);
    const unknown = partitions.filter((p) => !this.options.partitionExists(p.topic, p.partition));
    if (unknown.length > 0) {
      return partitions.map((p) => ({ ...p, errorCode: unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED }));
    }
    return this.guard(id, async () => {
      const r = this.txns.get(id);
      const error = this.checkProducer(r, producerId, epoch, version >= 2);
      if (error !== ErrorCode.NONE) return all(error);
      if (verifyOnly) {
        return partitions.map((p) => ({ ...p, errorCode: r!.state === 'Ongoing' && has(r!.partitions, p) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE }));
      }
      if (r!.state === 'PrepareCommit' || r!.state === 'PrepareAbort') return all(ErrorCode.CONCURRENT_TRANSACTIONS);
      const added = partitions.filter((p) => r!.state !== 'Ongoing' || !has(r!.partitions, p));
      if (added.length > 0 || r!.state !== 'Ongoing') {
        const next = this.begin(r!);
        for (const p of added) if (!has(next.partitions, p)) next.partitions.push({ topic: p.topic, partition: p.partition });
        await this.save(next);
      }
      return all(ErrorCode.NONE);
    }, all);
  }

  async addOffsets(id: string, producerId: bigint, epoch: number, groupId: string, version: number): Promise<number> {
    const invalid = this.checkId(id);
    if (invalid !== ErrorCode.NONE) return invalid;
    if (groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
    return this.guard(id, async () => {
      const r = this.txns.get(id);
      const error = this.checkProducer(r, producerId, epoch, version >= 2);
      if (error !== ErrorCode.NONE) return error;
      if (r!.state === 'PrepareCommit' || r!.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
      if (r!.state !== 'Ongoing' || !r!.groups.includes(groupId)) {
        const next = this.begin(r!);
        if (!next.groups.includes(groupId)) next.groups.push(groupId);
        await this.save(next);
      }
      return ErrorCode.NONE;
    }, (code) => code);
  }

  /**
   * TxnOffsetCommit: the offsets are kept with the transaction (txn_offsets) and reach the
   * group's committed offsets only when the transaction commits. The group must have been
   * added with AddOffsetsToTxn (INVALID_TXN_STATE otherwise).
   */
  async commitOffsets(id: string, groupId: string, producerId: bigint, epoch: number, offsets: TxnOffset[], version: number): Promise<number> {
    const invalid = this.checkId(id);
    if (invalid !== ErrorCode.NONE) return invalid;
    return this.guard(id, async () => {
      const r = this.txns.get(id);
      const error = this.checkProducer(r, producerId, epoch, version >= 3);
      if (error !== ErrorCode.NONE) return error;
      if (r!.state !== 'Ongoing' || !r!.groups.includes(groupId)) return ErrorCode.INVALID_TXN_STATE;
      await this.options.store.saveOffsets(id, groupId, offsets);
      return ErrorCode.NONE;
    }, (code) => code);
  }

  // ---- EndTxn ---------------------------------------------------------------------------

  async endTxn(id: string, producerId: bigint, epoch: number, commit: boolean, version: number): Promise<number> {
    const invalid = this.checkId(id);
    if (invalid !== ErrorCode.NONE) return invalid;
    return this.guard(id, async () => {
      const r = this.txns.get(id);
      const error = this.checkProducer(r, producerId, epoch, version >= 2);
      if (error !== ErrorCode.NONE) return error;
      switch (r!.state) {
        case 'Ongoing': {
          const next = { ...r!, state: commit ? ('PrepareCommit' as const) : ('PrepareAbort' as const), updatedMs: this.now() };
          await this.save(next);
          // The outcome is decided (and durable): markers that fail now are written later.
          await this.complete(next).catch(() => undefined);
          return ErrorCode.NONE;
        }
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case 'PrepareCommit':
          return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
        case 'PrepareAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
        default:
          return ErrorCode.INVALID_TXN_STATE;
      }
    }, (code) => code);
  }

  /**
   * Produce verification (Kafka's KIP-890): a transactional batch is accepted only from the
   * current epoch of a producer whose ongoing transaction holds the partition. Against memory
   * when this broker coordinates the id and its copy is current; otherwise against the
   * coordinator's row in MySQL (written before AddPartitionsToTxn is answered), once per producer
   * epoch and partition until its marker (VerifiedWrites), so later batches cost no query.
   */
  verifyWrite(transactionalId: string | null, producerId: bigint, epoch: number, topic: string, partition: number, leaderEpoch: number): number | Promise<number> {
    if (transactionalId === null) {
      const id = this.byProducer.get(producerId);
      return verifyAgainst(id === undefined ? undefined : this.txns.get(id), producerId, epoch, topic, partition);
    }
    if (this.options.isCoordinatorFor(transactionalId) && this.loadedAt.get(transactionalId) === this.generation) {
      return verifyAgainst(this.txns.get(transactionalId), producerId, epoch, topic, partition);
    }
    const verified = this.options.verified;
    if (verified?.has(producerId, epoch, topic, partition, leaderEpoch)) return ErrorCode.NONE;
    return this.options.store.load(transactionalId).then((r) => {
      const code = verifyAgainst(r ?? undefined, producerId, epoch, topic, partition);
      if (code === ErrorCode.NONE) verified?.remember(producerId, epoch, topic, partition, leaderEpoch);
      return code;
    });
  }

  /** WriteTxnMarkers: one marker into a partition this broker leads; resolves with its Kafka error code. */
  writeLeaderMarker(topic: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<number> {
    return this.options.leaderMarkers.writeOne(topic, partition, producerId, producerEpoch, commit, coordinatorEpoch);
  }

  // ---- timers (service.ts) ---------------------------------------------------------------

  /**
   * Aborts transactions open longer than their timeout, fencing their producer (epoch bumped,
   * as Kafka), and retries markers of prepared transactions. Returns how many were aborted.
   */
  async abortTimedOut(): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const r of [...this.txns.values()]) {
      // Another broker's ids: its copy here may be stale, and that broker times them out.
      if (!this.options.isCoordinatorFor(r.transactionalId)) continue;
      if (r.state === 'PrepareCommit' || r.state === 'PrepareAbort') {
        await this.completeIfPrepared(r.transactionalId).catch(() => undefined);
        continue;
      }
      if (r.state !== 'Ongoing' || r.txnStartMs + r.timeoutMs > now) continue;
      await this.withLock(r.transactionalId, async () => {
        await this.refresh(r.transactionalId);
        const cur = this.txns.get(r.transactionalId);
        if (!cur || cur.state !== 'Ongoing' || cur.txnStartMs + cur.timeoutMs > this.now()) return;
        this.options.logger.info({ transactionalId: cur.transactionalId, producerId: String(cur.producerId) }, 'aborting a timed-out transaction');
        await this.abort(cur);
        n++;
      }).catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'timed-out transaction abort failed'));
    }
    return n;
  }

  /** Removes transactional ids idle for `expirationMs` with no transaction open. */
  async expireIds(expirationMs: number): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const r of [...this.txns.values()]) {
      if (r.state !== 'Empty' && r.state !== 'CompleteCommit' && r.state !== 'CompleteAbort') continue;
      if (now - r.updatedMs < expirationMs || !this.options.isCoordinatorFor(r.transactionalId)) continue;
      await this.withLock(r.transactionalId, async () => {
        await this.refresh(r.transactionalId);
        const cur = this.txns.get(r.transactionalId);
        if (!cur || cur.producerId !== r.producerId || cur.updatedMs !== r.updatedMs) return;
        await this.options.store.delete(r.transactionalId);
        this.txns.delete(r.transactionalId);
        if (this.byProducer.get(r.producerId) === r.transactionalId) this.byProducer.delete(r.producerId);
        n++;
      }).catch(() => undefined);
    }
    return n;
  }

  /** Aborts the open transaction of a transactional id (the CLI's abort), fencing its producer. */
  async abortTransaction(id: string): Promise<number> {
    return this.guard(id, async () => {
      const r = this.txns.get(id);
      if (!r) return ErrorCode.TRANSACTIONAL_ID_NOT_FOUND;
      if (r.state !== 'Ongoing' && r.state !== 'PrepareAbort') return ErrorCode.INVALID_TXN_STATE;
      await this.abort(r);
      return this.txns.get(id)!.state === 'CompleteAbort' ? ErrorCode.NONE : ErrorCode.CONCURRENT_TRANSACTIONS;
    }, (code) => code);
  }

  // ---- internals -------------------------------------------------------------------------

  private async abort(r: TxnRecord): Promise<void> {
    const next = r.state === 'PrepareAbort' ? { ...r } : bump({ ...r }, await this.maybeNewId(r));
    next.state = 'PrepareAbort';
    next.updatedMs = this.now();
    await this.save(next);
    await this.complete(next);
  }

  /** Writes the markers of a prepared transaction, then records it complete (offsets moved on commit). */
  private async complete(r: TxnRecord): Promise<void> {
    const commit = r.state === 'PrepareCommit';
    await this.options.markers.write(r.partitions, r.producerId, r.producerEpoch, commit);
    const done: TxnRecord = { ...r, state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: [], groups: [], txnStartMs: -1, updatedMs: this.now() };
    await this.options.store.complete(done, commit);
    this.remember(done);
  }

  /** Under the id's lock: completes its transaction if MySQL still says it is prepared. */
  private completeIfPrepared(id: string): Promise<void> {
    return this.withLock(id, async () => {
      await this.refresh(id);
      const cur = this.txns.get(id);
      if (cur && (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort') && this.options.isCoordinatorFor(id)) await this.complete(cur);
    });
  }

  /** Re-reads the id from MySQL when its copy predates the last coordination change (under its lock). */
  private async refresh(id: string): Promise<void> {
    const generation = this.generation;
    if (this.loadedAt.get(id) === generation) return;
    const r = await this.options.store.load(id);
    if (r) this.remember(r, generation);
    else {
      const old = this.txns.get(id);
      if (old && this.byProducer.get(old.producerId) === id) this.byProducer.delete(old.producerId);
      this.txns.delete(id);
      this.loadedAt.set(id, generation);
    }
  }

  private begin(r: TxnRecord): TxnRecord {
    if (r.state === 'Ongoing') return { ...r, partitions: [...r.partitions], groups: [...r.groups], updatedMs: this.now() };
    return { ...r, state: 'Ongoing', partitions: [], groups: [], txnStartMs: this.now(), updatedMs: this.now() };
  }

  private async maybeNewId(r: TxnRecord): Promise<bigint | null> {
    return r.producerEpoch >= MAX_EPOCH ? await this.options.allocateProducerId() : null;
  }

  private checkId(id: string): number {
    if (!this.loaded) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (id.length === 0 || Buffer.byteLength(id) > MAX_TRANSACTIONAL_ID_BYTES) return ErrorCode.INVALID_REQUEST;
    if (!this.options.isCoordinatorFor(id)) return ErrorCode.NOT_COORDINATOR;
    return ErrorCode.NONE;
  }

  private checkProducer(r: TxnRecord | undefined, producerId: bigint, epoch: number, fencedCode: boolean): number {
    if (!r || r.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (epoch !== r.producerEpoch) return fencedCode ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH;
    return ErrorCode.NONE;
  }

  private async save(r: TxnRecord): Promise<void> {
    const generation = this.generation;
    await this.options.store.save(r);
    this.remember(r, generation);
  }

  private remember(r: TxnRecord, generation = this.generation): void {
    const old = this.txns.get(r.transactionalId);
    if (old && old.producerId !== r.producerId && this.byProducer.get(old.producerId) === r.transactionalId) this.byProducer.delete(old.producerId);
    this.txns.set(r.transactionalId, r);
    this.byProducer.set(r.producerId, r.transactionalId);
    this.loadedAt.set(r.transactionalId, generation);
  }

  /** Runs `work` after the previous operation of the same transactional id. */
  private withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(work, work);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }

  /** withLock, with a MySQL failure answered as COORDINATOR_NOT_AVAILABLE (retriable). */
  private guard<T>(id: string, work: () => Promise<T>, onError: (code: number) => T): Promise<T> {
    const fresh = async () => {
      await this.refresh(id);
      return work();
    };
    return this.withLock(id, fresh).catch((err: unknown) => {
      this.options.logger.warn({ transactionalId: id, err: (err as Error).message }, 'transaction coordinator: storage failed');
      return onError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    });
  }
}

function ok(r: TxnRecord): ProducerIdAndEpoch {
  return { errorCode: ErrorCode.NONE, producerId: r.producerId, producerEpoch: r.producerEpoch };
}

function fail(errorCode: number): ProducerIdAndEpoch {
  return { errorCode, producerId: -1n, producerEpoch: -1 };
}

function has(list: readonly TxnPartition[], p: TxnPartition): boolean {
  return list.some((x) => x.topic === p.topic && x.partition === p.partition);
}

/** The next epoch, or a new producer id at epoch 0 when the epoch is exhausted; keeps the previous pair. */
function bump(r: TxnRecord, newId: bigint | null): TxnRecord {
  r.lastProducerId = r.producerId;
  r.lastProducerEpoch = r.producerEpoch;
  if (newId !== null) {
    r.producerId = newId;
    r.producerEpoch = 0;
  } else r.producerEpoch += 1;
  return r;
}

function verifyAgainst(r: TxnRecord | undefined, producerId: bigint, epoch: number, topic: string, partition: number): number {
  if (!r || r.producerId !== producerId) return ErrorCode.INVALID_TXN_STATE;
  if (epoch < r.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (epoch !== r.producerEpoch || r.state !== 'Ongoing' || !has(r.partitions, { topic, partition })) return ErrorCode.INVALID_TXN_STATE;
  return ErrorCode.NONE;
}
