import { describe, expect, it } from 'vitest';
import { ConnectionQuota, normalizeAddress, parseConnectionOverrides } from './connection-quota.js';

describe('ConnectionQuota', () => {
  it('admits up to max.connections.per.ip from one address and max.connections in all', () => {
    const quota = new ConnectionQuota(5, 2, parseConnectionOverrides('10.0.0.9:4,::1:0'));
    expect(quota.admit('10.0.0.1')).toBeNull();
    expect(quota.admit('::ffff:10.0.0.1')).toBeNull(); // the same IPv4 address
    expect(quota.admit('10.0.0.1')).toBe('max.connections.per.ip (2) for 10.0.0.1');
    expect(quota.admit('::1')).toBe('max.connections.per.ip (0) for ::1');
    expect(quota.admit('10.0.0.9')).toBeNull();
    expect(quota.admit('10.0.0.9')).toBeNull();
    expect(quota.admit('10.0.0.9')).toBeNull(); // its override is 4
    expect(quota.admit('10.0.0.2')).toBe('max.connections (5)');
    quota.release('10.0.0.1');
    expect(quota.connectionsFrom('10.0.0.1')).toBe(1);
    expect(quota.admit('10.0.0.2')).toBeNull();
    expect(quota.connections).toBe(5);
  });

  it('parses overrides of IPv4 and IPv6 addresses and refuses anything else', () => {
    expect([...parseConnectionOverrides(' 127.0.0.1:10, [fe80::1]:3 ,::1:7')]).toEqual([
      ['127.0.0.1', 10],
      ['fe80::1', 3],
      ['::1', 7],
    ]);
    expect(parseConnectionOverrides('').size).toBe(0);
    expect(() => parseConnectionOverrides('broker.example.com:10')).toThrow(/not <ip address>:<count>/);
    expect(() => parseConnectionOverrides('127.0.0.1')).toThrow();
    expect(() => parseConnectionOverrides('127.0.0.1:-1')).toThrow();
    expect(normalizeAddress('::FFFF:192.168.1.1')).toBe('192.168.1.1');
  });
});
