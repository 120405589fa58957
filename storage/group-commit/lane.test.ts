import { PartitionProducerState } from '../producer-state.js';
import { describe, expect, it } from 'vitest';
import type { CachedBatch } from '../tail-cache.js';
import { buildTestBatch, concatBatches } from '../testing.js';
import type { AppendResult } from '../types.js';
import { SemiSyncMonitor } from '../replication/semi-sync.js';
import { CommitLane } from './lane.js';
import type { LogConnection, LogConnector, Row } from './log-connection.js';
import type { CommitTarget, PendingAppend } from './types.js';

/**
 * The lane's queueing and pipelining without MySQL: connections the test drives, whose COMMIT
 * waits until the test opens its gate. Every step waits for an explicit event (a statement
 * arrived, a gate opened), never for time.
 */

class FakeTarget implements CommitTarget {
  readonly table: string;
  next = 0n;
  readonly cached: CachedBatch[] = [];
  reloads = 0;
  private reloadNeeded = false;
  constructor(
    readonly topicId: string,
    readonly partition: number,
    /** What a reload reads (the committed rows' end), as PartitionLog.reload from MySQL. */
    private readonly stored?: GatedConnector,
  ) {
    this.table = `log_${topicId}`;
  }
  nextOffset(): bigint {
    return this.next;
  }
  logStartOffset(): bigint {
    return 0n;
  }
  isDeleted(): boolean {
    return false;
  }
  needsReload(): boolean {
    return this.reloadNeeded;
  }
  /** The next reload fails (MySQL unreachable) instead of reading the end. */
  failReload = false;
  /** Where the tail cache was restarted (restartCache). */
  readonly cacheRestarts: bigint[] = [];
  async reload(): Promise<void> {
    this.reloads++;
    if (this.failReload) {
      this.failReload = false;
      throw Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
    }
    this.reloadNeeded = false;
    if (this.stored) {
      // As PartitionLog.reload: the end is re-read and the tail cache restarts there.
      const end = this.stored.end(this.table, this.partition);
      if (end !== this.next) {
        this.next = end;
        this.cached.length = 0;
      }
    }
  }
  markNeedsReload(): void {
    this.reloadNeeded = true;
  }
  markDeleted(): void {}
  readonly producerState = new PartitionProducerState();
  committed(nextOffset: bigint, batches: CachedBatch[]): void {
    this.next = nextOffset;
    this.cached.push(...batches);
  }
  restartCache(at: bigint): void {
    this.cacheRestarts.push(at);
    this.cached.length = 0;
  }
}

interface Gate {
  conn: number;
  open(): void;
  fail(err: Error): void;
}

interface StoredRow {
  table: string;
  partition: number;
  base: bigint;
  last: bigint;
}

/**
 * Connections numbered from 1; every statement is logged as `<conn>:<statement>`. Rows of a
 * transaction are stored (`stored`, what MySQL holds) when its COMMIT's gate opens.
 */
class GatedConnector implements LogConnector {
  readonly label = 'fake';
  readonly log: string[] = [];
  /** COMMITs waiting for the test, in the order they were sent. */
  readonly gates: Gate[] = [];
  readonly stored: StoredRow[] = [];
  private opened = 0;

  /** MAX(last_offset) + 1 of the stored rows of a partition (0 when none). */
  end(table: string, partition: number): bigint {
    let end = 0n;
    for (const r of this.stored) if (r.table === table && r.partition === partition && r.last + 1n > end) end = r.last + 1n;
    return end;
  }

  async open(): Promise<LogConnection> {
    const id = ++this.opened;
    let txnRows: StoredRow[] = [];
    return {
      driver: 'mysql2',
      run: async (sql) => {
        this.log.push(`${id}:${sql}`);
        if (sql !== 'COMMIT') {
          txnRows = [];
          return;
        }
        try {
          await new Promise<void>((resolve, reject) => this.gates.push({ conn: id, open: resolve, fail: reject }));
          this.stored.push(...txnRows);
        } finally {
          txnRows = [];
        }
      },
      insertRows: async (table: string, rows: Row[]) => {
        this.log.push(`${id}:INSERT ${table} ${rows.map((r) => `${r.values[0]}@${r.values[1]}`).join(',')}`);
        for (const r of rows) txnRows.push({ table, partition: Number(r.values[0]), base: r.values[1] as bigint, last: r.values[2] as bigint });
      },
      queryConn: { query: (async () => [[], []]) as never },
      destroy: () => undefined,
      end: async () => undefined,
    };
  }
}

