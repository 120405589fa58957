/**
 * The authorizer a broker runs, from its configuration: none unless authorizer.class.name names
 * one of the accepted classes (AUTHORIZER_CLASS_NAMES); any other value stops start-up, as an
 * unloadable class stops Kafka. With the broker's metrics, its refusals are logged and counted
 * (server/security/audit.ts).
 */
import type { Logger } from 'pino';
import type { AclStore } from '../../../storage/acls.js';
import { ConfigError, type BrokerConfig } from '../../config/index.js';
import type { BrokerMetrics } from '../../metrics.js';
import { auditLinesPerSecond, DENIED_METRIC, DenialAudit } from '../audit.js';
import { AclAuthorizer, AUTHORIZER_CLASS_NAMES, parseSuperUsers } from './authorizer.js';

export { AclAuthorizer, AUTHORIZER_CLASS_NAMES } from './authorizer.js';

/** The configured authorizer, loaded and polling; null when authorizer.class.name is unset. */
export async function startAuthorizer(config: BrokerConfig, store: AclStore, logger: Logger, metrics?: BrokerMetrics): Promise<AclAuthorizer | null> {
  const className = config.string('authorizer.class.name');
  if (className === null) return null;
  if (!AUTHORIZER_CLASS_NAMES.includes(className)) {
    throw new ConfigError(`'authorizer.class.name': ${className} is not an authorizer this broker has (use one of ${AUTHORIZER_CLASS_NAMES.join(', ')})`);
  }
  const refreshMs = config.int('acl.refresh.ms');
  if (!(refreshMs > 0)) throw new ConfigError(`'acl.refresh.ms' must be positive, got ${refreshMs}`);
  const authorizer = new AclAuthorizer(
    store,
    { superUsers: parseSuperUsers(config.string('super.users')), allowEveryoneIfNoAclFound: config.bool('allow.everyone.if.no.acl.found'), refreshMs },
    logger,
  );
  if (metrics) {
    authorizer.audit = new DenialAudit({
      logger,
      denied: metrics.registry.counter(DENIED_METRIC.name, DENIED_METRIC.help, DENIED_METRIC.labels),
      maxLinesPerSecond: auditLinesPerSecond(config),
    });
  }
  await authorizer.start();
  logger.info({ authorizer: className, superUsers: parseSuperUsers(config.string('super.users')).length }, 'ACL authorizer on');
  return authorizer;
}
