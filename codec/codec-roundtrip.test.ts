import { describe, expect, it } from 'vitest';
import * as gen from './generated/index.js';
import { API_DEFINITIONS } from './generated/registry.js';
import { MESSAGE_SCHEMAS, type MessageSchema } from './generated/schemas.js';
import { defaultStruct, randomStruct, rng, seedOf, versionsOf } from './generator/sample-values.js';
import { DecodeError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

type Decode = (r: Reader, v: number) => unknown;
type Encode = (w: Writer, m: unknown, v: number) => void;

const fns = gen as unknown as Record<string, unknown>;

/** The codec pair for a message: through the registry for APIs, by name otherwise. */
function codecOf(m: MessageSchema): { decode: Decode; encode: Encode } {
  if (m.kind === 'request' || m.kind === 'response') {
    const def = API_DEFINITIONS.get(m.apiKey)!;
    return m.kind === 'request'
      ? { decode: def.decodeRequest, encode: def.encodeRequest }
      : { decode: def.decodeResponse, encode: def.encodeResponse };
  }
  return { decode: fns[`decode${m.name}`] as Decode, encode: fns[`encode${m.name}`] as Encode };
}

function encode(m: MessageSchema, value: unknown, version: number): Buffer {
  const w = new Writer(64);
  codecOf(m).encode(w, value, version);
  return w.toBuffer();
}

function decodeAll(m: MessageSchema, bytes: Buffer, version: number): unknown {
  const r = new Reader(bytes);
  const value = codecOf(m).decode(r, version);
  expect(r.remaining).toBe(0);
  return value;
}

describe('schema descriptor covers the protocol', () => {
  it('has a request and a response for all 88 API keys and both headers', () => {
    const requests = MESSAGE_SCHEMAS.filter((m) => m.kind === 'request').map((m) => m.apiKey);
    const responses = MESSAGE_SCHEMAS.filter((m) => m.kind === 'response').map((m) => m.apiKey);
    const keys = Array.from({ length: 88 }, (_, i) => i);
    expect([...requests].sort((a, b) => a - b)).toEqual(keys);
    expect([...responses].sort((a, b) => a - b)).toEqual(keys);
    expect([...API_DEFINITIONS.keys()]).toEqual(keys);
    expect(MESSAGE_SCHEMAS.filter((m) => m.kind === 'header').map((m) => m.name)).toEqual([
      'RequestHeader',
      'ResponseHeader',
    ]);
  });
});

describe.each(MESSAGE_SCHEMAS.map((m) => [m.name, m] as const))('%s', (_name, m) => {
  it('create*() gives every field its default, in declaration order', () => {
    const create = fns[`create${m.name}`] as () => Record<string, unknown>;
    const value = create();
    expect(value).toEqual(defaultStruct(m.root));
    expect(Object.keys(value)).toEqual(m.root.fields.map((f) => f.name));
  });

  it('round-trips random values in every version, byte-identical on re-encode', () => {
    for (const version of versionsOf(m)) {
      const next = rng(seedOf(`${m.name}/${version}`));
      for (let i = 0; i < 4; i++) {
        const value = randomStruct(m.root, version, next);
        const bytes = encode(m, value, version);
        const decoded = decodeAll(m, bytes, version) as Record<string, unknown>;
        expect(decoded, `${m.name} v${version}`).toEqual(value);
        expect(Object.keys(decoded)).toEqual(m.root.fields.map((f) => f.name));
        expect(encode(m, decoded, version).equals(bytes), `${m.name} v${version} re-encode`).toBe(true);
      }
    }
  });

  it('throws DecodeError for every truncation of an encoding (lowest and highest version)', () => {
    const versions = [...new Set([m.validVersions[0], m.validVersions[1]])];
    for (const version of versions) {
      const next = rng(seedOf(`${m.name}/truncate/${version}`));
      const bytes = encode(m, randomStruct(m.root, version, next), version);
      for (let n = 0; n < bytes.length; n++) {
        const prefix = Buffer.from(bytes.subarray(0, n));
        expect(() => codecOf(m).decode(new Reader(prefix), version), `${m.name} v${version} prefix ${n}`).toThrow(
          DecodeError,
        );
      }
    }
  });
});

describe('mutated encodings', () => {
  it('either decode or throw DecodeError, never another error', () => {
    const next = rng(12345);
    let decoded = 0;
    let rejected = 0;
    for (const m of MESSAGE_SCHEMAS) {
      const version = m.validVersions[1];
      const bytes = encode(m, randomStruct(m.root, version, next), version);
      if (bytes.length === 0) continue;
      for (let i = 0; i < 12; i++) {
        const copy = Buffer.from(bytes);
        const flips = 1 + Math.floor(next() * 3);
        for (let j = 0; j < flips; j++) copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
        try {
          codecOf(m).decode(new Reader(copy), version);
          decoded++;
        } catch (e) {
          expect(e, `${m.name} v${version} ${copy.toString('hex')}`).toBeInstanceOf(DecodeError);
          rejected++;
        }
      }
    }
    expect(decoded + rejected).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(0);
  });
});
