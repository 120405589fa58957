/**
 * The broker's and the CLI's pino logger. On a terminal the lines are made readable by
 * pino-pretty (local time, level, message, then the fields on the same line), used in-process
 * and synchronously so nothing is lost when the process exits right after a line; anywhere
 * else (a pipe, a file, systemd's journal) they stay one JSON object per line, for shippers.
 */
import { isatty } from 'node:tty';
import { destination, pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  level: string;
  /** Fields on every line (e.g. `{ broker: 0 }`). */
  base?: Record<string, unknown>;
  /** File descriptor written to: 1 (stdout, default) or 2 (stderr). */
  fd?: 1 | 2;
  /** Readable lines instead of JSON; default: whether `fd` is a terminal. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const fd = options.fd ?? 1;
  const settings = { level: options.level, base: options.base ?? {} };
  if (!(options.pretty ?? isatty(fd))) return pino(settings, destination(fd));
  return pino(
    settings,
    pretty({
      destination: fd,
      sync: true,
      colorize: isatty(fd),
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname',
      // One line per event, fields after the message, as a terminal of broker logs reads best.
      singleLine: true,
    }),
  );
}
