/**
 * Test certificates made with openssl (Debian's) in a temp dir: a CA, a broker certificate for
 * 127.0.0.1/localhost, a client certificate (for mutual TLS) and one from a CA the broker does
 * not trust. Keys are unencrypted PEM except the broker's, which is encrypted with `keyPassword`
 * to exercise ssl.key.password.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caCert: string;
  /** Broker key store: encrypted private key + certificate chain in one PEM file. */
  brokerKeystore: string;
  keyPassword: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by a CA the broker does not trust. */
  strangerCert: string;
  strangerKey: string;
  remove(): void;
}

export function makeTestCerts(clientSubject = '/C=DE/O=Acme, Inc./CN=client-1'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-mysql-certs-'));
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=kafka-mysql test CA');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other-ca.key'), '-out', p('other-ca.pem'), '-days', '2', '-subj', '/CN=stranger CA');
  writeFileSync(p('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('broker.key'), '-out', p('broker.csr'), '-subj', '/CN=localhost');
  ssl('x509', '-req', '-in', p('broker.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('broker.pem'), '-days', '2', '-extfile', p('san.ext'));
  const keyPassword = 'store-secret';
  ssl('pkcs8', '-topk8', '-in', p('broker.key'), '-out', p('broker.enc.key'), '-passout', `pass:${keyPassword}`, '-v2', 'aes-256-cbc');
  writeFileSync(p('broker-keystore.pem'), readFileSync(p('broker.enc.key'), 'utf8') + readFileSync(p('broker.pem'), 'utf8') + readFileSync(p('ca.pem'), 'utf8'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('client.key'), '-out', p('client.csr'), '-subj', clientSubject);
  ssl('x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('client.pem'), '-days', '2');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('stranger.key'), '-out', p('stranger.csr'), '-subj', '/CN=stranger');
  ssl('x509', '-req', '-in', p('stranger.csr'), '-CA', p('other-ca.pem'), '-CAkey', p('other-ca.key'), '-CAcreateserial', '-out', p('stranger.pem'), '-days', '2');
  return {
    dir,
    caCert: p('ca.pem'),
    brokerKeystore: p('broker-keystore.pem'),
    keyPassword,
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
