import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { ClientSecurity } from '../../client/security.js';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import { interBrokerListener, isSasl, isTls } from '../config/listeners.js';
import { listenerValue, tlsSetupFor } from './tls.js';

/**
 * How this broker connects to another one (WriteTxnMarkers from a transaction coordinator to a
 * partition leader, docs/security.md): to the other broker's inter-broker listener (the same
 * listener name on every broker), with that listener's security protocol, as Kafka's brokers do.
 * TLS: the listener's trust store checks the peer's certificate (host name included unless
 * ssl.endpoint.identification.algorithm is empty) and its key store is the client certificate,
 * so a listener with ssl.client.auth=required accepts it. SASL: sasl.mechanism.inter.broker.protocol
 * with the username and password of the listener's listener.name.<l>.<mechanism>.sasl.jaas.config
 * (Kafka's convention for a broker's own login). The principal that results needs CLUSTER_ACTION
 * on the cluster when an authorizer is on (usually: list it in super.users).
 */
export interface InterBrokerClient {
  listenerName: string;
  security: ClientSecurity;
}

export function interBrokerClient(config: BrokerConfig): InterBrokerClient {
  const listener = interBrokerListener(config.listeners, config.string('inter.broker.listener.name'));
  const security: ClientSecurity = {};
  if (isTls(listener.protocol)) {
    const { contextOptions } = tlsSetupFor(config, listener);
    const tls: TlsOptions = { ...contextOptions };
    const identification = listenerValue(config, listener.name, 'ssl.endpoint.identification.algorithm');
    if (identification !== null && identification.trim() === '') tls.checkServerIdentity = () => undefined;
    security.tls = tls;
  }
  if (isSasl(listener.protocol)) {
    const mechanism = (config.string('sasl.mechanism.inter.broker.protocol') ?? 'PLAIN').toUpperCase();
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
      throw new ConfigError(`'sasl.mechanism.inter.broker.protocol' ${mechanism}: brokers log in to each other with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`);
    }
    const key = `listener.name.${listener.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
    const jaas = config.get(key) ?? '';
    const username = jaasOption(jaas, 'username');
    const password = jaasOption(jaas, 'password');
    if (username === undefined || password === undefined) {
      throw new ConfigError(`the inter-broker listener ${listener.name} is ${listener.protocol}: '${key}' needs username="..." password="..." (this broker's login on the others)`);
    }
    security.sasl = { mechanism, username, password };
  }
  return { listenerName: listener.name, security };
}

function jaasOption(jaas: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|\\s)${key}\\s*=\\s*(?:"((?:\\\\.|[^"\\\\])*)"|([^\\s;]+))`).exec(jaas);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}
