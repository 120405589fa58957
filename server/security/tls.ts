/**
 * TLS of SSL and SASL_SSL listeners from Kafka's ssl.* keys, each overridable per listener as
 * `listener.name.<listener>.ssl.*`. Key stores: PEM only (ssl.keystore.type=PEM), from a file
 * (ssl.keystore.location holding the private key and the certificate chain, the key decrypted
 * with ssl.key.password) or inline (ssl.keystore.certificate.chain + ssl.keystore.key). JKS and
 * PKCS12 are refused with a hint: no well-kept npm library reads JKS, and `openssl pkcs12`
 * converts either to PEM. ssl.client.auth: none, requested (a certificate is checked when sent),
 * required (the handshake fails without one); SASL_SSL listeners take it only from their own
 * listener.name.* key, as Kafka.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError, type BrokerConfig } from '../config/index.js';
import type { ListenerSpec } from '../config/listeners.js';

export type ClientAuth = 'none' | 'requested' | 'required';

export interface TlsSetup {
  /** What tls.createServer takes for the key, chain, trusted CAs and protocol versions (checked by loading it once). */
  contextOptions: SecureContextOptions;
  clientAuth: ClientAuth;
}

/** A listener's value of a key: its listener.name.<name>.<key> override, else the key. */
export function listenerValue(config: BrokerConfig, listener: string, key: string): string | null {
  const own = config.get(`listener.name.${listener.toLowerCase()}.${key}`);
  if (own !== null && own !== '') return own;
  return config.string(key);
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`'${key}': cannot read ${path}: ${(err as Error).message}`);
  }
}

export function tlsSetupFor(config: BrokerConfig, listener: ListenerSpec): TlsSetup {
  const get = (key: string) => listenerValue(config, listener.name, key);
  const storeType = (get('ssl.keystore.type') ?? 'PEM').toUpperCase();
  if (storeType !== 'PEM') {
    throw new ConfigError(`ssl.keystore.type ${storeType} is not supported (listener ${listener.name}): use PEM (convert with openssl pkcs12 -nodes, or keytool -importkeystore to PKCS12 first)`);
  }
  const trustType = (get('ssl.truststore.type') ?? 'PEM').toUpperCase();
  if (trustType !== 'PEM') throw new ConfigError(`ssl.truststore.type ${trustType} is not supported (listener ${listener.name}): use PEM`);
  const location = get('ssl.keystore.location');
  const inlineChain = get('ssl.keystore.certificate.chain');
  const inlineKey = get('ssl.keystore.key');
  let cert: string;
  let key: string;
  if (location) {
    cert = key = readPem(location, 'ssl.keystore.location');
  } else if (inlineChain && inlineKey) {
    cert = inlineChain;
    key = inlineKey;
  } else {
    throw new ConfigError(`listener ${listener.name} (${listener.protocol}) needs ssl.keystore.location or ssl.keystore.certificate.chain and ssl.keystore.key`);
  }
  const trustLocation = get('ssl.truststore.location');
  const trustInline = get('ssl.truststore.certificates');
  const ca = trustLocation ? readPem(trustLocation, 'ssl.truststore.location') : trustInline ?? undefined;
  const protocols = (get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3').split(',').map((p) => p.trim()).filter(Boolean);
  const known = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
  const enabled = known.filter((p) => protocols.includes(p));
  if (enabled.length === 0) throw new ConfigError(`'ssl.enabled.protocols' names none of ${known.join(', ')}`);
  const ciphers = get('ssl.cipher.suites');
  const password = get('ssl.key.password') ?? undefined;
  const contextOptions: SecureContextOptions = {
      cert,
      key,
      ...(password ? { passphrase: password } : {}),
      ...(ca ? { ca } : {}),
      minVersion: enabled[0],
      maxVersion: enabled[enabled.length - 1],
      ...(ciphers ? { ciphers: ciphers.split(',').map((c) => c.trim()).join(':') } : {}),
  };
  try {
    createSecureContext(contextOptions);
  } catch (err) {
    // OpenSSL's message, never the key or password.
    throw new ConfigError(`listener ${listener.name}: cannot load its key store: ${(err as Error).message}`);
  }
  const clientAuthRaw =
    listener.protocol === 'SASL_SSL'
      ? config.get(`listener.name.${listener.name.toLowerCase()}.ssl.client.auth`) || 'none'
      : get('ssl.client.auth') ?? 'none';
  const clientAuth = clientAuthRaw.toLowerCase();
  if (clientAuth !== 'none' && clientAuth !== 'requested' && clientAuth !== 'required') {
    throw new ConfigError(`'ssl.client.auth' must be none, requested or required, got '${clientAuthRaw}'`);
  }
  return { contextOptions, clientAuth };
}
