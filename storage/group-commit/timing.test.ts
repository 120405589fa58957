import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { createTestDatabase, dropTestDatabase } from '../../testing/mysql.js';
import { openStorage, type Storage, type TransactionTiming } from '../index.js';
import { quoteIdent } from '../mysql.js';
import { logTableName } from '../schema.js';
import { buildTestBatch, concatBatches, testPools } from '../testing.js';
import type { PartitionLog } from '../types.js';

/**
 * GroupCommitOptions.observe on real MariaDB transactions: one report per transaction that
 * wrote rows, phases that are non-negative and fit inside the append's own wall time, and
 * committed=false for a transaction that rolled back.
 */

const OPTS = { logAppendTime: false, leaderEpoch: 0 };

function append(log: PartitionLog, values: string[]) {
  const { records, infos } = concatBatches([buildTestBatch({ values })]);
  return log.append(records, infos, OPTS);
}

const phases = (t: TransactionTiming) => [t.queued, t.insert, t.wait, t.commit];

describe('group-commit transaction timing', () => {
  let url: string;
  let storage: Storage;
  const seen: TransactionTiming[] = [];
  beforeAll(async () => {
    url = await createTestDatabase('gctiming');
    storage = await openStorage({ metadataUrl: url, groupCommitMaxDelayMs: 2, observeGroupCommit: (t) => seen.push(t) });
  });
  afterAll(async () => {
    await storage?.close();
    await dropTestDatabase(url);
  });

  it('reports each committed transaction once, with phases inside the append\'s wall time', async () => {
    const t = await storage.catalog.createTopic({ name: 'timing-seq', partitions: 1, configs: {} });
    const log = await storage.logs.getLog(t.topicId, 0);
    // One append at a time: each is alone in its transaction, so report i belongs to append i.
    for (let i = 0; i < 5; i++) {
      const from = seen.length;
      const before = storage.logs.totalCommitStats().transactions;
      const started = performance.now();
      await append(log, [`m${i}`]);
      const wall = (performance.now() - started) / 1000;
      // The report follows the append's settling by a few microtasks.
      await vi.waitFor(() => expect(seen.length).toBe(from + 1));
      expect(storage.logs.totalCommitStats().transactions - before).toBe(1);
      const timing = seen[from]!;
      expect(timing.committed).toBe(true);
      for (const p of phases(timing)) expect(p).toBeGreaterThanOrEqual(0);
      expect(phases(timing).reduce((a, b) => a + b)).toBeLessThanOrEqual(wall);
    }
  });

  it('reports as many committed transactions as the lanes committed when appends share them', async () => {
    const t = await storage.catalog.createTopic({ name: 'timing-many', partitions: 4, configs: {} });
    const logs = await Promise.all([0, 1, 2, 3].map((p) => storage.logs.getLog(t.topicId, p)));
    const from = seen.length;
    const before = storage.logs.totalCommitStats();
    await Promise.all(Array.from({ length: 60 }, (_, i) => append(logs[i % 4]!, [`v${i}`])));
    const after = storage.logs.totalCommitStats();
    const transactions = after.transactions - before.transactions;
    expect(after.appends - before.appends).toBe(60);
    expect(transactions).toBeLessThan(60); // appends did share transactions
    await vi.waitFor(() => expect(seen.length - from).toBe(transactions));
    for (const timing of seen.slice(from)) {
      expect(timing.committed).toBe(true);
      for (const p of phases(timing)) expect(p).toBeGreaterThanOrEqual(0);
    }
  });

  it('reports a transaction that rolled back (duplicate key) with committed=false and no commit phase', async () => {
    const t = await storage.catalog.createTopic({ name: 'timing-conflict', partitions: 1, configs: {} });
    const log = await storage.logs.getLog(t.topicId, 0);
    await append(log, ['first']);
    // Another writer takes offset 1 behind the partition's back: the next INSERT hits a duplicate key.
    const b = buildTestBatch({ values: ['intruder'] });
    b.writeBigInt64BE(1n, 0);
    await testPools(storage).shardPools[0]!.query(
      `INSERT INTO ${quoteIdent(logTableName(t.topicId))} VALUES (0, 1, 1, 1, 0, 0, -1, -1, -1, 0, 0, ?, ?)`,
      [b.length, b],
    );
    const from = seen.length;
    const before = storage.logs.totalCommitStats();
    const err = await append(log, ['second']).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(storage.logs.totalCommitStats().failedTransactions - before.failedTransactions).toBe(1);
    await vi.waitFor(() => expect(seen.length - from).toBe(1));
    const failed = seen[from]!;
    expect(failed.committed).toBe(false);
    // It failed in its INSERT: the later phases were never reached.
    expect(failed.insert).toBeGreaterThanOrEqual(0);
    expect(failed.queued).toBeGreaterThanOrEqual(0);
    expect(failed.wait).toBe(0);
    expect(failed.commit).toBe(0);
    // The partition re-read its end: the next append commits after the intruder, and is reported committed.
    expect((await append(log, ['third'])).baseOffset).toBe(2n);
    await vi.waitFor(() => expect(seen.length - from).toBe(2));
    expect(seen[from + 1]!.committed).toBe(true);
  });
});
