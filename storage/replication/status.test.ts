import { describe, expect, it } from 'vitest';
import { configuredServerGroups, gtidsMissingFrom, transactionsBehind, urlAt } from './status.js';

describe('gtidsMissingFrom (shards rejoin divergence check)', () => {
  it('finds nothing when the server history is a prefix of the primary history', () => {
    // The old primary (server 1) wrote up to 95, the replica (server 2) took over from there.
    expect(gtidsMissingFrom('0-1-95', '0-1-95,0-2-120')).toEqual([]);
    expect(gtidsMissingFrom('', '0-2-3')).toEqual([]);
  });

  it('names a transaction past what the primary has from the same server', () => {
    // 96..100 were in server 1 binlog when it died, never acknowledged; the primary went on as server 2.
    expect(gtidsMissingFrom('0-1-100', '0-1-95,0-2-120')).toEqual(['0-1-100 (the primary has 0-1 up to 0-1-95)']);
  });

  it('names a server or domain the primary never heard of', () => {
    expect(gtidsMissingFrom('0-1-5,1-1-2', '0-1-5')).toEqual(['1-1-2 (the primary has nothing from server 1 in domain 1)']);
  });
});

describe('transactionsBehind', () => {
  it('sums per domain the primary last sequence minus the replica', () => {
    expect(transactionsBehind('0-2-120', '0-2-117')).toBe(3);
    expect(transactionsBehind('0-2-120,1-2-10', '0-2-120')).toBe(10);
    expect(transactionsBehind('0-2-120', '0-2-125')).toBe(0);
    expect(transactionsBehind('0-2-7', '')).toBe(7);
  });
});

describe('configuredServerGroups', () => {
  it('groups the metadata database with the shards on the same server and keeps the replicas', () => {
    const groups = configuredServerGroups('mysql://u:p@db1:3306/kafka?replica=db2:3306', [
      'mysql://u:p@db1:3306/kafka?replica=db2:3306',
      'mysql://u:p@db3:3307/kafka?replica=db4:3307&replica=db5:3307',
    ]);
    expect(groups.map((g) => [g.name, g.shards, g.replicas.length])).toEqual([
      ['metadata database', [0], 1],
      ['shard 1', [1], 2],
    ]);
  });

  it('urlAt keeps user, password and database and moves host and port', () => {
    expect(urlAt('mysql://u:p@db1:3306/kafka?replica=db2:3306', 'db2:3310')).toBe('mysql://u:p@db2:3310/kafka');
  });
});
