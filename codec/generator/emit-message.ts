/**
 * Emits TypeScript for one message: an interface per struct, `create*` default
 * constructors, and straight-line `decode*` / `encode*` functions with `version` branches.
 */
import { intersect, MAX_VERSION, type FieldDef, type FieldType, type MessageDef, type Range, type StructDef } from './spec.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** What a generated file needs to import. */
export interface Imports {
  decodeError: boolean;
  writerValue: boolean;
}

class Ctx {
  readonly flexCond: string;
  /** structs whose isDefault function is needed (tagged struct fields) */
  readonly needIsDefault = new Set<StructDef>();
  constructor(
    readonly msg: MessageDef,
    readonly imports: Imports,
  ) {
    this.flexCond = this.cond(msg.flexible);
  }

  /** A JS condition on `version` true exactly for `range` within the message's valid versions. */
  /**
   * A JS condition on `version` true exactly for `range`, given that the version is already
   * known to lie in `within` (the message's valid versions unless narrower).
   */
  cond(range: Range | null, within: Range = this.msg.valid): string {
    const w = intersect(within, this.msg.valid);
    const r = intersect(range, w);
    if (r === null || w === null) return 'false';
    const parts: string[] = [];
    if (r.lo > w.lo) parts.push(`version >= ${r.lo}`);
    if (r.hi < w.hi) parts.push(`version <= ${r.hi}`);
    return parts.length === 0 ? 'true' : parts.join(' && ');
  }

  /** The struct-level flexible condition: a constant or the `flexible` local. */
  get flexSym(): string {
    return isConst(this.flexCond) ? this.flexCond : 'flexible';
  }

  /** Versions in which field `f` is present. */
  within(f: FieldDef): Range {
    return intersect(f.versions, this.msg.valid) ?? this.msg.valid;
  }

  /** Condition (inside the field's versions) for compact encoding of this field. */
  fieldFlex(f: FieldDef): string {
    const flex = f.flexible !== undefined ? intersect(this.msg.flexible, f.flexible) : this.msg.flexible;
    const c = this.cond(flex, this.within(f));
    return c === this.flexCond && !isConst(c) ? 'flexible' : c;
  }

  /** Condition, inside the flexible versions, for field `f` being a tagged field. */
  taggedCond(f: FieldDef): string {
    return this.cond(f.tagged, this.msg.flexible ?? this.msg.valid);
  }

  /** Condition (inside the field's versions) for a null value being allowed. */
  fieldNullable(f: FieldDef): string {
    return this.cond(f.nullable, this.within(f));
  }
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function isConst(c: string): boolean {
  return c === 'true' || c === 'false';
}

function ifElse(c: string, a: string, b: string): string {
  if (c === 'true' || a === b) return a;
  if (c === 'false') return b;
  return `(${c} ? ${a} : ${b})`;
}

function stmtIf(c: string, a: string[], b: string[] = []): string[] {
  if (c === 'true') return a;
  if (c === 'false') return b;
  if (a.join('\n') === b.join('\n')) return a;
  const out = [`if (${c}) {`, ...indent(unwrap(a)), '}'];
  if (b.length > 0) out.push('else {', ...indent(unwrap(b)), '}');
  return joinElse(out);
}

/** A lone `{ ... }` block (inner lines indented) needs no braces of its own inside an if. */
function unwrap(lines: string[]): string[] {
  if (lines.length >= 2 && lines[0] === '{' && lines[lines.length - 1] === '}') {
    return lines.slice(1, -1).map((l) => l.slice(2));
  }
  return lines;
}

/** Turns `}` + `else {` into `} else {`. */
function joinElse(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l === 'else {' && out.length > 0 && out[out.length - 1] === '}') out[out.length - 1] = '} else {';
    else out.push(l);
  }
  return out;
}

function indent(lines: string[]): string[] {
  return lines.map((l) => (l === '' ? l : `  ${l}`));
}

function isNullableType(f: FieldDef): boolean {
  return f.nullable !== null;
}

