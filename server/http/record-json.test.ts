import { describe, expect, it } from 'vitest';
import { decodeBase64 } from './record-json.js';

describe('decodeBase64', () => {
  it('decodes padded standard base64', () => {
    expect(decodeBase64('v', 'aGVsbG8=')).toEqual(Buffer.from('hello'));
    expect(decodeBase64('v', 'aGk=')).toEqual(Buffer.from('hi'));
    expect(decodeBase64('v', 'aGV5')).toEqual(Buffer.from('hey'));
    expect(decodeBase64('v', '')).toEqual(Buffer.alloc(0));
    expect(decodeBase64('v', '+/+/')).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
  });

  it('refuses what Java\'s basic decoder refuses: other characters, whitespace, URL-safe letters, misplaced or missing padding', () => {
    for (const bad of ['AB!D', 'AB D', 'AB-_', 'AB_D', 'AA=A', 'A===', '====', 'AA==AAAA', 'aGVsbG8', 'aGk', 'aGVsbG8=\n', 42, null]) {
      expect(() => decodeBase64('value.data', bad), JSON.stringify(bad)).toThrow(/value.data must be base64 text/);
    }
  });
});
