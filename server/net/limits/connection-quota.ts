import { isIP } from 'node:net';

/**
 * max.connections, max.connections.per.ip and max.connections.per.ip.overrides: how many
 * connections the listener keeps, in all and from one address. A connection over a limit is
 * closed as soon as it is accepted, before anything is read from it. Kafka does the same for
 * the per-address limit; for max.connections Kafka's acceptor instead stops accepting until a
 * connection closes (the client's connect then times out), which a Node listener cannot do
 * without pausing every accept.
 */
export class ConnectionQuota {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    readonly maxConnections: number,
    readonly maxPerAddress: number,
    private readonly overrides: ReadonlyMap<string, number> = new Map(),
  ) {}

  /** Takes a place for a connection from `address`; null when it may open, else the limit it would pass. */
  admit(address: string): string | null {
    const key = normalizeAddress(address);
    const count = this.byAddress.get(key) ?? 0;
    const perAddress = this.overrides.get(key) ?? this.maxPerAddress;
    if (count >= perAddress) return `max.connections.per.ip (${perAddress}) for ${key}`;
    if (this.total >= this.maxConnections) return `max.connections (${this.maxConnections})`;
    this.byAddress.set(key, count + 1);
    this.total++;
    return null;
  }

  /** Gives back the place of a connection admitted earlier. */
  release(address: string): void {
    const key = normalizeAddress(address);
    const count = this.byAddress.get(key) ?? 0;
    if (count <= 1) this.byAddress.delete(key);
    else this.byAddress.set(key, count - 1);
    this.total--;
  }

  get connections(): number {
    return this.total;
  }

  connectionsFrom(address: string): number {
    return this.byAddress.get(normalizeAddress(address)) ?? 0;
  }
}

/** An IPv4 address seen through an IPv6 socket (::ffff:1.2.3.4) is the IPv4 address. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/**
 * Parses max.connections.per.ip.overrides: comma-separated `address:count` (the count after the
 * last colon, so IPv6 addresses work). Kafka also takes host names and resolves them; here only
 * IP addresses are accepted, so the limit never depends on DNS. Throws on anything else.
 */
export function parseConnectionOverrides(value: string | null): Map<string, number> {
  const overrides = new Map<string, number>();
  if (!value) return overrides;
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = item.lastIndexOf(':');
    const address = item.slice(0, at).replace(/^\[|\]$/g, '');
    const count = Number(item.slice(at + 1));
    if (at <= 0 || isIP(address) === 0 || !Number.isSafeInteger(count) || count < 0) {
      throw new Error(`max.connections.per.ip.overrides: '${item}' is not <ip address>:<count>`);
    }
    overrides.set(normalizeAddress(address), count);
  }
  return overrides;
}
