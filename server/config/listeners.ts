/**
 * Kafka's listener keys: `listeners` (NAME://host:port, several), `advertised.listeners`,
 * `listener.security.protocol.map` (listener name to PLAINTEXT, SSL, SASL_PLAINTEXT or
 * SASL_SSL) and `inter.broker.listener.name`, checked as Kafka checks them (unique names and
 * ports, every name mapped, advertised names among the listeners).
 */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** Kafka's default listener.security.protocol.map: each protocol name maps to itself. */
export const DEFAULT_PROTOCOL_MAP = PROTOCOLS.map((p) => `${p}:${p}`).join(',');

export interface ListenerSpec {
  /** Upper-case listener name (Kafka compares them upper-cased). */
  name: string;
  protocol: SecurityProtocol;
  host: string;
  port: number;
  /** What Metadata gives clients that connected to this listener. */
  advertisedHost: string;
  advertisedPort: number;
}

export class ListenerConfigError extends Error {
  override name = 'ListenerConfigError';
}

export function isTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function isSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

interface Endpoint {
  name: string;
  host: string;
  port: number;
}

/** `NAME://host:port,...`; a bare host:port (older configs) is a PLAINTEXT listener. */
function parseEndpoints(value: string, key: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const match = /^([A-Za-z0-9_]+):\/\/(.*)$/.exec(item);
    const name = match ? match[1]!.toUpperCase() : 'PLAINTEXT';
    const address = match ? match[2]! : item;
    const at = address.lastIndexOf(':');
    const host = at >= 0 ? address.slice(0, at).replace(/^\[|\]$/g, '') : '';
    const port = at >= 0 && /^\d+$/.test(address.slice(at + 1)) ? Number(address.slice(at + 1)) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ListenerConfigError(`'${key}': bad host:port in '${item}'`);
    out.push({ name, host: host || '127.0.0.1', port });
  }
  if (out.length === 0) throw new ListenerConfigError(`'${key}' names no listener`);
  return out;
}

function parseProtocolMap(value: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    const name = item.slice(0, colon).trim().toUpperCase();
    const protocol = item.slice(colon + 1).trim().toUpperCase() as SecurityProtocol;
    if (colon <= 0 || !PROTOCOLS.includes(protocol)) {
      throw new ListenerConfigError(`'listener.security.protocol.map': '${item}' is not NAME:PROTOCOL with one of ${PROTOCOLS.join(', ')}`);
    }
    map.set(name, protocol);
  }
  return map;
}

export interface ListenerKeys {
  listeners: string;
  advertisedListeners: string | null;
  protocolMap: string | null;
  interBrokerListenerName: string | null;
}

/** Every listener, in the order of `listeners`, with the address it advertises. */
export function parseListeners(keys: ListenerKeys): ListenerSpec[] {
  const endpoints = parseEndpoints(keys.listeners, 'listeners');
  const map = parseProtocolMap(keys.protocolMap ?? DEFAULT_PROTOCOL_MAP);
  const names = new Set<string>();
  const ports = new Set<number>();
  for (const e of endpoints) {
    if (names.has(e.name)) throw new ListenerConfigError(`'listeners': the listener name ${e.name} is used twice`);
    names.add(e.name);
    if (e.port !== 0 && ports.has(e.port)) throw new ListenerConfigError(`'listeners': port ${e.port} is used by two listeners`);
    ports.add(e.port);
    if (!map.has(e.name)) throw new ListenerConfigError(`'listener.security.protocol.map' has no security protocol for the listener ${e.name}`);
  }
  const advertised = new Map<string, Endpoint>();
  if (keys.advertisedListeners) {
    for (const a of parseEndpoints(keys.advertisedListeners, 'advertised.listeners')) {
      if (!names.has(a.name)) throw new ListenerConfigError(`'advertised.listeners' names ${a.name}, which is not in 'listeners'`);
      if (advertised.has(a.name)) throw new ListenerConfigError(`'advertised.listeners': the listener name ${a.name} is used twice`);
      advertised.set(a.name, a);
    }
  }
  if (keys.interBrokerListenerName && !names.has(keys.interBrokerListenerName.toUpperCase())) {
    throw new ListenerConfigError(`'inter.broker.listener.name' ${keys.interBrokerListenerName} is not in 'listeners'`);
  }
  return endpoints.map((e) => {
    const a = advertised.get(e.name);
    return {
      name: e.name,
      protocol: map.get(e.name)!,
      host: e.host,
      port: e.port,
      // A listener on every interface advertises the loopback address unless told otherwise.
      advertisedHost: a ? a.host : e.host === '0.0.0.0' ? '127.0.0.1' : e.host,
      advertisedPort: a ? a.port : e.port,
    };
  });
}

/**
 * The listener other brokers and the local CLI reach this broker through: the one named by
 * `inter.broker.listener.name`, else the first PLAINTEXT one (Kafka's security.inter.broker.protocol
 * default), else the first.
 */
export function interBrokerListener(listeners: readonly ListenerSpec[], name: string | null): ListenerSpec {
  if (name) return listeners.find((l) => l.name === name.toUpperCase())!;
  return listeners.find((l) => l.protocol === 'PLAINTEXT') ?? listeners[0]!;
}
