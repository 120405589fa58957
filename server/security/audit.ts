/**
 * What the broker tells operators about refusals, as Kafka's kafka.authorizer.logger and its
 * failed-authentication log lines: each denied request is logged at info on a child logger named
 * kafka.authorizer.logger (principal, host, operation, resource type and name, API, listener) and
 * counted in kafka_mysql_authorization_denied_total{operation, resource_type, listener}; failed
 * authentications are counted by the SASL gate and the TLS listeners
 * (kafka_mysql_authentications_total) and logged through a LogLimiter too.
 *
 * Logging is held to security.audit.log.max.per.second lines per second for each kind, so a
 * client that sends refused requests (or bad passwords) in a loop cannot flood the log: the
 * lines left out are still counted, and the next line logged carries `suppressed`, how many were
 * left out before it. Checks that only filter what a response lists (Metadata of all topics,
 * ListGroups, authorized-operation bits) are neither logged nor counted, as Kafka passes
 * logIfDenied=false for them.
 */
import type { Logger } from 'pino';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import type { Counter } from '../metrics.js';
import { Op, ResourceType } from './authorizer/acl.js';
import { formatPrincipal, type KafkaPrincipal } from './principal.js';

/** Kafka's logger name for authorization decisions. */
export const AUTHORIZER_LOGGER = 'kafka.authorizer.logger';

/**
 * At most `perSecond` lines in each one-second window; `take` says whether to log now and, when
 * yes, how many were refused since the last line that was logged.
 */
export class LogLimiter {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: do not log this one (it is counted as suppressed); otherwise the count suppressed before it. */
  take(): number | null {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.suppressed++;
      return null;
    }
    this.inWindow++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return suppressed;
  }
}

const nameOf = (table: Record<string, number>, code: number): string => Object.keys(table).find((k) => table[k] === code) ?? `UNKNOWN(${code})`;
export const operationName = (op: number): string => nameOf(Op, op);
export const resourceTypeName = (type: number): string => nameOf(ResourceType, type);

/** One refused check. */
export interface Denial {
  principal: KafkaPrincipal;
  host: string;
  /** The listener the request came through ('' without one). */
  listener: string;
  /** The API of the request ("Fetch"). */
  api: string;
  operation: number;
  resourceType: number;
  resource: string;
}

export interface DenialAuditOptions {
  /** The broker's logger; lines go to a child named kafka.authorizer.logger. */
  logger: Logger;
  /** kafka_mysql_authorization_denied_total{operation, resource_type, listener}. */
  denied: Counter;
  /** security.audit.log.max.per.second */
  maxLinesPerSecond: number;
  now?: () => number;
}

export class DenialAudit {
  private readonly logger: Logger;
  private readonly limiter: LogLimiter;

  constructor(private readonly options: DenialAuditOptions) {
    this.logger = options.logger.child({ logger: AUTHORIZER_LOGGER });
    this.limiter = new LogLimiter(options.maxLinesPerSecond, options.now);
  }

  denied(d: Denial): void {
    const operation = operationName(d.operation);
    const resourceType = resourceTypeName(d.resourceType);
    this.options.denied.inc({ operation, resource_type: resourceType, listener: d.listener });
    const suppressed = this.limiter.take();
    if (suppressed === null) return;
    this.logger.info(
      {
        principal: formatPrincipal(d.principal),
        host: d.host,
        operation,
        resourceType,
        resource: d.resource,
        api: d.api,
        listener: d.listener,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      'authorization denied',
    );
  }
}

export const DENIED_METRIC = {
  name: 'kafka_mysql_authorization_denied_total',
  help: 'Requests refused by the authorizer (logged on kafka.authorizer.logger), by operation, resource type and listener.',
  labels: ['operation', 'resource_type', 'listener'] as const,
};

/** security.audit.log.max.per.second, checked. */
export function auditLinesPerSecond(config: BrokerConfig): number {
  const n = config.int('security.audit.log.max.per.second');
  if (!(n >= 0)) throw new ConfigError(`'security.audit.log.max.per.second' must be 0 or more, got ${n}`);
  return n;
}
