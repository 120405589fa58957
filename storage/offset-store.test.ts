import { describeOffsetStore } from './offset-store.conformance.js';
import { MemoryOffsetStore } from '../testing/memory-offset-store.js';
import { openTestOffsetStore } from '../testing/mysql.js';

describeOffsetStore('MySQL', async () => {
  const fixture = await openTestOffsetStore('offset store');
  return {
    async emptyStore() {
      await fixture.pool.query('DELETE FROM group_offsets');
      return fixture.store;
    },
    close: () => fixture.close(),
  };
});

describeOffsetStore('in-memory double (testing/memory-offset-store.ts)', async () => ({
  emptyStore: async () => new MemoryOffsetStore(),
  close: async () => undefined,
}));
