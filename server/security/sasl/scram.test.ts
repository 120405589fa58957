import { describe, expect, it } from 'vitest';
import { scramCredential } from './credentials.js';
import { SaslFailure, type CredentialSource } from './mechanism.js';
import { decodeSaslName, ScramServer } from './scram.js';

// RFC 7677 section 3: user "user", password "pencil", 4096 iterations.
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const users: CredentialSource = {
  credential: async (user, mechanism) => (user === 'user' && mechanism === 'SCRAM-SHA-256' ? scramCredential('SCRAM-SHA-256', 'pencil', 4096, SALT) : null),
};
const server = () => new ScramServer('SCRAM-SHA-256', users, () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');

describe('SCRAM-SHA-256 server', () => {
  it('answers the RFC 7677 exchange with its server-first and server-final messages', async () => {
    const s = server();
    const first = await s.evaluate(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first.toString()).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await s.evaluate(Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    expect(final.toString()).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(s.complete).toBe(true);
    expect(s.authorizationId).toBe('user');
  });

  it('refuses a proof with one bit changed, a foreign nonce, a bad channel binding and an unknown user', async () => {
    const attempt = async (final: string) => {
      const s = server();
      await s.evaluate(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
      await expect(s.evaluate(Buffer.from(final))).rejects.toBeInstanceOf(SaslFailure);
      expect(s.complete).toBe(false);
    };
    await attempt('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=');
    await attempt('c=biws,r=rOprNGfwEbeRWgbNEkqOother,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    await attempt('c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    await attempt('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    await expect(server().evaluate(Buffer.from('n,,n=nobody,r=abc'))).rejects.toMatchObject({
      clientMessage: 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
    });
    await expect(server().evaluate(Buffer.from('p=tls-unique,,n=user,r=abc'))).rejects.toBeInstanceOf(SaslFailure);
    await expect(server().evaluate(Buffer.from('n,a=admin,n=user,r=abc'))).rejects.toBeInstanceOf(SaslFailure);
  });

  it('decodes saslname escapes and refuses a stray =', () => {
    expect(decodeSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(decodeSaslName('a=b')).toBeNull();
  });
});
