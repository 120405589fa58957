import { ConfigError, type BrokerConfig } from '../../config/index.js';
import type { ListenerLimits } from '../../listener.js';
import { ConnectionQuota, parseConnectionOverrides } from './connection-quota.js';
import { RequestByteBudget } from './request-bytes.js';
import { RequestSlots } from './request-slots.js';

export { ConnectionQuota, RequestByteBudget, RequestSlots };

/** The listener's limits from max.connections*, queued.max.requests and queued.max.request.bytes. */
export function listenerLimitsFrom(config: BrokerConfig): ListenerLimits {
  let overrides: Map<string, number>;
  try {
    overrides = parseConnectionOverrides(config.string('max.connections.per.ip.overrides'));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const maxConnections = config.int('max.connections');
  const perIp = config.int('max.connections.per.ip');
  if (maxConnections <= 0 || perIp < 0) throw new ConfigError(`'max.connections' must be positive and 'max.connections.per.ip' 0 or more`);
  return {
    quota: new ConnectionQuota(maxConnections, perIp, overrides),
    budget: new RequestByteBudget(config.int('queued.max.request.bytes'), config.socketRequestMaxBytes),
    slots: new RequestSlots(config.int('queued.max.requests')),
  };
}
