import type { Pool } from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestOffsetStore } from '../../testing/mysql.js';
import { MysqlOffsetStore } from '../../storage/offset-store.js';
import { GroupCoordinator } from './coordinator.js';

describe('group coordinator on MySQL', () => {
  let fixture: Awaited<ReturnType<typeof openTestOffsetStore>>;
  let pool: Pool;
  let store: MysqlOffsetStore;

  beforeAll(async () => {
    fixture = await openTestOffsetStore('group restart');
    ({ pool, store } = fixture);
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('keeps committed offsets across a coordinator restart, and lists the group as Empty', async () => {
    const logger = pino({ level: 'silent' });
    const config = {
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 6000,
      maxSessionTimeoutMs: 1_800_000,
      offsetsRetentionMinutes: 10080,
      offsetMetadataMaxBytes: 4096,
    };
    const first = new GroupCoordinator({ offsetStore: store, config, logger });
    const committed = await first.commitOffsets({
      groupId: 'resume',
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      retentionTimeMs: -1,
      partitions: [{ topic: 'orders', partition: 2, offset: 77n, leaderEpoch: 4, metadata: 'm', commitTimestamp: -1 }],
    });
    expect(committed[0]!.errorCode).toBe(0);
    first.close();

    const second = new GroupCoordinator({ offsetStore: new MysqlOffsetStore(pool), config, logger });
    expect(await second.listGroups()).toEqual([{ groupId: 'resume', protocolType: '', state: 'Empty' }]);
    const fetched = await second.fetchOffsets('resume', [{ topic: 'orders', partitions: [2, 3] }]);
    expect(fetched.offsets.map((o) => [o.partition, o.offset, o.leaderEpoch, o.metadata])).toEqual([
      [2, 77n, 4, 'm'],
      [3, -1n, -1, ''],
    ]);
    expect((await second.describeGroups(['resume']))[0]!.state).toBe('Empty');
    expect(await second.deleteGroups(['resume'])).toEqual([{ groupId: 'resume', errorCode: 0 }]);
    expect(await store.listGroups()).toEqual([]);
    second.close();
  });
});
