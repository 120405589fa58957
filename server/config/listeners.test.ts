import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';
import { interBrokerListener, parseListeners } from './listeners.js';

describe('listeners', () => {
  it('parses several listeners with their protocols and advertised addresses', () => {
    const listeners = parseListeners({
      listeners: 'PLAINTEXT://0.0.0.0:9092,internal://10.0.0.1:9093,SASL_SSL://:9094',
      advertisedListeners: 'PLAINTEXT://kafka.example.com:19092,SASL_SSL://kafka.example.com:19094',
      protocolMap: 'PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
      interBrokerListenerName: 'internal',
    });
    expect(listeners).toEqual([
      { name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '0.0.0.0', port: 9092, advertisedHost: 'kafka.example.com', advertisedPort: 19092 },
      { name: 'INTERNAL', protocol: 'SASL_PLAINTEXT', host: '10.0.0.1', port: 9093, advertisedHost: '10.0.0.1', advertisedPort: 9093 },
      { name: 'SASL_SSL', protocol: 'SASL_SSL', host: '127.0.0.1', port: 9094, advertisedHost: 'kafka.example.com', advertisedPort: 19094 },
    ]);
    expect(interBrokerListener(listeners, 'internal').name).toBe('INTERNAL');
    expect(interBrokerListener(listeners, null).name).toBe('PLAINTEXT');
  });

  it('refuses what Kafka refuses: a name twice, a port twice, an unmapped name, an advertised or inter-broker name not listened on', () => {
    const base = { advertisedListeners: null, protocolMap: null, interBrokerListenerName: null };
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://:1,PLAINTEXT://:2' })).toThrow(/used twice/);
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://:1,SSL://:1' })).toThrow(/port 1/);
    expect(() => parseListeners({ ...base, listeners: 'CLIENT://:1' })).toThrow(/no security protocol for the listener CLIENT/);
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://:1', advertisedListeners: 'SSL://x:2' })).toThrow(/not in 'listeners'/);
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://:1', interBrokerListenerName: 'SSL' })).toThrow(/inter\.broker\.listener\.name/);
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://:1', protocolMap: 'PLAINTEXT:HTTP' })).toThrow(/NAME:PROTOCOL/);
    expect(() => parseListeners({ ...base, listeners: 'PLAINTEXT://host' })).toThrow(/bad host:port/);
  });

  it('the configuration takes listener.name.<l>.* overrides, masks their secrets, and points the CLI at the inter-broker listener', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        listeners: 'SASL_SSL://127.0.0.1:9094,PLAINTEXT://127.0.0.1:9092',
        'listener.name.sasl_ssl.ssl.keystore.location': '/etc/kafka/broker.pem',
        'listener.name.sasl_ssl.plain.sasl.jaas.config': 'PlainLoginModule required user_admin="hunter2";',
      },
    });
    expect(config.get('listener.name.sasl_ssl.ssl.keystore.location')).toBe('/etc/kafka/broker.pem');
    expect(config.advertised).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(JSON.stringify(config)).not.toContain('hunter2');
    expect(() => loadConfig({ env: {}, overrides: { 'listener.name.x.no.such.key': '1' } })).toThrow(/unknown configuration key/);
  });
});