/** Lets pending promise reactions and immediates run: one macrotask turn, not a wall-clock wait. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await turn();
  expect(cond()).toBe(true);
}

/** An append of `records` records; with `producer`, an idempotent batch of producer 9 from sequence `producer.seq`. */
function pending(target: CommitTarget, records: number, producer?: { seq: number }): { append: PendingAppend; result: Promise<AppendResult> } {
  const values = Array.from({ length: records }, (_, i) => `v${i}`);
  const idempotent = producer ? { producerId: 9n, producerEpoch: 0, baseSequence: producer.seq } : {};
  const { records: bytes, infos } = concatBatches([buildTestBatch({ values, ...idempotent })]);
  let append!: PendingAppend;
  const result = new Promise<AppendResult>((resolve, reject) => {
    append = { target, records: bytes, batches: infos, options: { logAppendTime: false, leaderEpoch: 7 }, bytes: bytes.length, resolve, reject };
  });
  return { append, result };
}

/** One lane, `depth` transactions in flight, one append per transaction (each append is over maxTransactionBytes). */
function gatedLane(depth = 2): { lane: CommitLane; connector: GatedConnector } {
  const connector = new GatedConnector();
  const lane = new CommitLane(0, connector, { maxDelayMs: 0, maxTransactionBytes: 1, maxStatementBytes: 1 << 20, pipelineDepth: depth });
  return { lane, connector };
}

