/**
 * The broker's authentication, built from its configuration: one ListenerSecurity per listener
 * (TLS setup, SASL mechanisms) and the gate put in front of the dispatcher. See docs/security.md.
 */
import type { Logger } from 'pino';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import { isSasl, isTls, type ListenerSpec } from '../config/listeners.js';
import type { BrokerMetrics } from '../metrics.js';
import type { FrameHandler } from '../net/connection.js';
import { authGate } from './auth-gate.js';
import { auditLinesPerSecond, LogLimiter } from './audit.js';
import { ListenerSecurity } from './listener-security.js';
import { jaasPlainUsers } from './sasl/jaas.js';
import { SUPPORTED_MECHANISMS, type CredentialSource, type SaslServer } from './sasl/mechanism.js';
import { createOauthValidator } from './sasl/oauthbearer.js';
import { OauthBearerServer } from './sasl/oauthbearer-server.js';
import { PlainServer } from './sasl/plain.js';
import { ScramServer } from './sasl/scram.js';
import type { SaslSettings } from './sasl/session.js';
import { listenerValue, tlsSetupFor } from './tls.js';

export interface BrokerSecurity {
  /** One per listener, in the order of `listeners`. */
  listeners: ListenerSecurity[];
  /** The dispatcher's frame handler behind the SASL gate. */
  gate(handler: FrameHandler): FrameHandler;
}

export function createBrokerSecurity(config: BrokerConfig, users: CredentialSource, logger: Logger, metrics: BrokerMetrics, now: () => number = Date.now): BrokerSecurity {
  const authentications = metrics.registry.counter(
    'kafka_mysql_authentications_total',
    'SASL authentications and re-authentications, by listener, mechanism and result (success, failure); TLS handshake and client certificate failures count as mechanism SSL.',
    ['listener', 'mechanism', 'result'],
  );
  const audit = auditLinesPerSecond(config);
  // One limiter per kind: TLS failures and SASL failures each get their share of the log.
  const tlsFailures = { authentications, limiter: new LogLimiter(audit) };
  const listeners = config.listeners.map((spec) => {
    const tls = isTls(spec.protocol) ? tlsSetupFor(config, spec) : null;
    const sasl = isSasl(spec.protocol) ? saslSettingsFor(config, spec, users, logger, now) : null;
    const rules = listenerValue(config, spec.name, 'ssl.principal.mapping.rules') ?? 'DEFAULT';
    try {
      return new ListenerSecurity(spec, tls, sasl, rules, logger, now, tlsFailures);
    } catch (err) {
      throw new ConfigError(`'ssl.principal.mapping.rules': ${(err as Error).message}`);
    }
  });
  const options = {
    failedAuthenticationDelayMs: config.int('connection.failed.authentication.delay.ms'),
    maxReceiveBeforeAuth: config.int('sasl.server.max.receive.size'),
    logger,
    authentications,
    logLimiter: new LogLimiter(audit),
  };
  return { listeners, gate: (handler) => authGate(handler, options) };
}

function saslSettingsFor(config: BrokerConfig, spec: ListenerSpec, users: CredentialSource, logger: Logger, now: () => number): SaslSettings {
  const get = (key: string) => listenerValue(config, spec.name, key);
  const mechanisms = (get('sasl.enabled.mechanisms') ?? '').split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
  if (mechanisms.length === 0) throw new ConfigError(`listener ${spec.name} (${spec.protocol}) has no sasl.enabled.mechanisms`);
  for (const m of mechanisms) {
    if (!SUPPORTED_MECHANISMS.includes(m)) throw new ConfigError(`sasl.enabled.mechanisms: ${m} is not served (listener ${spec.name}); served: ${SUPPORTED_MECHANISMS.join(', ')}`);
  }
  const plainUsers = jaasPlainUsers(config.get(`listener.name.${spec.name.toLowerCase()}.plain.sasl.jaas.config`));
  const oauth = mechanisms.includes('OAUTHBEARER') ? createOauthValidator((key) => get(key), logger, now) : null;
  return {
    mechanisms,
    reauthMs: Number(get('connections.max.reauth.ms') ?? '0'),
    createServer(mechanism: string): SaslServer {
      switch (mechanism) {
        case 'PLAIN':
          return new PlainServer(users, plainUsers);
        case 'SCRAM-SHA-256':
        case 'SCRAM-SHA-512':
          return new ScramServer(mechanism, users);
        case 'OAUTHBEARER':
          return new OauthBearerServer(oauth!);
        default:
          throw new Error(`no server for ${mechanism}`);
      }
    },
  };
}

/**
 * Opens every listener on `kafka` and records each one's advertised address in `self.listeners`
 * (a port of 0 advertises the port it got). Resolves with the inter-broker listener's port.
 */
export async function openListeners(
  kafka: { listen(host: string, port: number, security: ListenerSecurity): Promise<number> },
  security: BrokerSecurity,
  self: { host: string; port: number; listeners?: Record<string, { host: string; port: number }> },
  config: BrokerConfig,
): Promise<number> {
  const advertised: Record<string, { host: string; port: number }> = {};
  let interPort = -1;
  for (const ls of security.listeners) {
    const spec = ls.spec;
    const port = await kafka.listen(spec.host, spec.port, ls);
    advertised[spec.name] = { host: spec.advertisedHost, port: spec.advertisedPort === 0 ? port : spec.advertisedPort };
    if (spec.host === config.listener.host && spec.port === config.listener.port && interPort < 0) interPort = port;
  }
  self.listeners = advertised;
  return interPort;
}
