/**
 * Reads Apache Kafka's JSON message definitions and turns them into a small model the
 * emitters walk: messages, structs (named `<MessageName><StructType>`), fields with their
 * version ranges resolved.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Highest version a `N+` range reaches (versions are int16 on the wire). */
export const MAX_VERSION = 0x7fff;

export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export type Prim =
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

const PRIMS: ReadonlySet<string> = new Set<Prim>([
  'int8',
  'int16',
  'uint16',
  'int32',
  'int64',
  'float64',
  'bool',
  'string',
  'bytes',
  'uuid',
  'records',
]);

export type FieldType =
  | { readonly kind: 'prim'; readonly prim: Prim }
  | { readonly kind: 'array'; readonly elem: FieldType }
  | { readonly kind: 'struct'; readonly struct: StructDef };

export interface FieldDef {
  readonly jsonName: string;
  /** camelCase property name */
  readonly name: string;
  readonly type: FieldType;
  readonly versions: Range | null;
  readonly nullable: Range | null;
  readonly tagged: Range | null;
  readonly tag: number | undefined;
  /** field-level flexibleVersions override (only RequestHeader.ClientId uses it) */
  readonly flexible: Range | null | undefined;
  readonly rawDefault: string | number | boolean | undefined;
}

export interface StructDef {
  /** TypeScript interface name */
  readonly tsName: string;
  readonly fields: FieldDef[];
}

export interface MessageDef {
  readonly name: string;
  readonly kind: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | undefined;
  readonly valid: Range;
  readonly flexible: Range | null;
  readonly listeners: readonly string[];
  readonly latestVersionUnstable: boolean;
  readonly root: StructDef;
  /** every struct of the message, root first, then in order of definition */
  readonly structs: StructDef[];
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: RawField[];
}

interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  listeners?: string[];
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
}

