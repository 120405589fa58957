import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { RequestContext } from '../handler-types.js';
import type { GroupCoordinator } from './coordinator.js';

const placed = new WeakSet<GroupCoordinator>();

/**
 * The coordinator of this broker; COORDINATOR_NOT_AVAILABLE while none runs. With several
 * brokers (the cluster view lists replicas), it is told which groups are its own on first use:
 * the ones FindCoordinator names this broker for; it answers NOT_COORDINATOR for the others.
 */
export function groupCoordinatorOf(ctx: RequestContext): GroupCoordinator {
  const coordinator = ctx.broker.groupCoordinator;
  if (!coordinator) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no group coordinator');
  const cluster = ctx.broker.cluster;
  if (cluster.replicaIds !== undefined && !placed.has(coordinator)) {
    placed.add(coordinator);
    coordinator.setOwnership((groupId) => cluster.coordinatorFor(groupId, GROUP_KEY_TYPE).nodeId === cluster.self.nodeId);
  }
  return coordinator;
}

/** FindCoordinator's key type of a group id. */
const GROUP_KEY_TYPE = 0;

/** The client address as Kafka reports it (InetAddress.toString of a literal: `/ip`). */
export function clientHostOf(ctx: RequestContext): string {
  const host = ctx.clientHost.startsWith('::ffff:') ? ctx.clientHost.slice(7) : ctx.clientHost;
  return host.startsWith('/') ? host : `/${host}`;
}
