import type { Logger } from 'pino';
import type { Storage } from '../../storage/index.js';
import type { BrokerCluster } from '../cluster/index.js';
import { PeerConnections } from '../cluster/peers.js';
import type { BrokerConfig } from '../config/index.js';
import { interBrokerClient } from '../security/inter-broker.js';
import type { TransactionCoordinator } from './coordinator.js';
import { LogMarkerWriter, type MarkerWriter } from './markers.js';
import { ClusterMarkerWriter } from './remote-markers.js';
import { VerifiedWrites } from './verified-writes.js';

/**
 * The transaction coordinator's ties to the cluster (server/broker.ts): alone, markers are
 * written here; with several brokers, through each partition's leader (WriteTxnMarkers over
 * PeerConnections), and the coordinator hears when the live brokers change, since its
 * transactional ids move then.
 */

/** One inter-broker request's wait: a paused peer is given up after this and tried again. */
const PEER_REQUEST_TIMEOUT_MS = 5000;
/** How long one completion keeps retrying markers before leaving the transaction prepared for the timer. */
const MARKER_RETRY_MS = 10_000;

export interface TransactionMarkers {
  markers: MarkerWriter;
  local: LogMarkerWriter;
  verified: VerifiedWrites;
  followCoordination(coordinator: TransactionCoordinator): void;
  close(): void;
}

export function transactionMarkers(config: BrokerConfig, storage: Storage, cluster: BrokerCluster, logger: Logger): TransactionMarkers {
  const verified = new VerifiedWrites();
  const local = new LogMarkerWriter(storage.catalog, storage.logs, (topicId, partition) => cluster.view.leaderEpochOf(topicId, partition), verified);
  const zk = cluster.zk;
  if (!zk) return { markers: local, local, verified, followCoordination: () => undefined, close: () => undefined };
  const client = interBrokerClient(config);
  const peers = new PeerConnections({ cluster: zk, listenerName: client.listenerName, security: client.security, requestTimeoutMs: PEER_REQUEST_TIMEOUT_MS, logger });
  const markers = new ClusterMarkerWriter({ local, cluster: zk, catalog: storage.catalog, peers, refreshLeaders: () => zk.refreshLeaders(), retryMs: MARKER_RETRY_MS, logger });
  return {
    markers,
    local,
    verified,
    followCoordination(coordinator) {
      let members = '';
      let running: Promise<unknown> = Promise.resolve();
      zk.onChange(() => {
        const now = zk.replicaIds().join(',');
        if (now === members) return;
        members = now;
        // One at a time: each re-reads the state and completes what is prepared.
        running = running
          .then(() => coordinator.coordinationChanged())
          .then((n) => {
            if (n > 0) logger.info({ brokers: now, completed: n }, 'transactions inherited from another coordinator completed');
          })
          .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'transaction coordinator: cannot take over after a membership change'));
      });
    },
    close: () => peers.close(),
  };
}
