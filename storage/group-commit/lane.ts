import type { Logger } from 'pino';
import { KafkaError } from '../../codec/error-codes.js';
import type { SemiSyncMonitor } from '../replication/semi-sync.js';
import type { LogConnection, LogConnector } from './log-connection.js';
import { writeTransaction, type Slot, type Tentative, type TransactionLane, type Txn } from './transaction.js';
import { emptyCommitStats, type CommitStats, type CommitTarget, type GroupCommitOptions, type PendingAppend, type TransactionTiming } from './types.js';

/**
 * A commit lane: queueing and pipelining. Appends queue up; the lane takes as many as fit in
 * maxTransactionBytes into a transaction (transaction.ts) on a free connection, up to
 * `pipelineDepth` transactions in flight, each on its own connection. An idle lane waits
 * maxDelayMs after the first append before it starts, to gather more. A transaction's offsets
 * continue from the tentative ends of the one before it; its COMMIT waits for the one before
 * it only when its outcome depends on that one's (transaction.ts step 5), and appends are
 * settled in order either way. When one fails, nothing new starts until none is in flight,
 * then the appends put back go first.
 */
export class CommitLane implements TransactionLane {
  readonly stats: CommitStats = emptyCommitStats();
  readonly logger: Logger | undefined;
  readonly tentative = new Map<CommitTarget, Tentative>();
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  /** Appends of rolled-back transactions to run again, in order, ahead of the queue. */
  private retry: PendingAppend[] = [];
  /** A transaction failed: start nothing new until every transaction in flight has ended. */
  private broken = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly depth: number;
  private readonly slots: Slot[];
  /** Transactions in flight, oldest first; each is settled only after the one before it. */
  private readonly inflight: Txn[] = [];
  private closed = false;
  /** Bumped by repoint: a connection opened before it went to the old primary. */
  private generation = 0;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    readonly shard: number,
    private readonly connector: LogConnector & { repoint?(url: string): void },
    private readonly options: GroupCommitOptions,
  ) {
    this.logger = options.logger;
    this.depth = Math.max(1, Math.floor(options.pipelineDepth ?? 1));
    this.slots = Array.from({ length: this.depth }, () => ({ conn: undefined, busy: false }));
  }

  get fenceLeaderEpochs(): boolean {
    return this.options.fenceLeaderEpochs === true;
  }

  get semiSync(): SemiSyncMonitor | undefined {
    return this.options.semiSync;
  }

  enqueue(p: PendingAppend): void {
    if (this.closed) {
      p.reject(KafkaError.of('KAFKA_STORAGE_ERROR', 'storage is shutting down'));
      return;
    }
    if (this.options.observe) p.enqueuedAt = performance.now();
    this.queue.push(p);
    this.queuedBytes += p.bytes;
    this.schedule();
  }

  /** Stops accepting appends, finishes queued and in-flight ones, closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.running) this.start(false);
    }
    for (;;) {
      await this.idle;
      if (this.inflight.length > 0) await Promise.all(this.inflight.map((t) => t.done));
      else if (!this.running) break;
    }
    await Promise.all(
      this.slots.map(async (s) => {
        const c = s.conn;
        s.conn = undefined;
        await c?.end().catch(() => undefined);
      }),
    );
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.queuedBytes >= this.options.maxTransactionBytes || this.options.maxDelayMs <= 0 || this.closed) {
      // Still yield once so appends issued in the same tick share the transaction.
      this.start(true);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running) this.start(false);
    }, this.options.maxDelayMs);
  }

  /** Marks the lane busy (synchronously, so close() sees it) and runs the flush loop. */
  private start(deferred: boolean): void {
    this.running = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    if (deferred) setImmediate(() => void this.loop());
    else void this.loop();
  }

  /**
   * Starts transactions while appends are queued and a connection is free. The loop stays
   * while all connections are busy (appends queue up meanwhile and go in the next transaction)
   * and ends when the queue is empty; transactions in flight then finish on their own.
   */
  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.broken) await this.recover();
        if (this.inflight.length >= this.depth) {
          await this.inflight[0]!.done;
          continue;
        }
        if (this.queue.length === 0) break;
        const n = this.takeCount();
        if (this.inflight.length > 0 && this.anyNeedsReload(n)) {
          // A partition's end must be re-read from MySQL with nothing of it in flight.
          await Promise.all(this.inflight.map((t) => t.done));
          continue;
        }
        await this.begin(this.take(n));
      }
    } finally {
      this.running = false;
      this.markIdle();
    }
  }

  /**
   * After a failed transaction: the ones after it roll back; once none is in flight, the
   * appends to run again go first (partitions that failed reload their end when next written).
   */
  private async recover(): Promise<void> {
    while (this.inflight.length > 0) await Promise.all(this.inflight.map((t) => t.done));
    this.broken = false;
    if (this.retry.length > 0) {
      for (const p of this.retry) this.queuedBytes += p.bytes;
      this.queue = this.retry.concat(this.queue);
      this.retry = [];
    }
  }

  /** How many queued appends the next transaction takes: as many as fit in maxTransactionBytes (at least one). */
  private takeCount(): number {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const b = this.queue[n]!.bytes;
      if (n > 0 && bytes + b > this.options.maxTransactionBytes) break;
      bytes += b;
      n++;
    }
    return n;
  }

  private anyNeedsReload(n: number): boolean {
    for (let i = 0; i < n; i++) if (this.queue[i]!.target.needsReload()) return true;
    return false;
  }

  private take(n: number): PendingAppend[] {
    const group = this.queue.splice(0, n);
    for (const p of group) this.queuedBytes -= p.bytes;
    return group;
  }

  /**
   * Starts a transaction on a free connection; resolves once its offsets are assigned (or it
   * ended), so the next transaction continues from its tentative next offsets.
   */
  private begin(group: PendingAppend[]): Promise<void> {
    const slot = this.slots.find((s) => !s.busy)!;
    slot.busy = true;
    const prev = this.inflight[this.inflight.length - 1];
    if (this.inflight.length > 0) this.stats.pipelinedTransactions++;
    let settle!: (ok: boolean) => void;
    const txn: Txn = { done: new Promise<boolean>((r) => (settle = r)), next: new Map(), at: [] };
    this.inflight.push(txn);
    let assigned!: () => void;
    const offsetsAssigned = new Promise<void>((r) => (assigned = r));
    const start = this.options.observe ? performance.now() : 0;
    void (async () => {
      let ok = false;
      try {
        ok = await writeTransaction(this, txn, slot, group, prev, assigned);
      } catch (err) {
        // writeTransaction settles every append itself; this is a last line of defence.
        this.broken = true;
        this.fail(group, err);
      } finally {
        for (const t of txn.next.keys()) if (this.tentative.get(t)?.owner === txn) this.tentative.delete(t);
        slot.busy = false;
        this.inflight.splice(this.inflight.indexOf(txn), 1);
        assigned();
        txn.ok = ok;
        settle(ok);
      }
      // Offsets assigned: it wrote (or tried to write) rows.
      if (this.options.observe && txn.next.size > 0) this.observe(txn, group[0]!.enqueuedAt ?? start, start);
    })();
    return offsetsAssigned;
  }

  /**
   * Reports a transaction's phases (TransactionTiming). Its marks (transaction.ts, Txn.at) end
   * at the phase it stopped in, which then runs to now; an overlapping commit's wait for the
   * transaction before it to settle, after its COMMIT answered, is in no phase.
   */
  private observe(txn: Txn, enqueuedAt: number, start: number): void {
    const now = performance.now();
    const [inserted = now, commitSent = now, commitAnswered = now] = txn.at;
    const timing: TransactionTiming = {
      queued: Math.max(0, start - enqueuedAt) / 1000,
      insert: (inserted - start) / 1000,
      wait: (commitSent - inserted) / 1000,
      commit: (commitAnswered - commitSent) / 1000,
      committed: txn.at.length === 3,
    };
    try {
      this.options.observe!(timing);
    } catch (err) {
      this.logger?.warn({ shard: this.shard, err: (err as Error).message }, 'group-commit observer failed');
    }
  }

  // --- TransactionLane (called by writeTransaction) ---

  async connection(slot: Slot): Promise<LogConnection> {
    if (slot.conn) return slot.conn;
    const generation = this.generation;
    const conn = await this.connector.open((broken) => {
      if (slot.conn === broken) slot.conn = undefined;
    });
    if (generation !== this.generation) {
      // Opened to the old primary while the shard was repointed: never write on it.
      conn.destroy();
      throw Object.assign(new Error('the MySQL primary moved (failover) while connecting'), { code: 'PRIMARY_MOVED', fatal: true });
    }
    slot.conn = conn;
    return conn;
  }

  /**
   * The shard's primary moved: later connections go to `url`, and every open one is destroyed
   * (a transaction in flight on the old primary fails, its appends get a retriable error, and
   * its partitions re-read their end from the new primary).
   */
  repoint(url: string): void {
    this.generation++;
    this.connector.repoint?.(url);
    for (const t of this.tentative.keys()) t.markNeedsReload();
    for (const slot of this.slots) this.dropConnection(slot);
  }

  dropConnection(slot: Slot): void {
    const c = slot.conn;
    slot.conn = undefined;
    c?.destroy();
  }

  markBroken(): void {
    this.broken = true;
  }

  requeue(group: PendingAppend[]): void {
    if (group.length === 0) return;
    this.broken = true;
    for (const p of group) this.retry.push(p);
    this.schedule();
  }

  fail(group: PendingAppend[], err: unknown): void {
    this.logger?.error(
      { shard: this.shard, url: this.connector.label, err: (err as Error).message, appends: group.length },
      'group commit failed',
    );
    for (const p of group) {
      p.target.markNeedsReload();
      p.reject(err instanceof KafkaError ? err : KafkaError.of('KAFKA_STORAGE_ERROR', `storage error: ${(err as Error).message}`));
    }
  }
}
