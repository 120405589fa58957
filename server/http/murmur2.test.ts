import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './murmur2.js';

describe('murmur2', () => {
  it('matches the values of Kafka\'s own test of Utils.murmur2', () => {
    // Vectors from Apache Kafka's UtilsTest.testMurmur2 (clients module).
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });

  it('maps a key to a partition in range, negative hashes included', () => {
    // -790332482 & 0x7fffffff = 1357151166; mod 7 = 3
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe(1357151166 % 7);
    expect(partitionForKey(Buffer.alloc(0), 3)).toBeGreaterThanOrEqual(0);
  });
});
