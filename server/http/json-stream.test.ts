import { describe, expect, it } from 'vitest';
import { RestError } from './errors.js';
import { JsonObjectSplitter } from './json-stream.js';

const objects = [
  { value: { type: 'STRING', data: 'braces } { and ] [ in a string' } },
  { key: { type: 'STRING', data: 'quote \\" and backslash \\\\' }, headers: [{ name: 'h', value: null }] },
  { value: { type: 'JSON', data: { nested: [1, { deeper: ['x'] }], 'é': 'ü' } } },
];
const body = Buffer.from(objects.map((o) => JSON.stringify(o)).join('\n  \r\n\t'));

describe('JsonObjectSplitter', () => {
  it('finds the same objects however the stream is cut in two', () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const s = new JsonObjectSplitter(1 << 20);
      const texts = [...s.push(body.subarray(0, cut)), ...s.push(body.subarray(cut))];
      s.end();
      expect(texts.map((t) => JSON.parse(t)), `cut at ${cut}`).toEqual(objects);
    }
  });

  it('finds them fed one byte at a time', () => {
    const s = new JsonObjectSplitter(1 << 20);
    const texts: string[] = [];
    for (let i = 0; i < body.length; i++) texts.push(...s.push(body.subarray(i, i + 1)));
    expect(texts.map((t) => JSON.parse(t))).toEqual(objects);
  });

  it('refuses what cannot start an object, a body ending inside one, and an object over the limit', () => {
    expect(() => new JsonObjectSplitter(100).push(Buffer.from('{"a":1} [1]'))).toThrow(/expected '\{'/);
    const open = new JsonObjectSplitter(100);
    open.push(Buffer.from('{"a": "}'));
    expect(() => open.end()).toThrow(/ends inside a record/);
    const big = new JsonObjectSplitter(10);
    let error: unknown;
    try {
      big.push(Buffer.from('{"a": "'));
      big.push(Buffer.from('0123456789"}'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RestError);
    expect((error as RestError).status).toBe(413);
  });
});
