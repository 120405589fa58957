import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { ListenerSpec } from '../config/listeners.js';
import { Counter } from '../metrics.js';
import { ProtocolViolation, type Connection, type FrameHandler } from '../net/connection.js';
import { authGate } from './auth-gate.js';
import type { ConnectionSecurity } from './listener-security.js';
import { ANONYMOUS } from './principal.js';
import { plainCredential } from './sasl/credentials.js';
import { PlainServer } from './sasl/plain.js';
import { SaslSession } from './sasl/session.js';

const SECRET = 'correct horse battery staple';
const listener: ListenerSpec = { name: 'SASL_PLAINTEXT', protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 1, advertisedHost: '127.0.0.1', advertisedPort: 1 };

/** A frame with just the request header fields the gate reads: API key and version. */
const frame = (apiKey: number, version = 1) => {
  const b = Buffer.alloc(8);
  b.writeInt16BE(apiKey, 0);
  b.writeInt16BE(version, 2);
  return b;
};

function setup(reauthMs = 0) {
  let now = 1_000_000;
  const stored = plainCredential(SECRET, Buffer.alloc(16, 7), 1000);
  const session = new SaslSession(
    { mechanisms: ['PLAIN'], reauthMs, createServer: () => new PlainServer({ credential: async (u, m) => (u === 'alice' && m === 'PLAIN' ? stored : null) }, new Map()) },
    () => now,
  );
  const security: ConnectionSecurity = { listener, principal: ANONYMOUS, sasl: session };
  let ended = 0;
  const connection = { id: 1, remoteAddress: '10.0.0.9', security, socket: { end: () => ended++, destroy: () => ended++ } } as unknown as Connection;
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
  const registry = new Registry();
  const counter = new Counter(registry, 'auth_total', 'help', ['listener', 'mechanism', 'result']);
  // The inner handler stands for the dispatcher: it drives the session as the SASL handlers do.
  let token = Buffer.alloc(0);
  const inner: FrameHandler = async (f) => {
    const key = f.readInt16BE(0);
    if (key === 17) session.handshake('PLAIN', f.readInt16BE(2));
    if (key === 36) await session.authenticate(token, 1);
    return [Buffer.from([key])];
  };
  const gate = authGate(inner, { failedAuthenticationDelayMs: 0, maxReceiveBeforeAuth: 64, logger, authentications: counter });
  return {
    gate: (f: Buffer) => gate(f, connection, false),
    setToken: (t: string) => (token = Buffer.from(t)),
    security,
    session,
    lines,
    registry,
    ended: () => ended,
    advance: (ms: number) => (now += ms),
  };
}

describe('SASL gate', () => {
  it('lets only ApiVersions and SaslHandshake through before the handshake, then only SaslAuthenticate', async () => {
    const t = setup();
    await expect(t.gate(frame(3))).rejects.toBeInstanceOf(ProtocolViolation);
    await expect(t.gate(frame(0))).rejects.toThrow(/Produce during SASL handshake/);
    expect(await t.gate(frame(18))).toEqual([Buffer.from([18])]);
    expect(await t.gate(frame(17))).toEqual([Buffer.from([17])]);
    await expect(t.gate(frame(3))).rejects.toThrow(/Metadata during SASL authentication/);
    await expect(t.gate(Buffer.alloc(65))).rejects.toThrow(/before authentication/);
  });

  it('puts the user on the connection once authenticated and lets every request through', async () => {
    const t = setup();
    await t.gate(frame(17));
    t.setToken(`\u0000alice\u0000${SECRET}`);
    await t.gate(frame(36));
    expect(t.security.principal).toEqual({ type: 'User', name: 'alice' });
    expect(await t.gate(frame(0))).toEqual([Buffer.from([0])]);
    expect(await t.registry.metrics()).toContain('auth_total{listener="SASL_PLAINTEXT",mechanism="PLAIN",result="success"} 1');
  });

  it('answers a failure, logs it without the password, counts it, ends the connection and refuses what follows', async () => {
    const t = setup();
    await t.gate(frame(17));
    const wrong = 'not the secret at all';
    t.setToken(`\u0000alice\u0000${wrong}`);
    expect(await t.gate(frame(36))).toEqual([Buffer.from([36])]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.ended()).toBeGreaterThan(0);
    expect(t.security.principal).toBe(ANONYMOUS);
    const log = t.lines.join('');
    expect(log).toContain('wrong password for alice');
    expect(log).not.toContain(wrong);
    expect(log).not.toContain(SECRET);
    expect(await t.registry.metrics()).toContain('auth_total{listener="SASL_PLAINTEXT",mechanism="PLAIN",result="failure"} 1');
    await expect(t.gate(frame(18))).rejects.toThrow(/after a failed authentication/);
  });

  it('closes a connection whose session expired at its next request, unless it re-authenticates first', async () => {
    const t = setup(1000);
    await t.gate(frame(17));
    t.setToken(`\u0000alice\u0000${SECRET}`);
    await t.gate(frame(36));
    t.advance(999);
    expect(await t.gate(frame(3))).toEqual([Buffer.from([3])]);
    t.advance(1);
    // Re-authentication: a handshake is let through on an expired session.
    await t.gate(frame(17));
    await t.gate(frame(36));
    expect(await t.gate(frame(3))).toEqual([Buffer.from([3])]);
    t.advance(1000);
    await expect(t.gate(frame(3))).rejects.toThrow(/expired/);
  });
});