export function tsType(t: FieldType, nullable: boolean): string {
  let s: string;
  switch (t.kind) {
    case 'prim':
      switch (t.prim) {
        case 'int64':
          s = 'bigint';
          break;
        case 'bool':
          s = 'boolean';
          break;
        case 'string':
        case 'uuid':
          s = 'string';
          break;
        case 'bytes':
          s = 'Buffer';
          break;
        case 'records':
          s = 'Buffer | readonly Buffer[]';
          break;
        default:
          s = 'number';
      }
      break;
    case 'array': {
      const e = tsType(t.elem, false);
      s = e.includes(' ') ? `(${e})[]` : `${e}[]`;
      break;
    }
    case 'struct':
      s = t.struct.tsName;
  }
  return nullable ? `${s} | null` : s;
}

function fieldTsType(f: FieldDef): string {
  return tsType(f.type, isNullableType(f));
}

function parseIntDefault(f: FieldDef): number {
  const raw = f.rawDefault ?? 0;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${f.jsonName}: bad integer default ${String(raw)}`);
  return n;
}

/** The expression a field takes when absent: spec default, else the type's zero (null when nullable). */
export function defaultExpr(f: FieldDef): string {
  const t = f.type;
  const raw = f.rawDefault;
  const nullDefault = raw === 'null' || (raw === undefined && isNullableType(f));
  if (nullDefault && t.kind !== 'prim') return 'null';
  switch (t.kind) {
    case 'array':
      return '[]';
    case 'struct':
      return `create${t.struct.tsName}()`;
    case 'prim':
      switch (t.prim) {
        case 'int8':
        case 'int16':
        case 'uint16':
        case 'int32':
          return String(parseIntDefault(f));
        case 'int64': {
          const r = raw ?? 0;
          const s = typeof r === 'string' && /^-?0x/i.test(r) ? r : String(r);
          const n = s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
          return `${n}n`;
        }
        case 'float64': {
          const n = Number(raw ?? 0);
          if (Number.isNaN(n)) throw new Error(`${f.jsonName}: bad float default`);
          return String(n);
        }
        case 'bool':
          return raw === true || raw === 'true' ? 'true' : 'false';
        case 'string':
          if (nullDefault) {
            if (!isNullableType(f)) throw new Error(`${f.jsonName}: null default on non-nullable string`);
            return 'null';
          }
          return quote(String(raw ?? ''));
        case 'uuid':
          if (raw !== undefined) throw new Error(`${f.jsonName}: uuid default not supported`);
          return `'${ZERO_UUID}'`;
        case 'bytes':
        case 'records':
          if (nullDefault) return 'null';
          if (raw !== undefined) throw new Error(`${f.jsonName}: bytes default not supported`);
          return 'Buffer.alloc(0)';
      }
  }
}

/** An expression true when `v` equals the field's default (used to omit tagged fields). */
function isDefaultExpr(ctx: Ctx, f: FieldDef, v: string): string {
  const d = defaultExpr(f);
  if (d === 'null') return `${v} === null`;
  const nn = isNullableType(f) ? `${v} !== null && ` : '';
  if (d === '[]' || d === 'Buffer.alloc(0)') return `${nn}${v}.length === 0`;
  if (f.type.kind === 'struct') {
    ctx.needIsDefault.add(f.type.struct);
    return `${nn}isDefault${f.type.struct.tsName}(${v})`;
  }
  return `${v} === ${d}`;
}

function structMinSize(ctx: Ctx, s: StructDef, version: number, seen: Set<StructDef>): number {
  let n = versionIn(ctx.msg.flexible, version) ? 1 : 0;
  if (seen.has(s)) return n;
  seen.add(s);
  for (const f of s.fields) {
    if (!versionIn(f.versions, version) || versionIn(f.tagged, version)) continue;
    n += fieldMinSize(ctx, f.type, versionIn(f.nullable, version), fieldCompact(ctx, f, version), version, seen);
  }
  seen.delete(s);
  return n;
}

function versionIn(r: Range | null, v: number): boolean {
  return r !== null && v >= r.lo && v <= r.hi;
}

function fieldCompact(ctx: Ctx, f: FieldDef, version: number): boolean {
  const flex = versionIn(ctx.msg.flexible, version);
  return f.flexible === undefined ? flex : flex && versionIn(f.flexible, version);
}

function fieldMinSize(ctx: Ctx, t: FieldType, nullable: boolean, compact: boolean, version: number, seen: Set<StructDef>): number {
  switch (t.kind) {
    case 'array':
      return compact ? 1 : 4;
    case 'struct':
      return nullable ? 1 : structMinSize(ctx, t.struct, version, seen);
    case 'prim':
      switch (t.prim) {
        case 'int8':
        case 'bool':
          return 1;
        case 'int16':
        case 'uint16':
          return 2;
        case 'int32':
          return 4;
        case 'int64':
        case 'float64':
          return 8;
        case 'uuid':
          return 16;
        case 'string':
          return compact ? 1 : 2;
        case 'bytes':
        case 'records':
          return compact ? 1 : 4;
      }
  }
}

/** Smallest encoded size of one element of array field `f` over the versions it exists in. */
function arrayElemMin(ctx: Ctx, f: FieldDef, elem: FieldType): number {
  const r = intersect(f.versions, ctx.msg.valid);
  if (r === null) return 1;
  let min = Number.MAX_SAFE_INTEGER;
  for (let v = r.lo; v <= Math.min(r.hi, MAX_VERSION); v++) {
    min = Math.min(min, fieldMinSize(ctx, elem, false, fieldCompact(ctx, f, v), v, new Set()));
  }
  return Math.max(1, min);
}

// ---- decode ----

function decodeScalar(t: FieldType, nullCond: string, flex: string): string {
  if (t.kind === 'struct') {
    const d = `decode${t.struct.tsName}(r, version)`;
    return ifElse(nullCond, `(r.int8() < 0 ? null : ${d})`, d);
  }
  if (t.kind === 'array') throw new Error('array is not a scalar');
  switch (t.prim) {
    case 'string':
      return ifElse(
        flex,
        ifElse(nullCond, 'r.compactNullableString()', 'r.compactString()'),
        ifElse(nullCond, 'r.nullableString()', 'r.string()'),
      );
    case 'bytes':
    case 'records':
      return ifElse(
        flex,
        ifElse(nullCond, 'r.compactNullableBytes()', 'r.compactBytes()'),
        ifElse(nullCond, 'r.nullableBytes()', 'r.bytes()'),
      );
    default:
      return `r.${t.prim}()`;
  }
}

function decodeField(ctx: Ctx, f: FieldDef, target: string): string[] {
  const nullCond = ctx.fieldNullable(f);
  const flex = ctx.fieldFlex(f);
  if (f.type.kind !== 'array') return [`${target} = ${decodeScalar(f.type, nullCond, flex)};`];
  const elem = f.type.elem;
  const min = arrayElemMin(ctx, f, elem);
  const onNull = isNullableType(f)
    ? stmtIf(nullCond, [`${target} = null;`], [nullArrayThrow(ctx, f)])
    : [nullArrayThrow(ctx, f)];
  return [
    '{',
    ...indent([
      `const n = ${ifElse(flex, `r.compactArrayLength(${min})`, `r.arrayLength(${min})`)};`,
      'if (n < 0) {',
      ...indent(onNull),
      '} else {',
      ...indent([
        `const a: ${tsType(f.type, false)} = [];`,
        `for (let i = 0; i < n; i++) a.push(${decodeScalar(elem, 'false', flex)});`,
        `${target} = a;`,
      ]),
      '}',
    ]),
    '}',
  ];
}

function nullArrayThrow(ctx: Ctx, f: FieldDef): string {
  ctx.imports.decodeError = true;
  return `throw new DecodeError('null array for non-nullable field ${f.jsonName}');`;
}

function emitDecode(ctx: Ctx, s: StructDef): string[] {
  const body: string[] = [];
  if (!isConst(ctx.flexCond)) body.push(`const flexible = ${ctx.flexCond};`);
  const tagged: FieldDef[] = [];
  for (const f of s.fields) {
    const local = `_${f.name}`;
    const type = fieldTsType(f);
    if (f.tagged !== null && ctx.cond(f.tagged) !== 'false') {
      tagged.push(f);
      body.push(`let ${local}: ${type} = ${defaultExpr(f)};`);
      continue;
    }
    const c = ctx.cond(f.versions);
    if (c === 'true' && f.type.kind !== 'array') {
      body.push(`const ${local}: ${type} = ${decodeScalar(f.type, ctx.fieldNullable(f), ctx.fieldFlex(f))};`);
    } else if (c === 'true') {
      body.push(`let ${local}: ${type};`, ...decodeField(ctx, f, local));
    } else {
      body.push(`let ${local}: ${type} = ${defaultExpr(f)};`, ...stmtIf(c, decodeField(ctx, f, local)));
    }
  }
  if (tagged.length > 0) {
    const cases: string[] = [];
    for (const f of [...tagged].sort((a, b) => a.tag! - b.tag!)) {
      cases.push(`case ${f.tag}:`, ...indent([...stmtIf(ctx.taggedCond(f), decodeField(ctx, f, `_${f.name}`)), 'break;']));
    }
    body.push(
      ...stmtIf(ctx.flexSym, [
        'const numTagged = r.uvarint();',
        'for (let t = 0; t < numTagged; t++) {',
        ...indent([
          'const tag = r.uvarint();',
          'const end = r.taggedFieldEnd();',
          'switch (tag) {',
          ...indent(cases),
          '}',
          'r.endTaggedField(end);',
        ]),
        '}',
      ]),
    );
  } else {
    body.push(...stmtIf(ctx.flexSym, ['r.skipTaggedFields();']));
  }
  body.push('return {', ...indent(s.fields.map((f) => `${f.name}: _${f.name},`)), '};');
  return [`export function decode${s.tsName}(r: Reader, version: number): ${s.tsName} {`, ...indent(body), '}'];
}

// ---- encode ----

function encodeScalar(t: FieldType, v: string, nullCond: string, flex: string, w: string, typeNullable: boolean): string[] {
  if (t.kind === 'struct') {
    const enc = (x: string): string => `encode${t.struct.tsName}(${w}, ${x}, version);`;
    const notNull = [typeNullable ? enc(`${v} ?? create${t.struct.tsName}()`) : enc(v)];
    return stmtIf(
      nullCond,
      [`if (${v} === null) {`, `  ${w}.int8(-1);`, '} else {', `  ${w}.int8(1);`, `  ${enc(v)}`, '}'],
      notNull,
    );
  }
  if (t.kind === 'array') throw new Error('array is not a scalar');
  const pick = (nullableName: string, name: string, empty: string): string[] => {
    const notNull = `${w}.${name}(${typeNullable ? `${v} ?? ${empty}` : v});`;
    return stmtIf(nullCond, [`${w}.${nullableName}(${v});`], [notNull]);
  };
  switch (t.prim) {
    case 'string':
      return stmtIf(flex, pick('compactNullableString', 'compactString', "''"), pick('nullableString', 'string', "''"));
    case 'bytes':
    case 'records':
      return stmtIf(flex, pick('compactNullableBytes', 'compactBytes', '[]'), pick('nullableBytes', 'bytes', '[]'));
    default:
      return [`${w}.${t.prim}(${v});`];
  }
}

function encodeField(ctx: Ctx, f: FieldDef, v: string, w: string): string[] {
  const nullCond = ctx.fieldNullable(f);
  const flex = ctx.fieldFlex(f);
  if (f.type.kind !== 'array') return encodeScalar(f.type, v, nullCond, flex, w, isNullableType(f));
  const elem = f.type.elem;
  const writeLen = (n: string): string[] => stmtIf(flex, [`${w}.compactArrayLength(${n});`], [`${w}.arrayLength(${n});`]);
  const loop = [...writeLen('a.length'), `for (const e of a) {`, ...indent(encodeScalar(elem, 'e', 'false', flex, w, false)), '}'];
  if (!isNullableType(f)) return ['{', ...indent([`const a = ${v};`, ...loop]), '}'];
  // A null array in a version where it is not nullable is written as empty.
  const onNull = stmtIf(nullCond, writeLen('-1'), writeLen('0'));
  return ['{', ...indent([`const a = ${v};`, 'if (a === null) {', ...indent(onNull), '} else {', ...indent(loop), '}']), '}'];
}

function emitEncode(ctx: Ctx, s: StructDef): string[] {
  const body: string[] = [];
  if (!isConst(ctx.flexCond)) body.push(`const flexible = ${ctx.flexCond};`);
  const tagged: FieldDef[] = [];
  for (const f of s.fields) {
    if (f.tagged !== null && ctx.cond(f.tagged) !== 'false') {
      tagged.push(f);
      continue;
    }
    body.push(...stmtIf(ctx.cond(f.versions), encodeField(ctx, f, `m.${f.name}`, 'w')));
  }
  if (tagged.length > 0) {
    ctx.imports.writerValue = true;
    const sorted = [...tagged].sort((a, b) => a.tag! - b.tag!);
    const inner: string[] = ['let numTagged = 0;'];
    for (const f of sorted) {
      const c = ctx.taggedCond(f);
      const nd = `!(${isDefaultExpr(ctx, f, `m.${f.name}`)})`;
      inner.push(`const t${f.tag} = ${c === 'true' ? nd : `${c} && ${nd}`};`, `if (t${f.tag}) numTagged++;`);
    }
    inner.push('w.uvarint(numTagged);');
    for (const f of sorted) {
      inner.push(
        `if (t${f.tag}) {`,
        ...indent(['const tw = new Writer(64);', ...encodeField(ctx, f, `m.${f.name}`, 'tw'), `w.taggedField(${f.tag}, tw);`]),
        '}',
      );
    }
    body.push(...stmtIf(ctx.flexSym, inner));
  } else {
    body.push(...stmtIf(ctx.flexSym, ['w.uvarint(0);']));
  }
  return [`export function encode${s.tsName}(w: Writer, m: ${s.tsName}, version: number): void {`, ...indent(body), '}'];
}

// ---- interface, create, isDefault ----

function emitInterface(s: StructDef): string[] {
  return [`export interface ${s.tsName} {`, ...indent(s.fields.map((f) => `${f.name}: ${fieldTsType(f)};`)), '}'];
}

function emitCreate(s: StructDef): string[] {
  if (s.fields.length === 0) {
    return [`export function create${s.tsName}(_p: Partial<${s.tsName}> = {}): ${s.tsName} {`, '  return {};', '}'];
  }
  return [
    `/** A ${s.tsName} with every field at its default, overridden by \`p\`. */`,
    `export function create${s.tsName}(p: Partial<${s.tsName}> = {}): ${s.tsName} {`,
    '  return {',
    ...indent(indent(s.fields.map((f) => `${f.name}: p.${f.name} === undefined ? ${defaultExpr(f)} : p.${f.name},`))),
    '  };',
    '}',
  ];
}

function emitIsDefault(ctx: Ctx, s: StructDef): string[] {
  const parts = s.fields.map((f) => isDefaultExpr(ctx, f, `v.${f.name}`));
  const expr = parts.length === 0 ? 'true' : parts.map((p) => `(${p})`).join(' &&\n    ');
  return [`function isDefault${s.tsName}(v: ${s.tsName}): boolean {`, `  return ${expr};`, '}'];
}

/** Emits all code for one message; returns the lines and what they need imported. */
export function emitMessage(msg: MessageDef, imports: Imports): string[] {
  const ctx = new Ctx(msg, imports);
  const out: string[] = [];
  for (const s of msg.structs) out.push(...emitInterface(s), '');
  for (const s of msg.structs) out.push(...emitCreate(s), '');
  for (const s of msg.structs) out.push(...emitDecode(ctx, s), '');
  for (const s of msg.structs) out.push(...emitEncode(ctx, s), '');
  // isDefault helpers may pull in nested structs; emit until closed, in struct order.
  const emitted = new Set<StructDef>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of msg.structs) {
      if (ctx.needIsDefault.has(s) && !emitted.has(s)) {
        emitted.add(s);
        out.push(...emitIsDefault(ctx, s), '');
        changed = true;
      }
    }
  }
  return out;
}
