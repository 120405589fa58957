/**
 * Command-line parsing for `kafka-mysql`: `--flag value`, `--flag=value`, boolean flags, and
 * flags that may repeat (collected in order). Unknown flags are usage errors (exit code 2).
 */
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
  values: ['--bootstrap-server', '--config'],
  repeatable: ['--set'],
};

export function parseArgs(argv: string[], spec: ArgSpec): ParsedArgs {
  const booleans = new Set([...(spec.booleans ?? []), ...GLOBAL.booleans]);
  const values = new Set([...(spec.values ?? []), ...(spec.repeatable ?? []), ...GLOBAL.values, ...GLOBAL.repeatable]);
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (booleans.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags.set(name, ['true']);
    } else if (values.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, [...(flags.get(name) ?? []), value]);
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
