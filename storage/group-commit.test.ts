import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { openStorage, type Storage } from './index.js';
import { connect, quoteIdent } from './mysql.js';
import { logTableName } from './schema.js';
import { buildTestBatch, concatBatches, testLogs, testPools } from './testing.js';
import type { PartitionLog } from './types.js';
import type { Connection } from 'mysql2/promise';

const OPTS = { logAppendTime: false, leaderEpoch: 0 };

/** With `producer`: an idempotent batch (such appends keep their lane's commit order). */
function append(log: PartitionLog, values: string[], producer?: { id: bigint; seq: number }) {
  const idempotent = producer ? { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq } : {};
  const { records, infos } = concatBatches([buildTestBatch({ values, ...idempotent })]);
  return log.append(records, infos, OPTS);
}

async function errorOf(p: Promise<unknown>): Promise<KafkaError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KafkaError);
  return err as KafkaError;
}

// Both insert drivers: 'auto' picks the mariadb connector's bulk execute on MariaDB.
describe.each(['auto', 'mysql2'] as const)('group commit (insert driver %s)', (logInsertDriver) => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('gc');
    storage = await openStorage({ metadataUrl: url, groupCommitMaxDelayMs: 5, insertStatementMaxBytes: 4096, logInsertDriver });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  it('puts concurrent appends to several partitions into shared transactions with correct offsets', async () => {
    const a = await storage.catalog.createTopic({ name: 'gc-a', partitions: 4, configs: {} });
    const b = await storage.catalog.createTopic({ name: 'gc-b', partitions: 2, configs: {} });
    const logs = [
      ...(await Promise.all([0, 1, 2, 3].map((p) => storage.logs.getLog(a.topicId, p)))),
      ...(await Promise.all([0, 1].map((p) => storage.logs.getLog(b.topicId, p)))),
    ];
    const before = storage.logs.totalCommitStats();
    const callers = 120;
    const jobs = Array.from({ length: callers }, (_, i) => {
      const log = logs[i % logs.length]!;
      const values = Array.from({ length: (i % 4) + 1 }, (_, k) => `m${i}.${k}`);
      return append(log, values).then((r) => ({ log, count: values.length, base: r.baseOffset, i }));
    });
    const results = await Promise.all(jobs);
    const after = storage.logs.totalCommitStats();
    const transactions = after.transactions - before.transactions;
    expect(after.appends - before.appends).toBe(callers);
    expect(transactions).toBeGreaterThanOrEqual(1);
    expect(transactions).toBeLessThan(callers);
    expect(after.maxAppendsPerTransaction).toBeGreaterThan(1);
    // Per partition: callers' ranges tile [0, HW) without gaps or overlaps, in call order.
    for (const log of logs) {
      const mine = results.filter((r) => r.log === log).sort((x, y) => Number(x.base - y.base));
      let next = 0n;
      for (const r of mine) {
        expect(r.base).toBe(next);
        next += BigInt(r.count);
      }
      expect(log.highWatermark()).toBe(next);
      expect(mine.map((r) => r.i)).toEqual([...mine.map((r) => r.i)].sort((x, y) => x - y));
      const read = await log.read(0n, 1 << 24, { maxOffset: next, minOneBatch: true });
      expect(read.batches.map((x) => x.readBigInt64BE(0))).toEqual(mine.map((r) => r.base));
    }
  });

  it('splits big groups into several INSERT statements and still stores every byte', async () => {
    const t = await storage.catalog.createTopic({ name: 'gc-big', partitions: 1, configs: {} });
    const log = await storage.logs.getLog(t.topicId, 0);
    const payload = 'x'.repeat(1500);
    const results = await Promise.all(Array.from({ length: 30 }, () => append(log, [payload, payload])));
    expect(results.map((r) => r.baseOffset).sort((x, y) => Number(x - y))).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i * 2)));
    const read = await log.read(0n, 1 << 24, { maxOffset: 60n, minOneBatch: true });
    expect(read.batches).toHaveLength(30);
    for (const b of read.batches) expect(b.includes(Buffer.from(payload))).toBe(true);
  });

  it('rejects a conflicting partition with NOT_LEADER_OR_FOLLOWER, commits the others, then recovers', async () => {
    const stale = await storage.catalog.createTopic({ name: 'gc-stale', partitions: 1, configs: {} });
    const other = await storage.catalog.createTopic({ name: 'gc-other', partitions: 1, configs: {} });
    const staleLog = await storage.logs.getLog(stale.topicId, 0);
    const otherLog = await storage.logs.getLog(other.topicId, 0);
    await append(staleLog, ['s0']);
    // Another writer (a stale leader elsewhere) appends offset 1 behind our back.
    const [b] = [buildTestBatch({ values: ['intruder'] })];
    b!.writeBigInt64BE(1n, 0);
    await testPools(storage).shardPools[0]!.query(
      `INSERT INTO ${quoteIdent(logTableName(stale.topicId))} VALUES (0, 1, 1, 1, 0, 0, -1, -1, -1, 0, 0, ?, ?)`,
      [b!.length, b],
    );
    const [conflict, ok] = await Promise.allSettled([append(staleLog, ['s1']), append(otherLog, ['o0'])]);
    expect(conflict.status).toBe('rejected');
    expect(((conflict as PromiseRejectedResult).reason as KafkaError).code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(ok.status).toBe('fulfilled');
    expect((ok as PromiseFulfilledResult<{ baseOffset: bigint }>).value.baseOffset).toBe(0n);
    // The partition reloads its end from MySQL: the next append follows the intruder.
    const again = await append(staleLog, ['s2']);
    expect(again.baseOffset).toBe(2n);
    const read = await staleLog.read(0n, 1 << 20, { maxOffset: 3n, minOneBatch: true });
    expect(read.batches.map((x) => x.readBigInt64BE(0))).toEqual([0n, 1n, 2n]);
  });

  it('fails appends to a deleted topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const t = await storage.catalog.createTopic({ name: 'gc-deleted', partitions: 1, configs: {} });
    const log = await testLogs(storage).getLog(t.topicId, 0);
    await append(log, ['before']);
    await storage.catalog.deleteTopic('gc-deleted');
    expect((await errorOf(append(log, ['after']))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await errorOf(storage.logs.getLog(t.topicId, 0))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('fails appends whose table vanished under the committer, without failing the rest', async () => {
    const gone = await storage.catalog.createTopic({ name: 'gc-gone', partitions: 1, configs: {} });
    const kept = await storage.catalog.createTopic({ name: 'gc-kept', partitions: 1, configs: {} });
    const goneLog = await storage.logs.getLog(gone.topicId, 0);
    const keptLog = await storage.logs.getLog(kept.topicId, 0);
    // Another broker dropped the topic: this broker's catalog does not know yet.
    await testPools(storage).shardPools[0]!.query(`DROP TABLE ${quoteIdent(logTableName(gone.topicId))}`);
    const [g, k] = await Promise.allSettled([append(goneLog, ['x']), append(keptLog, ['y'])]);
    expect(((g as PromiseRejectedResult).reason as KafkaError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(k.status).toBe('fulfilled');
  });

  it('fails appends whose table vanished while the partition had to reload its end', async () => {
    const gone = await storage.catalog.createTopic({ name: 'gc-gone-reload', partitions: 1, configs: {} });
    const kept = await storage.catalog.createTopic({ name: 'gc-kept-reload', partitions: 1, configs: {} });
    const goneLog = await testLogs(storage).getLog(gone.topicId, 0);
    const keptLog = await storage.logs.getLog(kept.topicId, 0);
    goneLog.markNeedsReload(); // as after a failed commit
    await testPools(storage).shardPools[0]!.query(`DROP TABLE ${quoteIdent(logTableName(gone.topicId))}`);
    const [g, k] = await Promise.allSettled([append(goneLog, ['x']), append(keptLog, ['y'])]);
    expect(((g as PromiseRejectedResult).reason as KafkaError).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(k.status).toBe('fulfilled');
  });

  it('knows an idempotent batch that landed without its knowing once it reloads: the retry is a duplicate, not a second copy', async () => {
    // As when a COMMIT's answer is lost (the primary died or was switched mid-COMMIT): the
    // batch is in MySQL, this process's log does not know it, and the producer retries it.
    // Here another storage (a second broker) writes the batch; the first one's log is then
    // marked for reload, as after a failed commit, and gets the producer's retry.
    const t = await storage.catalog.createTopic({ name: 'gc-landed', partitions: 1, configs: {} });
    const mine = await testLogs(storage).getLog(t.topicId, 0);
    const now = BigInt(Date.now());
    const batch = (seq: number, v: string) => concatBatches([buildTestBatch({ values: [v], baseTimestamp: now, producerId: 4242n, producerEpoch: 0, baseSequence: seq })]);
    const first = batch(0, 'a');
    expect((await mine.append(first.records, first.infos, OPTS)).baseOffset).toBe(0n);
    const other = await openStorage({ metadataUrl: url, logInsertDriver });
    try {
      const landed = batch(1, 'b');
      expect((await (await other.logs.getLog(t.topicId, 0)).append(landed.records, landed.infos, OPTS)).baseOffset).toBe(1n);
    } finally {
      await other.close();
    }
    mine.markNeedsReload();
    const retry = batch(1, 'b');
    expect((await mine.append(retry.records, retry.infos, OPTS)).baseOffset).toBe(1n);
    const [rows] = await testPools(storage).shardPools[0]!.query(`SELECT COUNT(*) AS n FROM ${quoteIdent(logTableName(t.topicId))}`);
    expect(Number((rows as Array<{ n: number }>)[0]!.n)).toBe(2);
    // The next batch follows on.
    const next = batch(2, 'c');
    expect((await mine.append(next.records, next.infos, OPTS)).baseOffset).toBe(2n);
  });

  it('recovers when MySQL kills its connections', async () => {
    const t = await storage.catalog.createTopic({ name: 'gc-killed', partitions: 1, configs: {} });
    const log = await testLogs(storage).getLog(t.topicId, 0);
    await append(log, ['before']);
    const admin = await connect(url);
    try {
      const [rows] = await admin.query(
        'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
      );
      expect((rows as unknown[]).length).toBeGreaterThan(0);
      for (const r of rows as Array<{ id: number }>) await admin.query(`KILL ${Number(r.id)}`).catch(() => undefined);
    } finally {
      await admin.end();
    }
    expect((await append(log, ['after'])).baseOffset).toBe(1n);
    const read = await log.readFromMysql(0n, 1 << 20, 2n, true);
    expect(read.batches).toHaveLength(2);
  });

  it('finishes queued appends on close', async () => {
    const own = await createTestDatabase('gc_close');
    const s = await openStorage({ metadataUrl: own, groupCommitMaxDelayMs: 50 });
    try {
      const t = await s.catalog.createTopic({ name: 'closing', partitions: 1, configs: {} });
      const log = await s.logs.getLog(t.topicId, 0);
      const pending = Array.from({ length: 10 }, (_, i) => append(log, [`c${i}`]));
      await s.close();
      const results = await Promise.all(pending);
      expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
      expect((await errorOf(append(log, ['late']))).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    } finally {
      await s.close();
      await dropTestDatabase(own);
    }
  });
});

/** An uncommitted row at (partition 0, offset) of a topic's log table, held by another connection. */
async function holdOffset(url: string, topicId: string, offset: bigint): Promise<Connection> {
  const admin = await connect(url);
  const b = buildTestBatch({ values: ['intruder'] });
  b.writeBigInt64BE(offset, 0);
  await admin.query('BEGIN');
  await admin.query(
    `INSERT INTO ${quoteIdent(logTableName(topicId))} VALUES (0, ?, ?, 1, 0, 0, -1, -1, -1, 0, 0, ?, ?)`,
    [offset.toString(), offset.toString(), b.length, b],
  );
  return admin;
}

/** The id of the connection whose statement touches the table (the committer's INSERT waiting on a row lock). */
async function waitForInsert(url: string, topicId: string, exclude: number): Promise<number> {
  const admin = await connect(url);
  try {
    for (let i = 0; i < 500; i++) {
      const [rows] = await admin.query(
        'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> ? AND ID <> CONNECTION_ID()',
        [`%${logTableName(topicId)}%`, exclude],
      );
      const r = (rows as Array<{ id: number }>)[0];
      if (r) return Number(r.id);
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('the committer never blocked');
  } finally {
    await admin.end();
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((res) => setTimeout(res, 10));
  expect(cond()).toBe(true);
}

async function offsetsOf(log: PartitionLog, end: bigint): Promise<bigint[]> {
  const read = await log.read(0n, 1 << 24, { maxOffset: end, minOneBatch: true });
  return read.batches.map((x) => x.readBigInt64BE(0));
}

describe('group commit pipeline (two transactions in flight per lane)', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('gcpipe');
    // One lane, so every partition shares it; small transactions, so there are many.
    storage = await openStorage({
      metadataUrl: url,
      groupCommitMaxDelayMs: 1,
      groupCommitMaxBytes: 600,
      groupCommitLanes: 1,
      groupCommitPipelineDepth: 2,
    });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  it('gives concurrent appends across partitions contiguous offsets while transactions overlap', async () => {
    const t = await storage.catalog.createTopic({ name: 'pipe-many', partitions: 5, configs: {} });
    const logs = await Promise.all([0, 1, 2, 3, 4].map((p) => storage.logs.getLog(t.topicId, p)));
    const before = storage.logs.totalCommitStats();
    const jobs: Array<Promise<{ log: PartitionLog; base: bigint; count: number; i: number }>> = [];
    for (let wave = 0; wave < 6; wave++) {
      for (let k = 0; k < 40; k++) {
        const i = wave * 40 + k;
        const log = logs[i % logs.length]!;
        const values = Array.from({ length: (i % 3) + 1 }, (_, j) => `p${i}.${j}`);
        jobs.push(append(log, values).then((r) => ({ log, base: r.baseOffset, count: values.length, i })));
      }
      // The next wave arrives once this wave's first append committed: a wave is several
      // 600-byte transactions, so the rest of it is still queued or in flight.
      await jobs[wave * 40];
    }
    const results = await Promise.all(jobs);
    const after = storage.logs.totalCommitStats();
    expect(after.pipelinedTransactions - before.pipelinedTransactions).toBeGreaterThan(0);
    expect(after.failedTransactions - before.failedTransactions).toBe(0);
    for (const log of logs) {
      const mine = results.filter((r) => r.log === log).sort((x, y) => x.i - y.i);
      let next = 0n;
      for (const r of mine) {
        expect(r.base).toBe(next);
        next += BigInt(r.count);
      }
      expect(log.highWatermark()).toBe(next);
      expect(await offsetsOf(log, next)).toEqual(mine.map((r) => r.base));
    }
  });

  it('rolls back an idempotent next transaction and runs it again when the one before it hits a duplicate key', async () => {
    const x = await storage.catalog.createTopic({ name: 'pipe-dup-x', partitions: 1, configs: {} });
    const y = await storage.catalog.createTopic({ name: 'pipe-dup-y', partitions: 1, configs: {} });
    const xLog = await storage.logs.getLog(x.topicId, 0);
    const yLog = await storage.logs.getLog(y.topicId, 0);
    expect((await append(xLog, ['x0'], { id: 1n, seq: 0 })).baseOffset).toBe(0n);
    // Another writer is inserting offset 1: transaction N (x1 at offset 1) waits on its row lock.
    const intruder = await holdOffset(url, x.topicId, 1n);
    const before = storage.logs.totalCommitStats();
    try {
      const n = append(xLog, ['x1'], { id: 1n, seq: 1 }).then(
        (r) => r,
        (e: unknown) => e,
      );
      const blocked = await waitForInsert(url, x.topicId, intruder.threadId!);
      expect(blocked).toBeGreaterThan(0);
      // Transaction N+1 starts on the lane's second connection, continuing from N's offsets
      // (and producer state: it may COMMIT only after N did).
      const n1 = [append(yLog, ['y0'], { id: 1n, seq: 0 }), append(xLog, ['x2', 'x3'], { id: 2n, seq: 0 })];
      await until(() => storage.logs.totalCommitStats().pipelinedTransactions > before.pipelinedTransactions);
      await intruder.query('COMMIT');
      const err = await n;
      expect(err).toBeInstanceOf(KafkaError);
      expect((err as KafkaError).code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const [y0, x2] = await Promise.all(n1);
      expect(y0!.baseOffset).toBe(0n);
      // N+1 was rolled back and ran again after the partition reloaded its end (the intruder's row).
      expect(x2!.baseOffset).toBe(2n);
    } finally {
      await intruder.end();
    }
    const after = storage.logs.totalCommitStats();
    expect(after.abortedTransactions - before.abortedTransactions).toBeGreaterThanOrEqual(1);
    expect(after.overlappedCommits - before.overlappedCommits).toBe(0);
    expect(xLog.highWatermark()).toBe(4n);
    expect(await offsetsOf(xLog, 4n)).toEqual([0n, 1n, 2n]);
    expect(await offsetsOf(yLog, 1n)).toEqual([0n]);
    expect((await append(xLog, ['x4'])).baseOffset).toBe(4n);
  });

  it('fails the killed transaction, runs the idempotent next one again, and leaves no gap', async () => {
    const x = await storage.catalog.createTopic({ name: 'pipe-kill-x', partitions: 1, configs: {} });
    const y = await storage.catalog.createTopic({ name: 'pipe-kill-y', partitions: 1, configs: {} });
    const xLog = await testLogs(storage).getLog(x.topicId, 0);
    const yLog = await storage.logs.getLog(y.topicId, 0);
    await append(xLog, ['x0'], { id: 1n, seq: 0 });
    await append(yLog, ['y0'], { id: 1n, seq: 0 });
    const holder = await holdOffset(url, x.topicId, 1n);
    const before = storage.logs.totalCommitStats();
    let killedAppend: unknown;
    let n1: Array<{ baseOffset: bigint }>;
    try {
      const n = append(xLog, ['x1'], { id: 1n, seq: 1 }).then(
        (r) => r,
        (e: unknown) => e,
      );
      const connA = await waitForInsert(url, x.topicId, holder.threadId!);
      const pending = [append(yLog, ['y1'], { id: 1n, seq: 1 }), append(xLog, ['x2'], { id: 2n, seq: 0 })];
      await until(() => storage.logs.totalCommitStats().pipelinedTransactions > before.pipelinedTransactions);
      // Connection A dies with N in flight; N+1 has inserted on connection B and waits for N.
      const killer = await connect(url);
      await killer.query(`KILL ${connA}`);
      await killer.end();
      killedAppend = await n;
      // Release offset 1: N never committed, so N+1 runs again from offset 1.
      await holder.query('ROLLBACK');
      n1 = await Promise.all(pending);
    } finally {
      await holder.end();
    }
    expect(killedAppend).toBeInstanceOf(KafkaError);
    expect((killedAppend as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(n1.map((r) => r.baseOffset)).toEqual([1n, 1n]);
    expect(storage.logs.totalCommitStats().abortedTransactions - before.abortedTransactions).toBeGreaterThanOrEqual(1);
    expect(xLog.highWatermark()).toBe(2n);
    expect(yLog.highWatermark()).toBe(2n);
    expect(await offsetsOf(xLog, 2n)).toEqual([0n, 1n]);
    expect(await offsetsOf(yLog, 2n)).toEqual([0n, 1n]);
    const fromMysql = await xLog.readFromMysql(0n, 1 << 20, 2n, true);
    expect(fromMysql.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 1n]);
    expect((await append(xLog, ['x3'])).baseOffset).toBe(2n);
  });

  it('commits a plain next transaction while the one before it waits, and reloads the partition when that one hits a duplicate key', async () => {
    const x = await storage.catalog.createTopic({ name: 'pipe-odup-x', partitions: 1, configs: {} });
    const y = await storage.catalog.createTopic({ name: 'pipe-odup-y', partitions: 1, configs: {} });
    const xLog = await storage.logs.getLog(x.topicId, 0);
    const yLog = await storage.logs.getLog(y.topicId, 0);
    expect((await append(xLog, ['x0'])).baseOffset).toBe(0n);
    const intruder = await holdOffset(url, x.topicId, 1n);
    const before = storage.logs.totalCommitStats();
    try {
      const n = append(xLog, ['x1']).then(
        (r) => r,
        (e: unknown) => e,
      );
      await waitForInsert(url, x.topicId, intruder.threadId!);
      // N+1 (plain records) sends its COMMIT while N waits on the intruder's row lock.
      const n1 = [append(yLog, ['y0']), append(xLog, ['x2', 'x3'])];
      await until(() => storage.logs.totalCommitStats().overlappedCommits > before.overlappedCommits);
      await intruder.query('COMMIT');
      const err = await n;
      expect((err as KafkaError).code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      // Acknowledged at the offsets N+1 committed; x re-read its end (the intruder's row is not in its tail cache).
      expect((await Promise.all(n1)).map((r) => r.baseOffset)).toEqual([0n, 2n]);
    } finally {
      await intruder.end();
    }
    const after = storage.logs.totalCommitStats();
    expect(after.abortedTransactions - before.abortedTransactions).toBe(0);
    expect(after.commitsAfterGap - before.commitsAfterGap).toBe(1);
    expect(xLog.highWatermark()).toBe(4n);
    expect(await offsetsOf(xLog, 4n)).toEqual([0n, 1n, 2n]);
    expect(await offsetsOf(yLog, 1n)).toEqual([0n]);
    expect((await append(xLog, ['x4'])).baseOffset).toBe(4n);
  });

  it('acknowledges a plain next transaction that committed while the one before it was killed: a gap, every committed record read once', async () => {
    const x = await storage.catalog.createTopic({ name: 'pipe-okill-x', partitions: 1, configs: {} });
    const y = await storage.catalog.createTopic({ name: 'pipe-okill-y', partitions: 1, configs: {} });
    const xLog = await testLogs(storage).getLog(x.topicId, 0);
    const yLog = await storage.logs.getLog(y.topicId, 0);
    await append(xLog, ['x0']);
    await append(yLog, ['y0']);
    const holder = await holdOffset(url, x.topicId, 1n);
    const before = storage.logs.totalCommitStats();
    let killedAppend: unknown;
    let n1: Array<{ baseOffset: bigint }>;
    try {
      const n = append(xLog, ['x1']).then(
        (r) => r,
        (e: unknown) => e,
      );
      const connA = await waitForInsert(url, x.topicId, holder.threadId!);
      const pending = [append(yLog, ['y1']), append(xLog, ['x2'])];
      // N+1 sent its COMMIT without waiting for N; then N's connection dies.
      await until(() => storage.logs.totalCommitStats().overlappedCommits > before.overlappedCommits);
      const killer = await connect(url);
      await killer.query(`KILL ${connA}`);
      await killer.end();
      killedAppend = await n;
      await holder.query('ROLLBACK');
      n1 = await Promise.all(pending);
    } finally {
      await holder.end();
    }
    expect((killedAppend as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // N+1 is acknowledged at the offsets it committed: x1's offset 1 stays a hole.
    expect(n1.map((r) => r.baseOffset)).toEqual([1n, 2n]);
    const stats = storage.logs.totalCommitStats();
    expect(stats.abortedTransactions - before.abortedTransactions).toBe(0);
    expect(stats.commitsAfterGap - before.commitsAfterGap).toBe(1);
    expect(xLog.highWatermark()).toBe(3n);
    expect(yLog.highWatermark()).toBe(2n);
    // A consumer skips the hole, from the tail cache and from MySQL alike, and reads each record once.
    expect(await offsetsOf(xLog, 3n)).toEqual([0n, 2n]);
    const fromOne = await xLog.read(1n, 1 << 20, { maxOffset: 3n, minOneBatch: true });
    expect(fromOne.batches.map((b) => b.readBigInt64BE(0))).toEqual([2n]);
    expect((await xLog.readFromMysql(0n, 1 << 20, 3n, true)).batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n]);
    expect(await offsetsOf(yLog, 2n)).toEqual([0n, 1n]);
    expect((await append(xLog, ['x3'])).baseOffset).toBe(3n);
    expect(await offsetsOf(xLog, 4n)).toEqual([0n, 2n, 3n]);
  });

  it('finishes both transactions in flight on close', async () => {
    const own = await createTestDatabase('gcpipe_close');
    const s = await openStorage({ metadataUrl: own, groupCommitMaxDelayMs: 1, groupCommitMaxBytes: 600, groupCommitLanes: 1, groupCommitPipelineDepth: 2 });
    let holder: Connection | undefined;
    try {
      const t = await s.catalog.createTopic({ name: 'pipe-closing', partitions: 1, configs: {} });
      const log = await s.logs.getLog(t.topicId, 0);
      await append(log, ['c0']);
      // Hold offset 1 so that transaction N (offset 1) waits while N+1 is in flight; then release it.
      holder = await holdOffset(own, t.topicId, 1n);
      const before = s.logs.totalCommitStats();
      const first = append(log, ['c1']);
      await waitForInsert(own, t.topicId, holder.threadId!);
      const second = append(log, ['c2', 'c3']);
      await until(() => s.logs.totalCommitStats().pipelinedTransactions > before.pipelinedTransactions);
      const closing = s.close();
      await holder.query('ROLLBACK');
      await closing;
      expect((await first).baseOffset).toBe(1n);
      expect((await second).baseOffset).toBe(2n);
      expect(log.highWatermark()).toBe(4n);
      expect((await errorOf(append(log, ['late']))).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    } finally {
      await holder?.end();
      await s.close();
      await dropTestDatabase(own);
    }
  });
});

describe('group commit with megabyte batches (the bulk insert reuses its command buffer)', () => {
  let url: string;
  let storage: Storage;
  beforeAll(async () => {
    url = await createTestDatabase('gcbig');
    storage = await openStorage({ metadataUrl: url, groupCommitMaxDelayMs: 2 });
  });
  afterAll(async () => {
    await storage.close();
    await dropTestDatabase(url);
  });

  it('stores every batch byte for byte when commands of 1-4 MiB follow each other on the same connections', async () => {
    const t = await storage.catalog.createTopic({ name: 'gc-megabytes', partitions: 4, configs: {} });
    const logs = await Promise.all([0, 1, 2, 3].map((p) => storage.logs.getLog(t.topicId, p)));
    // Distinct contents, so a buffer written over by the next command would show.
    const batchOf = (round: number, p: number) => {
      const value = Buffer.alloc(1_100_000, `r${round}p${p}-`);
      return concatBatches([buildTestBatch({ values: [value] })]);
    };
    const sent: Buffer[][] = logs.map(() => []);
    for (let round = 0; round < 6; round++) {
      // 1 to 4 partitions at once: bulk commands of different sizes, one after another.
      const now = logs.slice(0, (round % 4) + 1);
      await Promise.all(now.map((log, p) => {
        const { records, infos } = batchOf(round, p);
        sent[p]!.push(records);
        return log.append(records, infos, OPTS);
      }));
    }
    for (let p = 0; p < logs.length; p++) {
      const read = await logs[p]!.read(0n, 1 << 26, { maxOffset: BigInt(sent[p]!.length), minOneBatch: true });
      expect(read.batches.map((b) => b.readBigInt64BE(0))).toEqual(sent[p]!.map((_, i) => BigInt(i)));
      // Past the base offset, length and leader epoch (set on append), the stored bytes are the sent ones.
      expect(read.batches.map((b) => b.subarray(16).toString('hex'))).toEqual(sent[p]!.map((b) => b.subarray(16).toString('hex')));
    }
  });
});
