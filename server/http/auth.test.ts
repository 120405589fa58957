import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { restAuthSettings, verifyScram } from './auth.js';
import { scramCredential } from '../security/sasl/credentials.js';

const config = (overrides: Record<string, string>) => loadConfig({ env: {}, overrides: { 'mysql.url': 'mysql://u:p@127.0.0.1:1/x', ...overrides } });

describe('REST authentication settings', () => {
  it('follow the Kafka listeners: required when every listener authenticates, not when one is PLAINTEXT or SSL without required certificates', () => {
    expect(restAuthSettings(config({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0' }), false)).toMatchObject({ required: true, methods: ['BASIC'] });
    expect(restAuthSettings(config({ listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0' }), false).required).toBe(false);
    expect(restAuthSettings(config({ listeners: 'SSL://127.0.0.1:0' }), false).required).toBe(false);
    expect(restAuthSettings(config({ listeners: 'SSL://127.0.0.1:0', 'ssl.client.auth': 'required' }), false).required).toBe(true);
    expect(restAuthSettings(config({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'OAUTHBEARER' }), false).methods).toEqual(['BASIC', 'BEARER']);
  });

  it('NONE is refused when every Kafka listener requires authentication, unless the https listener requires certificates', () => {
    expect(() => restAuthSettings(config({ listeners: 'SASL_SSL://127.0.0.1:0', 'rest.authentication.method': 'NONE' }), false)).toThrow(/anonymous/);
    expect(restAuthSettings(config({ listeners: 'SASL_SSL://127.0.0.1:0', 'rest.authentication.method': 'NONE' }), true)).toMatchObject({ required: true, methods: [] });
    expect(restAuthSettings(config({ listeners: 'PLAINTEXT://127.0.0.1:0', 'rest.authentication.method': 'NONE' }), false)).toMatchObject({ required: false, methods: [] });
  });

  it('an explicit method makes authentication required even beside a PLAINTEXT listener; unknown methods are refused', () => {
    expect(restAuthSettings(config({ listeners: 'PLAINTEXT://127.0.0.1:0', 'rest.authentication.method': 'BEARER' }), false)).toMatchObject({ required: true, methods: ['BEARER'] });
    expect(() => restAuthSettings(config({ 'rest.authentication.method': 'DIGEST' }), false)).toThrow(/rest.authentication.method/);
    expect(() => restAuthSettings(config({ 'rest.authentication.method': 'NONE,BASIC' }), false)).toThrow(/NONE/);
  });
});

describe('verifyScram', () => {
  it('accepts the RFC 7677 user\'s password against its stored key and nothing else', async () => {
    // The credential scram.test.ts shows passing RFC 7677's exchange (user "user", password "pencil").
    const rfc = scramCredential('SCRAM-SHA-256', 'pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    expect(await verifyScram(rfc, 'pencil')).toBe(true);
    expect(await verifyScram(rfc, 'pencil ')).toBe(false);
    expect(await verifyScram({ ...rfc, iterations: 4097 }, 'pencil')).toBe(false);
  });

  it('accepts the password a credential was made from, for both hashes, and nothing else', async () => {
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const credential = scramCredential(mechanism, 'pässword', 4096);
      expect(await verifyScram(credential, 'pässword')).toBe(true);
      expect(await verifyScram(credential, 'password')).toBe(false);
      expect(await verifyScram(credential, '')).toBe(false);
    }
  });
});