/** Removes `//` line comments that are not inside a string literal. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function parseRange(s: string | undefined): Range | null {
  if (s === undefined || s === 'none') return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: MAX_VERSION };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`bad version range: ${s}`);
}

export function intersect(a: Range | null, b: Range | null): Range | null {
  if (a === null || b === null) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

export function contains(r: Range | null, v: number): boolean {
  return r !== null && v >= r.lo && v <= r.hi;
}

export function camelCase(jsonName: string): string {
  return jsonName.charAt(0).toLowerCase() + jsonName.slice(1);
}

/** `ApiVersions` -> `api-versions`, `DescribeUserScramCredentials` -> `describe-user-scram-credentials`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function baseType(type: string): { isArray: boolean; base: string } {
  return type.startsWith('[]') ? { isArray: true, base: type.slice(2) } : { isArray: false, base: type };
}

function isStructName(base: string): boolean {
  return /^[A-Z]/.test(base);
}

function buildMessage(raw: RawMessage): MessageDef {
  const valid = parseRange(raw.validVersions);
  if (valid === null) throw new Error(`${raw.name}: no valid versions`);
  // Collect struct definitions (inline ones and commonStructs) by their spec type name.
  const rawStructs = new Map<string, RawField[]>();
  const defineOrder: string[] = [];
  const collect = (fields: RawField[]): void => {
    for (const f of fields) {
      const { base } = baseType(f.type);
      if (f.fields !== undefined) {
        if (!isStructName(base)) throw new Error(`${raw.name}.${f.name}: fields on non-struct ${f.type}`);
        if (rawStructs.has(base)) throw new Error(`${raw.name}: struct ${base} defined twice`);
        rawStructs.set(base, f.fields);
        defineOrder.push(base);
        collect(f.fields);
      }
    }
  };
  collect(raw.fields);
  for (const cs of raw.commonStructs ?? []) {
    if (rawStructs.has(cs.name)) throw new Error(`${raw.name}: struct ${cs.name} defined twice`);
    rawStructs.set(cs.name, cs.fields);
    defineOrder.push(cs.name);
    collect(cs.fields);
  }

  const built = new Map<string, StructDef>();
  const structs: StructDef[] = [];
  const building = new Set<string>();

  const buildFields = (fields: RawField[], where: string): FieldDef[] =>
    fields.map((f) => buildField(f, `${where}.${f.name}`));

  const structFor = (typeName: string): StructDef => {
    const done = built.get(typeName);
    if (done) return done;
    const fields = rawStructs.get(typeName);
    if (fields === undefined) throw new Error(`${raw.name}: unknown struct type ${typeName}`);
    if (building.has(typeName)) throw new Error(`${raw.name}: recursive struct ${typeName}`);
    building.add(typeName);
    const def: StructDef = { tsName: raw.name + typeName, fields: [] };
    built.set(typeName, def);
    def.fields.push(...buildFields(fields, typeName));
    building.delete(typeName);
    return def;
  };

  const typeOf = (type: string): FieldType => {
    const { isArray, base } = baseType(type);
    let t: FieldType;
    if (PRIMS.has(base)) t = { kind: 'prim', prim: base as Prim };
    else if (isStructName(base)) t = { kind: 'struct', struct: structFor(base) };
    else throw new Error(`${raw.name}: unknown type ${type}`);
    return isArray ? { kind: 'array', elem: t } : t;
  };

  const buildField = (f: RawField, where: string): FieldDef => {
    const versions = parseRange(f.versions);
    if (versions === null && f.versions !== 'none') throw new Error(`${raw.name} ${where}: no versions`);
    const tagged = parseRange(f.taggedVersions);
    if ((tagged === null) !== (f.tag === undefined)) throw new Error(`${raw.name} ${where}: tag without taggedVersions`);
    if (tagged !== null) {
      // Only the case found in the specs is supported: tagged in every version it exists in.
      const v = intersect(versions, valid);
      const t = intersect(tagged, valid);
      if (v === null || t === null || v.lo !== t.lo || v.hi !== t.hi) {
        throw new Error(`${raw.name} ${where}: taggedVersions must equal versions`);
      }
    }
    const field: FieldDef = {
      jsonName: f.name,
      name: camelCase(f.name),
      type: typeOf(f.type),
      versions,
      nullable: parseRange(f.nullableVersions),
      tagged,
      tag: f.tag,
      flexible: f.flexibleVersions === undefined ? undefined : parseRange(f.flexibleVersions),
      rawDefault: f.default,
    };
    if (field.nullable !== null) {
      const t = field.type;
      const ok =
        t.kind === 'array' ||
        t.kind === 'struct' ||
        (t.kind === 'prim' && (t.prim === 'string' || t.prim === 'bytes' || t.prim === 'records'));
      if (!ok) throw new Error(`${raw.name} ${where}: nullable ${f.type}`);
    }
    return field;
  };

  const root: StructDef = { tsName: raw.name, fields: buildFields(raw.fields, raw.name) };
  structs.push(root);
  // Struct order: as defined in the file (depth first), so output is stable.
  for (const name of defineOrder) structs.push(structFor(name));
  const names = new Set<string>();
  for (const s of structs) {
    if (names.has(s.tsName)) throw new Error(`${raw.name}: duplicate struct name ${s.tsName}`);
    names.add(s.tsName);
  }

  const kind = raw.type;
  if (kind !== 'request' && kind !== 'response' && kind !== 'header' && kind !== 'data') {
    throw new Error(`${raw.name}: unknown message type ${kind}`);
  }
  return {
    name: raw.name,
    kind,
    apiKey: raw.apiKey,
    valid,
    flexible: parseRange(raw.flexibleVersions),
    listeners: raw.listeners ?? [],
    latestVersionUnstable: raw.latestVersionUnstable ?? false,
    root,
    structs,
  };
}

export function loadSpecs(dir: string): MessageDef[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((f) => {
    const raw = JSON.parse(stripComments(readFileSync(join(dir, f), 'utf8'))) as RawMessage;
    try {
      return buildMessage(raw);
    } catch (e) {
      throw new Error(`${f}: ${(e as Error).message}`);
    }
  });
}
