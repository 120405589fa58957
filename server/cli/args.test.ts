import { describe, expect, it } from 'vitest';
import { parseArgs, parseInteger, parsePairs, UsageError } from './args.js';

const spec = { booleans: ['--execute', '--all'], values: ['--group', '--shift-by'], repeatable: ['--topic'] };

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads positionals, --flag value, --flag=value, booleans and the global options in any order', () => {
    const args = parseArgs(['describe', '--group', 'g1', 'extra', '--execute', '--shift-by=-2', '--json', '--bootstrap-server', 'h:1'], spec);
    expect(args.positional).toEqual(['describe', 'extra']);
    expect([...args.flags]).toEqual([
      ['--group', ['g1']],
      ['--execute', ['true']],
      ['--shift-by', ['-2']],
      ['--json', ['true']],
      ['--bootstrap-server', ['h:1']],
    ]);
    expect(args.has('--execute')).toBe(true);
    expect(args.has('--all')).toBe(false);
    expect(args.get('--group')).toBe('g1');
    expect(args.get('--all')).toBeUndefined();
    expect(args.need('--bootstrap-server')).toBe('h:1');
  });

  it('takes a value that starts with a dash as the value (e.g. --shift-by -2), as Kafka tools do', () => {
    const args = parseArgs(['--shift-by', '-2', '--group', '--weird'], spec);
    expect(args.get('--shift-by')).toBe('-2');
    expect(args.get('--group')).toBe('--weird');
  });

  it('collects repeatable and repeated value flags in order; get() is the last one', () => {
    const args = parseArgs(['--topic', 'a', '--set', 'x=1', '--topic=b', '--group', 'g1', '--group', 'g2', '--set', 'y=2'], spec);
    expect(args.all('--topic')).toEqual(['a', 'b']);
    expect(args.all('--set')).toEqual(['x=1', 'y=2']);
    expect(args.all('--group')).toEqual(['g1', 'g2']);
    expect(args.get('--group')).toBe('g2');
    expect(args.all('--execute')).toEqual([]);
  });

  it('keeps an empty value given with =', () => {
    expect(parseArgs(['--group='], spec).get('--group')).toBe('');
  });

  it('refuses unknown options, values on booleans, missing values and missing required flags', () => {
    expect(usageError(() => parseArgs(['--nope'], spec))).toBe("unknown option '--nope'");
    expect(usageError(() => parseArgs(['--nope=1'], spec))).toBe("unknown option '--nope'");
    expect(usageError(() => parseArgs(['--execute=yes'], spec))).toBe('--execute takes no value');
    expect(usageError(() => parseArgs(['--group'], spec))).toBe('--group needs a value');
    expect(usageError(() => parseArgs([], spec).need('--group'))).toBe('--group is required');
    // A flag of one command is unknown to another.
    expect(usageError(() => parseArgs(['--execute'], {}))).toBe("unknown option '--execute'");
  });

  it('refuses single-dash options rather than taking them for positionals', () => {
    expect(usageError(() => parseArgs(['list', '-x'], spec))).toBe("unknown option '-x'");
  });

  it('takes everything after -- as positionals', () => {
    const args = parseArgs(['--group', 'g', '--', '--all', '-x'], spec);
    expect(args.positional).toEqual(['--all', '-x']);
    expect(args.has('--all')).toBe(false);
  });
});

describe('parsePairs and parseInteger', () => {
  it('splits KEY=VALUE at the first =, keeping later ones and empty values', () => {
    expect(parsePairs(['a=1', 'b=x=y', 'c='], '--set')).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(usageError(() => parsePairs(['=1'], '--set'))).toBe("--set expects KEY=VALUE, got '=1'");
    expect(usageError(() => parsePairs(['novalue'], '--set'))).toBe("--set expects KEY=VALUE, got 'novalue'");
  });

  it('accepts decimal integers only', () => {
    expect(parseInteger('42', '--partitions')).toBe(42);
    expect(parseInteger('-3', '--shift-by')).toBe(-3);
    for (const bad of ['', '1.5', '1e3', '0x10', ' 7', 'seven']) {
      expect(usageError(() => parseInteger(bad, '--partitions'))).toBe(`--partitions expects an integer, got '${bad}'`);
    }
  });
});
