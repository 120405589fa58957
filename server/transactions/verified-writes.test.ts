import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../codec/error-codes.js';
import type { TransactionStore, TxnRecord } from '../../storage/index.js';
import { TransactionCoordinator } from './coordinator.js';
import type { LogMarkerWriter } from './markers.js';
import { VerifiedWrites } from './verified-writes.js';

/**
 * KIP-890 verification on a leader that does not coordinate the transactional id: it reads the
 * coordinator's row (the store) for the first batch of a producer epoch in a partition, and not
 * again until that partition's marker or a leadership change. The store here is a map that
 * counts reads, standing in for txn_state (the compat test cluster-transactions runs it on MySQL).
 */
function setup() {
  const rows = new Map<string, TxnRecord>();
  let loads = 0;
  const store = {
    loadAll: async () => [...rows.values()],
    load: async (id: string) => {
      loads++;
      return rows.get(id) ?? null;
    },
  } as unknown as TransactionStore;
  const verified = new VerifiedWrites();
  const coordinator = new TransactionCoordinator({
    allocateProducerId: async () => 1n,
    store,
    markers: { write: async () => undefined },
    leaderMarkers: {} as LogMarkerWriter,
    isCoordinatorFor: () => false,
    partitionExists: () => true,
    maxTimeoutMs: 60_000,
    logger: pino({ level: 'silent' }),
    verified,
  });
  rows.set('tx', {
    transactionalId: 'tx',
    producerId: 7n,
    producerEpoch: 3,
    lastProducerId: -1n,
    lastProducerEpoch: -1,
    timeoutMs: 60_000,
    state: 'Ongoing',
    txnStartMs: 0,
    updatedMs: 0,
    partitions: [{ topic: 'orders', partition: 0 }],
    groups: [],
  });
  return { coordinator, verified, rows, loads: () => loads };
}

describe('produce verification against another coordinator', () => {
  it('reads the row once per producer epoch and partition, again after the marker or a leader change', async () => {
    const { coordinator, verified, loads } = setup();
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.NONE);
    expect(loads()).toBe(1);
    // The next batches of the transaction: answered without a read.
    expect(coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.NONE);
    expect(coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.NONE);
    expect(loads()).toBe(1);
    // The partition's marker ends the transaction there: the next batch is checked again.
    verified.forget(7n, 'orders', 0);
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.NONE);
    expect(loads()).toBe(2);
    // Leadership moved and came back (a new leader epoch): checked again.
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 6)).toBe(ErrorCode.NONE);
    expect(loads()).toBe(3);
  });

  it('refuses what the row does not allow, and remembers no refusal', async () => {
    const { coordinator, rows, loads } = setup();
    // A partition not added to the transaction.
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 1, 5)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 1, 5)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(loads()).toBe(2);
    // An older epoch of the producer, another producer id, an unknown transactional id.
    expect(await coordinator.verifyWrite('tx', 7n, 2, 'orders', 0, 5)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await coordinator.verifyWrite('tx', 8n, 3, 'orders', 0, 5)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await coordinator.verifyWrite('other', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.INVALID_TXN_STATE);
    // The transaction is over (PrepareCommit written): a late batch is refused.
    rows.set('tx', { ...rows.get('tx')!, state: 'PrepareCommit' });
    expect(await coordinator.verifyWrite('tx', 7n, 3, 'orders', 0, 5)).toBe(ErrorCode.INVALID_TXN_STATE);
  });
});
