/**
 * Kafka client properties for TLS and SASL (a `--command-config` file, as Kafka's tools take
 * one), turned into what client/connection.ts needs. Understood: security.protocol (PLAINTEXT,
 * SSL, SASL_PLAINTEXT, SASL_SSL); sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
 * OAUTHBEARER); the credentials from sasl.jaas.config (username="..." password="...") or
 * librdkafka's sasl.username / sasl.password, an OAUTHBEARER token from sasl.oauthbearer.token
 * (kafka-mysql's own key: the CLI fetches no tokens); PEM files only: ssl.truststore.location or
 * ssl.ca.location (CAs), ssl.keystore.location (key and chain in one file) or
 * ssl.certificate.location + ssl.key.location, ssl.key.password;
 * ssl.endpoint.identification.algorithm empty turns host name checking off, as in Kafka.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SaslCredentials } from './sasl.js';

export interface ClientSecurity {
  tls?: TlsOptions;
  sasl?: SaslCredentials;
}

export class ClientConfigError extends Error {
  override name = 'ClientConfigError';
}

function jaasOption(jaas: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|\\s)${key}\\s*=\\s*(?:"((?:\\\\.|[^"\\\\])*)"|([^\\s;]+))`).exec(jaas);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

export function clientSecurityFrom(props: ReadonlyMap<string, string>): ClientSecurity {
  const get = (key: string) => {
    const v = props.get(key);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const read = (key: string) => {
    const path = get(key)!;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ClientConfigError(`${key}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const protocol = (get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) throw new ClientConfigError(`security.protocol ${protocol} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`);
  const out: ClientSecurity = {};
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    for (const key of ['ssl.truststore.type', 'ssl.keystore.type']) {
      const type = get(key);
      if (type && type.toUpperCase() !== 'PEM') throw new ClientConfigError(`${key} ${type}: only PEM files are read`);
    }
    const tls: TlsOptions = {};
    if (get('ssl.truststore.location')) tls.ca = read('ssl.truststore.location');
    else if (get('ssl.ca.location')) tls.ca = read('ssl.ca.location');
    if (get('ssl.keystore.location')) tls.cert = tls.key = read('ssl.keystore.location');
    if (get('ssl.certificate.location')) tls.cert = read('ssl.certificate.location');
    if (get('ssl.key.location')) tls.key = read('ssl.key.location');
    const keyPassword = get('ssl.key.password');
    if (keyPassword) tls.passphrase = keyPassword;
    if (props.has('ssl.endpoint.identification.algorithm') && get('ssl.endpoint.identification.algorithm') === undefined) {
      tls.checkServerIdentity = () => undefined;
    }
    out.tls = tls;
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (get('sasl.mechanism') ?? get('sasl.mechanisms') ?? 'GSSAPI').toUpperCase();
    if (mechanism === 'OAUTHBEARER') {
      const token = get('sasl.oauthbearer.token');
      if (!token) throw new ClientConfigError('OAUTHBEARER needs sasl.oauthbearer.token');
      out.sasl = { mechanism, token };
    } else if (mechanism === 'PLAIN' || mechanism === 'SCRAM-SHA-256' || mechanism === 'SCRAM-SHA-512') {
      const jaas = get('sasl.jaas.config');
      const username = get('sasl.username') ?? (jaas ? jaasOption(jaas, 'username') : undefined);
      const password = get('sasl.password') ?? (jaas ? jaasOption(jaas, 'password') : undefined);
      if (username === undefined || password === undefined) throw new ClientConfigError(`SASL ${mechanism} needs a username and password (sasl.jaas.config, or sasl.username and sasl.password)`);
      out.sasl = { mechanism, username, password };
    } else {
      throw new ClientConfigError(`sasl.mechanism ${mechanism} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)`);
    }
  }
  return out;
}
