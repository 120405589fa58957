import { destination, pino } from 'pino';
import { MAX_USER_NAME_BYTES, type Storage } from '../../storage/index.js';
import { plainCredential, scramCredential, SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS } from '../security/sasl/credentials.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table } from './common.js';
import { openDirectStorage } from './direct-storage.js';

/**
 * `kafka-mysql users set|list|delete`: SASL users, directly in MySQL (mysql.url, or the managed
 * MariaDB a broker runs under mysql.data.dir), so they work with every broker down, e.g. to
 * create the first super user before the listeners require SASL. Brokers read credentials at
 * each authentication, so a change applies to the next login. The password comes from standard
 * input only (never the command line, where `ps` shows it); one trailing newline is dropped.
 * SCRAM users get RFC 5802 keys (salt, StoredKey, ServerKey), PLAIN users a salted PBKDF2 hash.
 */
export const USERS_USAGE = `users set NAME --mechanism SCRAM-SHA-256|SCRAM-SHA-512|PLAIN --password-stdin [--iterations N]
        create or change a SASL user's credential for one mechanism (password read from standard input)
  users list                                     users and their mechanisms (no secrets)
  users delete NAME [--mechanism M]              remove a user (or one of its mechanisms)`;

const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'] as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function withStorage<T>(args: ReturnType<typeof parseArgs>, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const config = configFrom(args);
  const logger = pino({ level: 'warn', base: { tool: 'users' } }, destination(2));
  const storage = await openDirectStorage('users', config, logger, 1);
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export async function usersCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const usage = `usage: kafka-mysql ${USERS_USAGE}`;
  switch (sub) {
    case 'set': {
      const args = parseArgs(rest, { booleans: ['--password-stdin'], values: ['--mechanism', '--iterations'] });
      const name = args.positional[0];
      if (!name || args.positional.length !== 1) throw new UsageError(`users set takes one user name\n${usage}`);
      if (Buffer.byteLength(name) > MAX_USER_NAME_BYTES) throw new UsageError(`user name longer than ${MAX_USER_NAME_BYTES} bytes`);
      const mechanism = args.need('--mechanism').toUpperCase();
      if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw new UsageError(`--mechanism must be one of ${MECHANISMS.join(', ')}`);
      if (!args.has('--password-stdin')) throw new UsageError(`users set needs --password-stdin (the password is never taken from the command line)\n${usage}`);
      const iterations = Number(args.get('--iterations') ?? SCRAM_MIN_ITERATIONS);
      if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        throw new UsageError(`--iterations must be between ${SCRAM_MIN_ITERATIONS} and ${SCRAM_MAX_ITERATIONS}`);
      }
      const password = await readStdin();
      if (password === '') throw new UsageError('empty password on standard input');
      const credential = mechanism === 'PLAIN' ? plainCredential(password) : scramCredential(mechanism as 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password, iterations);
      await withStorage(args, (storage) => storage.users.upsert(name, credential));
      output(args, { user: name, mechanism, iterations: credential.iterations }, () => `user ${name}: ${mechanism} set`);
      return;
    }
    case 'list': {
      const args = parseArgs(rest, {});
      const users = await withStorage(args, (storage) => storage.users.list(null));
      const rows = [...users].map(([user, creds]) => ({ user, mechanisms: creds.map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })) }));
      output(args, rows, () => (rows.length === 0 ? 'no users' : table(['USER', 'MECHANISMS'], rows.map((r) => [r.user, r.mechanisms.map((m) => `${m.mechanism}(${m.iterations})`).join(',')]))));
      return;
    }
    case 'delete': {
      const args = parseArgs(rest, { values: ['--mechanism'] });
      const name = args.positional[0];
      if (!name || args.positional.length !== 1) throw new UsageError(`users delete takes one user name\n${usage}`);
      const mechanism = args.get('--mechanism')?.toUpperCase();
      const removed = await withStorage(args, (storage) => storage.users.delete(name, mechanism));
      if (removed === 0) throw new CommandError(`no such user: ${name}${mechanism ? ` (${mechanism})` : ''}`);
      output(args, { user: name, removed }, () => `user ${name}: ${removed} credential(s) removed`);
      return;
    }
    default:
      throw new UsageError(`unknown users command '${sub ?? ''}'\n${usage}`);
  }
}
