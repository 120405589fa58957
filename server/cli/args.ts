/**
 * Command-line parsing for `kafka-mysql`, on Node's util.parseArgs: `--flag value`,
 * `--flag=value`, boolean flags, flags that may repeat (collected in order), `--` ending the
 * options. util.parseArgs runs non-strict and this module applies the checks from its tokens,
 * because strict mode refuses a value that starts with a dash (`--shift-by -2`, as Kafka's
 * tools take it) and words its errors for Node rather than for this CLI. Unknown flags, single
 * dash ones included, are usage errors (exit code 2).
 */
import { parseArgs as parseTokens } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure of the operation itself (exit code 1), e.g. a Kafka error from the broker. */
export class CommandError extends Error {
  override name = 'CommandError';
}

export interface ArgSpec {
  /** Flags taking no value. */
  booleans?: readonly string[];
  /** Flags taking a value. */
  values?: readonly string[];
  /** Value flags that may repeat. */
  repeatable?: readonly string[];
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
  has(flag: string): boolean;
  /** Last value of a value flag, or undefined. */
  get(flag: string): string | undefined;
  all(flag: string): string[];
  /** A required value flag; UsageError when missing. */
  need(flag: string): string;
}

/** Options every command accepts. */
export const GLOBAL: Required<ArgSpec> = {
  booleans: ['--json', '--help'],
  values: ['--bootstrap-server', '--config', '--command-config'],
  repeatable: ['--set'],
};

export function parseArgs(argv: string[], spec: ArgSpec): ParsedArgs {
  const booleans = [...(spec.booleans ?? []), ...GLOBAL.booleans];
  const values = [...(spec.values ?? []), ...(spec.repeatable ?? []), ...GLOBAL.values, ...GLOBAL.repeatable];
  const options: Record<string, { type: 'boolean' | 'string'; multiple: true }> = {};
  for (const flag of booleans) options[flag.slice(2)] = { type: 'boolean', multiple: true };
  for (const flag of values) options[flag.slice(2)] = { type: 'string', multiple: true };
  const { tokens } = parseTokens({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positional.push(token.value);
    if (token.kind !== 'option') continue;
    const type = Object.hasOwn(options, token.name) && token.rawName.startsWith('--') ? options[token.name]!.type : undefined;
    const name = token.rawName;
    if (type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${name} takes no value`);
      flags.set(name, ['true']);
    } else if (type === 'string') {
      if (token.value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, [...(flags.get(name) ?? []), token.value]);
    } else {
      throw new UsageError(`unknown option '${name}'`);
    }
  }
  return {
    positional,
    flags,
    has: (f) => flags.has(f),
    get: (f) => flags.get(f)?.at(-1),
    all: (f) => flags.get(f) ?? [],
    need(f) {
      const v = flags.get(f)?.at(-1);
      if (v === undefined) throw new UsageError(`${f} is required`);
      return v;
    },
  };
}

/** `--set KEY=VALUE` pairs (also `--config-entry` style lists) into a record. */
export function parsePairs(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got '${item}'`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function parseInteger(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${flag} expects an integer, got '${value}'`);
  return Number(value);
}
