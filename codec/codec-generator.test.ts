import { describe, expect, it } from 'vitest';
import { camelCase, intersect, kebabCase, MAX_VERSION, parseRange, stripComments } from './generator/spec.js';

describe('generator spec parsing', () => {
  it('strips // comments but not // inside strings', () => {
    const text = '// licence\n{ "a": "http://x//y", // trailing\n "b": "q\\"//" }\n';
    expect(JSON.parse(stripComments(text))).toEqual({ a: 'http://x//y', b: 'q"//' });
  });

  it('parses version ranges', () => {
    expect(parseRange('3+')).toEqual({ lo: 3, hi: MAX_VERSION });
    expect(parseRange('0-7')).toEqual({ lo: 0, hi: 7 });
    expect(parseRange('5')).toEqual({ lo: 5, hi: 5 });
    expect(parseRange('none')).toBeNull();
    expect(() => parseRange('1-')).toThrow(/bad version range/);
    expect(intersect(parseRange('3+'), parseRange('0-4'))).toEqual({ lo: 3, hi: 4 });
    expect(intersect(parseRange('5+'), parseRange('0-4'))).toBeNull();
  });

  it('names files and fields', () => {
    expect(kebabCase('ApiVersions')).toBe('api-versions');
    expect(kebabCase('DescribeUserScramCredentials')).toBe('describe-user-scram-credentials');
    expect(kebabCase('OffsetForLeaderEpoch')).toBe('offset-for-leader-epoch');
    expect(camelCase('TopicData')).toBe('topicData');
    expect(camelCase('ProducerId')).toBe('producerId');
  });
});
