import type { BrokerEndpoint, RequestContext } from '../handler-types.js';

/**
 * Where a client should reach a broker: the broker's advertised address on the listener the
 * client came through (Kafka answers Metadata, FindCoordinator and DescribeCluster per listener),
 * or its one address when it advertises none per listener.
 */
export function endpointFor(broker: BrokerEndpoint, ctx: RequestContext): { host: string; port: number } {
  const name = ctx.security?.listener.name;
  const own = name !== undefined ? broker.listeners?.[name] : undefined;
  return own ?? { host: broker.host, port: broker.port };
}
