import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { RequestContext } from '../handler-types.js';
import type { GroupCoordinator } from './coordinator.js';

/** The coordinator of this broker; COORDINATOR_NOT_AVAILABLE while none runs. */
export function groupCoordinatorOf(ctx: RequestContext): GroupCoordinator {
  const coordinator = ctx.broker.groupCoordinator;
  if (!coordinator) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no group coordinator');
  return coordinator;
}

/** The client address as Kafka reports it (InetAddress.toString of a literal: `/ip`). */
export function clientHostOf(ctx: RequestContext): string {
  const host = ctx.clientHost.startsWith('::ffff:') ? ctx.clientHost.slice(7) : ctx.clientHost;
  return host.startsWith('/') ? host : `/${host}`;
}
