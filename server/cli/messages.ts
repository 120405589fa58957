import { destination, pino } from 'pino';
import { KafkaError } from '../../codec/error-codes.js';
import { findMessages, QueryError, type FindRequest } from '../message-index/find.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table } from './common.js';
import { openDirectStorage } from './direct-storage.js';

/**
 * `kafka-mysql messages find --topic T (--key K | --message-id ID | --from TIME [--to TIME])`:
 * lookups in the message index of topics with message.index.enable (docs/outbox.md), directly
 * in MySQL (mysql.url, or the managed MariaDB under mysql.data.dir, as `retention run`). Keys and
 * ids are UTF-8 strings (--key-hex / --message-id-hex for bytes); times are ms since the epoch or
 * ISO 8601. Prints partition, offset, timestamp, key, headers and value (text; --json gives
 * base64 for keys and values). Bad queries exit 2; a topic without an index exits 1.
 */
export const MESSAGES_USAGE = `messages find --topic T (--key K | --key-hex H | --message-id ID | --message-id-hex H | --from TIME [--to TIME]) [--limit N]
        records by key, message id or time from the topic's message index (message.index.enable=true)`;

export async function messagesCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'find') throw new UsageError(`unknown messages command '${sub ?? ''}'\nusage: kafka-mysql ${MESSAGES_USAGE}`);
  const args = parseArgs(rest, { values: ['--topic', '--key', '--key-hex', '--message-id', '--message-id-hex', '--from', '--to', '--limit'] });
  const request: FindRequest = { topic: args.need('--topic'), limit: args.get('--limit') === undefined ? 100 : Number(args.get('--limit')) };
  const key = args.get('--key') !== undefined ? Buffer.from(args.get('--key')!, 'utf8') : args.get('--key-hex') !== undefined ? hex(args.get('--key-hex')!, '--key-hex') : undefined;
  const id = args.get('--message-id') !== undefined ? Buffer.from(args.get('--message-id')!, 'utf8') : args.get('--message-id-hex') !== undefined ? hex(args.get('--message-id-hex')!, '--message-id-hex') : undefined;
  if (key !== undefined) request.key = key;
  if (id !== undefined) request.messageId = id;
  if (args.get('--from') !== undefined) request.fromMs = time(args.get('--from')!, '--from');
  if (args.get('--to') !== undefined) request.toMs = time(args.get('--to')!, '--to');
  const config = configFrom(args);
  const logger = pino({ level: config.logLevel, base: { tool: 'messages' } }, destination(2));
  const storage = await openDirectStorage('messages find', config, logger, 2);
  try {
    let found;
    const started = performance.now();
    try {
      found = await findMessages({ catalog: storage.catalog, logs: storage.logs, store: storage.messageIndex }, request);
    } catch (err) {
      if (err instanceof QueryError) throw new UsageError(err.message);
      if (err instanceof KafkaError) throw new CommandError(err.message);
      throw err;
    }
    const ms = performance.now() - started;
    logger.debug({ ms, found: found.length }, 'lookup done');
    output(
      args,
      found.map((m) => ({
        partition: m.partition,
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key?.toString('base64') ?? null,
        value: m.value?.toString('base64') ?? null,
        headers: m.headers.map((h) => ({ key: h.key, value: h.value?.toString('base64') ?? null })),
      })),
      () =>
        table(
          ['PARTITION', 'OFFSET', 'TIMESTAMP', 'KEY', 'HEADERS', 'VALUE'],
          found.map((m) => [
            m.partition,
            m.offset,
            new Date(Number(m.timestamp)).toISOString(),
            m.key?.toString('utf8') ?? null,
            m.headers.map((h) => `${h.key}=${h.value?.toString('utf8') ?? ''}`).join(',') || null,
            m.value?.toString('utf8') ?? null,
          ]),
        ),
    );
  } finally {
    await storage.close();
  }
}

function hex(value: string, flag: string): Buffer {
  if (!/^([0-9a-fA-F]{2})+$/.test(value)) throw new UsageError(`${flag} expects hex digits, got '${value}'`);
  return Buffer.from(value, 'hex');
}

function time(value: string, flag: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`${flag} expects ms since the epoch or an ISO 8601 time, got '${value}'`);
  return t;
}
