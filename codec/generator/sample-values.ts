/**
 * Test support: builds values for generated messages from the schema descriptor
 * (codec/generated/schemas.ts), independently of the generated `create*` functions, so
 * tests can round-trip every version of every message without ../shared.
 */
import type { FieldSchema, MessageSchema, StructSchema, VersionRange } from '../generated/schemas.js';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function inRange(r: VersionRange | null | undefined, v: number): boolean {
  return r !== null && r !== undefined && v >= r[0] && v <= r[1];
}

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The value a field takes when absent: the spec default, else the type's zero (null when nullable). */
export function defaultOf(f: FieldSchema): unknown {
  const raw = f.default;
  const nullable = f.nullableVersions !== null;
  const isNull = raw === 'null' || (raw === undefined && nullable);
  if (f.type.startsWith('[]')) return isNull ? null : [];
  switch (f.type) {
    case 'struct':
      return isNull ? null : defaultStruct(f.struct!);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'float64':
      return Number(raw ?? 0);
    case 'int64':
      return BigInt(raw ?? 0);
    case 'bool':
      return raw === true || raw === 'true';
    case 'string':
      return isNull ? null : String(raw ?? '');
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
    case 'records':
      return isNull ? null : Buffer.alloc(0);
    default:
      throw new Error(`unknown type ${f.type}`);
  }
}

export function defaultStruct(s: StructSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.name] = defaultOf(f);
  return out;
}

const CHARS = ['a', 'b', 'z', 'Q', '0', '-', '.', '_', ' ', 'é', '€', '𝄞', '中'];

function randomPrim(type: string, next: () => number): unknown {
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  switch (type) {
    case 'int8':
      return int(-128, 127);
    case 'int16':
      return int(-32768, 32767);
    case 'uint16':
      return int(0, 65535);
    case 'int32':
      return int(-2147483648, 2147483647);
    case 'int64':
      return BigInt.asIntN(64, (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff)));
    case 'float64':
      return (next() - 0.5) * 10 ** int(0, 12);
    case 'bool':
      return next() < 0.5;
    case 'string': {
      let s = '';
      const n = int(0, 8);
      for (let i = 0; i < n; i++) s += CHARS[int(0, CHARS.length - 1)];
      return s;
    }
    case 'uuid': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) b[i] = int(0, 255);
      return b.toString('base64url');
    }
    case 'bytes':
    case 'records': {
      const b = Buffer.alloc(int(0, 12));
      for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
      return b;
    }
    default:
      throw new Error(`unknown type ${type}`);
  }
}

/** A random value valid for `version`; absent fields hold their defaults. */
export function randomStruct(s: StructSchema, version: number, next: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) {
    out[f.name] = inRange(f.versions, version) ? randomField(f, version, next, depth) : defaultOf(f);
  }
  return out;
}

function randomField(f: FieldSchema, version: number, next: () => number, depth: number): unknown {
  if (inRange(f.nullableVersions, version) && next() < 0.2) return null;
  if (f.type.startsWith('[]')) {
    const elem = f.type.slice(2);
    const n = depth > 3 ? 0 : Math.floor(next() * 4);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      out.push(elem === 'struct' ? randomStruct(f.struct!, version, next, depth + 1) : randomPrim(elem, next));
    }
    return out;
  }
  if (f.type === 'struct') return randomStruct(f.struct!, version, next, depth + 1);
  return randomPrim(f.type, next);
}

export function versionsOf(m: MessageSchema): number[] {
  const out: number[] = [];
  for (let v = m.validVersions[0]; v <= m.validVersions[1]; v++) out.push(v);
  return out;
}
