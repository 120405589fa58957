import { describe, expect, it } from 'vitest';
import { resolveStorageOptions } from '../options.js';
import { followPublishedPrimaries, type PublishedPrimary } from './published.js';

const options = () =>
  resolveStorageOptions({
    metadataUrl: 'mysql://u:p@db1:3306/kafka?replica=db2:3306&replica=db3:3306',
    shardUrls: ['mysql://u:p@db1:3306/kafka?replica=db2:3306&replica=db3:3306', 'mysql://u:p@db4:3306/logs?replica=db5:3306'],
  });

const records = (r: Record<string, PublishedPrimary>) => (group: string) => r[group] ?? null;

describe('followPublishedPrimaries (a broker started with the configuration from before a failover)', () => {
  it('moves every database of the group to the published primary; the configured one is fenced, the new one no replica', () => {
    const { options: o, start } = followPublishedPrimaries(options(), records({ 'metadata database': { primary: 'db3:3306', epoch: 2 } }));
    expect([o.metadataUrl, o.shardUrls[0], o.metadataReplicas, o.shardReplicas[0]]).toEqual([
      'mysql://u:p@db3:3306/kafka',
      'mysql://u:p@db3:3306/kafka',
      ['mysql://u:p@db2:3306/kafka'],
      ['mysql://u:p@db2:3306/kafka'],
    ]);
    expect([...start]).toEqual([['db3:3306', { epoch: 2, fenced: ['mysql://u:p@db1:3306/kafka'] }]]);
    // The other server group is untouched.
    expect([o.shardUrls[1], o.shardReplicas[1]]).toEqual(['mysql://u:p@db4:3306/logs', ['mysql://u:p@db5:3306/logs']]);
  });

  it('names a shard on its own server `shard N`, as the shard map does', () => {
    const { options: o } = followPublishedPrimaries(options(), records({ 'shard 1': { primary: 'db5:3306', epoch: 1 } }));
    expect([o.metadataUrl, o.shardUrls[1], o.shardReplicas[1]]).toEqual(['mysql://u:p@db1:3306/kafka', 'mysql://u:p@db5:3306/logs', []]);
  });

  it('keeps the configuration when the record names the configured primary or epoch 0, starting at the record epoch', () => {
    const same = followPublishedPrimaries(options(), records({ 'metadata database': { primary: 'db1:3306', epoch: 3 }, 'shard 1': { primary: 'db5:3306', epoch: 0 } }));
    expect([same.options.metadataUrl, same.options.shardUrls[1]]).toEqual(['mysql://u:p@db1:3306/kafka', 'mysql://u:p@db4:3306/logs']);
    expect([...same.start]).toEqual([['db1:3306', { epoch: 3, fenced: [] }]]);
    expect(followPublishedPrimaries(options(), undefined).options).toEqual(options());
  });
});