/** Whether a promise has settled, seen after letting pending reactions run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  return done;
}

describe('CommitLane (hand-driven connections)', () => {
  it('inserts an idempotent transaction N+1 while N commits, from N\'s tentative offsets, and commits it only after N', async () => {
    const { lane, connector } = gatedLane();
    const p = new FakeTarget('a', 0);
    const first = pending(p, 3, { seq: 0 });
    const second = pending(p, 2, { seq: 3 });
    lane.enqueue(first.append);
    lane.enqueue(second.append);
    await until(() => connector.gates.length === 1 && connector.log.includes('2:INSERT log_a 0@3'));
    // N waits at its COMMIT on connection 1; N+1 has inserted offsets 3-4 on connection 2 and has not committed.
    expect(connector.log).toEqual(['1:BEGIN', '1:INSERT log_a 0@0', '1:COMMIT', '2:BEGIN', '2:INSERT log_a 0@3']);
    expect(lane.stats.pipelinedTransactions).toBe(1);
    expect(p.next).toBe(0n);
    connector.gates[0]!.open();
    expect((await first.result).baseOffset).toBe(0n);
    await until(() => connector.gates.length === 2);
    expect(connector.gates[1]!.conn).toBe(2);
    expect(p.next).toBe(3n);
    connector.gates[1]!.open();
    expect((await second.result).baseOffset).toBe(3n);
    expect(p.next).toBe(5n);
    // Offsets and the leader epoch were written into the batches the tail cache keeps.
    expect(p.cached.map((b) => [b.baseOffset, b.lastOffset, b.bytes.readBigInt64BE(0), b.bytes.readInt32BE(12)])).toEqual([
      [0n, 2n, 0n, 7],
      [3n, 4n, 3n, 7],
    ]);
    expect(lane.stats.transactions).toBe(2);
    await lane.close();
  });

  it('rolls back an idempotent N+1 when N fails to commit, and runs its append again from the same offsets', async () => {
    const { lane, connector } = gatedLane();
    const p = new FakeTarget('b', 0);
    const first = pending(p, 1, { seq: 0 });
    const second = pending(p, 1, { seq: 1 });
    lane.enqueue(first.append);
    lane.enqueue(second.append);
    await until(() => connector.gates.length === 1 && connector.log.includes('2:INSERT log_b 0@1'));
    connector.gates[0]!.fail(Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' }));
    await expect(first.result).rejects.toMatchObject({ message: 'storage error: connection lost' });
    // N+1 rolled back; its append runs again in a new transaction, once nothing is in flight,
    // after the partition reloaded its end, from the offset N did not take.
    await until(() => connector.gates.length === 2);
    expect(lane.stats.abortedTransactions).toBe(1);
    expect(lane.stats.failedTransactions).toBe(1);
    expect(p.reloads).toBe(1);
    expect(connector.log.filter((s) => s.includes('INSERT')).slice(-1)[0]).toMatch(/INSERT log_b 0@0$/);
    connector.gates[1]!.open();
    expect((await second.result).baseOffset).toBe(0n);
    expect(p.next).toBe(1n);
    await lane.close();
  });

  it('sends a plain N+1\'s COMMIT while N\'s is in flight, and still settles N first', async () => {
    const { lane, connector } = gatedLane();
    const p = new FakeTarget('o', 0);
    const first = pending(p, 3);
    const second = pending(p, 2);
    lane.enqueue(first.append);
    lane.enqueue(second.append);
    // Both COMMITs are in flight at once (MySQL may put them in one binlog group commit).
    await until(() => connector.gates.length === 2);
    expect(connector.log).toEqual(['1:BEGIN', '1:INSERT log_o 0@0', '1:COMMIT', '2:BEGIN', '2:INSERT log_o 0@3', '2:COMMIT']);
    expect(lane.stats.overlappedCommits).toBe(1);
    // N+1's COMMIT returns first: it is not acknowledged, nor the partition advanced, before N.
    connector.gates[1]!.open();
    expect(await settled(second.result)).toBe(false);
    expect(p.next).toBe(0n);
    connector.gates[0]!.open();
    expect((await first.result).baseOffset).toBe(0n);
    expect((await second.result).baseOffset).toBe(3n);
    expect(p.next).toBe(5n);
    expect(p.cached.map((b) => [b.baseOffset, b.lastOffset])).toEqual([
      [0n, 2n],
      [3n, 4n],
    ]);
    await lane.close();
  });

  it('keeps a plain append in order after an idempotent one of its partition in flight; another partition\'s overlaps', async () => {
    const { lane, connector } = gatedLane(3);
    const p = new FakeTarget('k', 0);
    const q = new FakeTarget('l', 0);
    const idem = pending(p, 1, { seq: 0 });
    const plainSame = pending(p, 1);
    const plainOther = pending(q, 1);
    lane.enqueue(idem.append);
    lane.enqueue(plainSame.append);
    lane.enqueue(plainOther.append);
    await until(() => connector.log.includes('3:INSERT log_l 0@0') && connector.gates.length === 2);
    // Connection 2 (p after the idempotent batch) waits for connection 1's COMMIT; connection 3 (q) did not wait.
    expect(connector.gates.map((g) => g.conn)).toEqual([1, 3]);
    expect(connector.log).not.toContain('2:COMMIT');
    connector.gates[0]!.open();
    await until(() => connector.gates.length === 3);
    connector.gates[1]!.open();
    connector.gates[2]!.open();
    expect((await Promise.all([idem.result, plainSame.result, plainOther.result])).map((r) => r.baseOffset)).toEqual([0n, 1n, 0n]);
    expect(lane.stats.overlappedCommits).toBe(1);
    await lane.close();
  });

  it('keeps plain appends in commit order on a shard with replicas (a confirmation covers commits in binlog order)', async () => {
    const connector = new GatedConnector();
    const semiSync = new SemiSyncMonitor(0);
    const lane = new CommitLane(0, connector, { maxDelayMs: 0, maxTransactionBytes: 1, maxStatementBytes: 1 << 20, pipelineDepth: 2, semiSync });
    const p = new FakeTarget('r', 0);
    const first = pending(p, 1);
    const second = pending(p, 1);
    lane.enqueue(first.append);
    lane.enqueue(second.append);
    await until(() => connector.gates.length === 1 && connector.log.includes('2:INSERT log_r 0@1'));
    await turn();
    expect(connector.log).not.toContain('2:COMMIT');
    connector.gates[0]!.open();
    await until(() => connector.gates.length === 2);
    connector.gates[1]!.open();
    expect((await Promise.all([first.result, second.result])).map((r) => r.baseOffset)).toEqual([0n, 1n]);
    expect(lane.stats.overlappedCommits).toBe(0);
    await lane.close();
  });

  it('acknowledges a plain N+1 that committed while N failed at its offsets after the gap, reloads the partition, and runs an ordered N+2 again', async () => {
    const { lane, connector } = gatedLane(3);
    const p = new FakeTarget('g', 0, connector);
    const q = new FakeTarget('h', 0, connector);
    const n = pending(p, 1);
    const n1 = pending(p, 2);
    const n2 = pending(q, 1, { seq: 0 });
    lane.enqueue(n.append);
    lane.enqueue(n1.append);
    lane.enqueue(n2.append);
    // N (p@0) and N+1 (p@1-2) at their COMMITs; N+2 (idempotent, q@0) inserted, waiting for N+1.
    await until(() => connector.gates.length === 2 && connector.log.includes('3:INSERT log_h 0@0'));
    expect(connector.log).not.toContain('3:COMMIT');
    connector.gates[1]!.open();
    connector.gates[0]!.fail(Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' }));
    await expect(n.result).rejects.toMatchObject({ message: 'storage error: connection lost' });
    // N+1 is acknowledged at the offsets it committed, after the hole N left.
    expect((await n1.result).baseOffset).toBe(1n);
    expect(p.reloads).toBe(1);
    expect(p.next).toBe(3n);
    expect(lane.stats.commitsAfterGap).toBe(1);
    // N+2 depended on every transaction before it committing: rolled back, run again.
    await until(() => connector.gates.length === 3);
    expect(lane.stats.abortedTransactions).toBe(1);
    connector.gates[2]!.open();
    expect((await n2.result).baseOffset).toBe(0n);
    // What MySQL holds is what was acknowledged, each once; the next append goes after it.
    const later = pending(p, 1);
    lane.enqueue(later.append);
    await until(() => connector.gates.length === 4);
    connector.gates[3]!.open();
    expect((await later.result).baseOffset).toBe(3n);
    expect(connector.stored.map((r) => `${r.table}:${r.base}-${r.last}`)).toEqual(['log_g:1-2', 'log_h:0-0', 'log_g:3-3']);
    expect(p.cached.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[3n, 3n]]);
    await lane.close();
  });

  it('after a gap whose reload fails, moves the end over the committed N+1 with the tail cache restarted there and reloads before the next append', async () => {
    const { lane, connector } = gatedLane(2);
    const p = new FakeTarget('k', 0, connector);
    const n = pending(p, 1);
    const n1 = pending(p, 2);
    lane.enqueue(n.append);
    lane.enqueue(n1.append);
    await until(() => connector.gates.length === 2);
    p.failReload = true;
    connector.gates[1]!.open();
    connector.gates[0]!.fail(Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' }));
    await expect(n.result).rejects.toMatchObject({ message: 'storage error: connection lost' });
    expect((await n1.result).baseOffset).toBe(1n);
    // What lies at offset 0 is unknown (N's COMMIT may have landed): nothing below 3 is cached.
    expect(p.next).toBe(3n);
    expect(p.cacheRestarts).toEqual([3n]);
    expect(p.cached).toEqual([]);
    expect(p.needsReload()).toBe(true);
    const later = pending(p, 1);
    lane.enqueue(later.append);
    await until(() => connector.gates.length === 3);
    expect(p.reloads).toBe(2);
    connector.gates[2]!.open();
    expect((await later.result).baseOffset).toBe(3n);
    expect(p.cached.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[3n, 3n]]);
    await lane.close();
  });

  it('gathers appends that arrive while both connections are busy into the next transaction', async () => {
    const connector = new GatedConnector();
    const lane = new CommitLane(0, connector, { maxDelayMs: 0, maxTransactionBytes: 1 << 20, maxStatementBytes: 1 << 20, pipelineDepth: 2 });
    const p = new FakeTarget('c', 0);
    const q = new FakeTarget('d', 0);
    const n = pending(p, 1);
    lane.enqueue(n.append);
    await until(() => connector.gates.length === 1);
    const n1 = pending(q, 1);
    lane.enqueue(n1.append);
    await until(() => connector.log.includes('2:INSERT log_d 0@0'));
    // Both transactions in flight: these queue up and go together in the third.
    const later = [pending(p, 1), pending(q, 2), pending(p, 1)];
    for (const l of later) lane.enqueue(l.append);
    await turn();
    expect(connector.log.filter((s) => s.endsWith('BEGIN'))).toHaveLength(2);
    connector.gates[0]!.open();
    await until(() => connector.gates.length === 2);
    connector.gates[1]!.open();
    await until(() => connector.gates.length === 3);
    connector.gates[2]!.open();
    expect((await Promise.all(later.map((l) => l.result))).map((r) => r.baseOffset)).toEqual([1n, 1n, 2n]);
    expect(lane.stats.transactions).toBe(3);
    expect(lane.stats.maxAppendsPerTransaction).toBe(3);
    await lane.close();
  });
});
