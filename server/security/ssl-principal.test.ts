import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '../../compat-tests/support/certs.js';
import { mapPrincipalName, parseMappingRules, rfc2253Subject } from './ssl-principal.js';

const certs = makeTestCerts('/C=DE/O=Acme, Inc./OU=Payments/CN=client-1');
afterAll(() => certs.remove());

describe('TLS principals', () => {
  it('gives the subject of an openssl-made certificate in RFC 2253 form, most specific first, commas escaped', () => {
    const cert = new X509Certificate(readFileSync(certs.clientCert));
    expect(rfc2253Subject(cert)).toBe('CN=client-1,OU=Payments,O=Acme\\, Inc.,C=DE');
  });

  it('applies ssl.principal.mapping.rules as Kafka: first matching rule, L/U case, DEFAULT, none matching is an error', () => {
    const rules = parseMappingRules('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=([^,]*),OU=(.*?),.*$/$1@$2/U, DEFAULT');
    expect(mapPrincipalName(rules, 'CN=Kafka-App,OU=ServiceUsers,O=Acme,C=DE')).toBe('kafka-app');
    expect(mapPrincipalName(rules, 'CN=client-1,OU=Payments,O=Acme\\, Inc.,C=DE')).toBe('CLIENT-1@PAYMENTS');
    expect(mapPrincipalName(rules, 'CN=plain')).toBe('CN=plain');
    expect(mapPrincipalName(parseMappingRules('DEFAULT'), 'CN=x,O=y')).toBe('CN=x,O=y');
    const only = parseMappingRules('RULE:^CN=(.*)$/$1/');
    expect(mapPrincipalName(only, 'CN=alone')).toBe('alone');
    expect(() => mapPrincipalName(only, 'O=nothing')).toThrow(/No rules apply/);
    expect(mapPrincipalName(parseMappingRules('RULE:^CN=([^,]*),.*$/user\\/$1/'), 'CN=a,O=b')).toBe('user/a');
    expect(() => parseMappingRules('RULE:broken')).toThrow();
    expect(() => parseMappingRules('NOPE')).toThrow();
  });
});
