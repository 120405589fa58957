import { dropTestDatabase, createTestDatabase } from '../compat-tests/support/mysql.js';
import { openStorage, type Storage } from './index.js';
import { describePartitionLog, type PartitionLogHarness } from './partition-log.conformance.js';

/** Each log is partition 0 of a new topic in a private database. */
function mysqlHarness(tailCacheBytesPerPartition: number): () => Promise<PartitionLogHarness> {
  return async () => {
    const url = await createTestDatabase('plog');
    const storage: Storage = await openStorage({ metadataUrl: url, tailCacheBytesPerPartition });
    let n = 0;
    return {
      async newLog() {
        const topic = await storage.catalog.createTopic({ name: `conformance-${n++}`, partitions: 1, configs: {} });
        return storage.logs.getLog(topic.topicId, 0);
      },
      async close() {
        await storage.close();
        await dropTestDatabase(url);
      },
    };
  };
}

describePartitionLog('MySQL with tail cache', mysqlHarness(1 << 20));
describePartitionLog('MySQL without tail cache', mysqlHarness(0));
