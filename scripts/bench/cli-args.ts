/** `--name value` options of the bench scripts (their own flags, after `npm run bench:x --`). */

/** The value after `--name`, or `dflt` when the flag is absent or has no value. */
export function stringArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

/** The number after `--name`, or `dflt`. */
export function numberArg(name: string, dflt: string | number): number {
  return Number(stringArg(name, String(dflt)));
}
