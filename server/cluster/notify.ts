import { isClusterMode } from './index.js';
import type { BrokerConfig } from '../config/index.js';
import { PATHS } from './zk-cluster.js';
import { ZkSession } from './zk.js';

/**
 * Tells the brokers of a cluster that metadata changed, from a process that is not a broker
 * (the retention CLI moving log start offsets in MySQL): the same bump of
 * /kafka-mysql/metadata a broker makes, which every broker watches and answers by re-reading its
 * catalog, log start offsets and configs. Without zookeeper.connect there is nobody to tell
 * (the broker re-reads on log.start.offset.refresh.ms): resolves false.
 */
export async function notifyClusterMetadataChanged(config: BrokerConfig, reason: string): Promise<boolean> {
  if (!isClusterMode(config)) return false;
  const sessionTimeoutMs = config.int('zookeeper.session.timeout.ms');
  const connectionTimeoutMs = config.string('zookeeper.connection.timeout.ms') !== null ? config.int('zookeeper.connection.timeout.ms') : sessionTimeoutMs;
  const session = await ZkSession.connect(config.string('zookeeper.connect')!, sessionTimeoutMs, connectionTimeoutMs);
  try {
    await session.bump(PATHS.metadata, JSON.stringify({ reason, at: Date.now() }));
  } finally {
    session.close();
  }
  return true;
}
