import { destination, pino } from 'pino';
import { outboxTableDdl, OutboxTable } from '../../storage/outbox/outbox-table.js';
import { OutboxRelay } from '../outbox/relay.js';
import { outboxSettings } from '../outbox/settings.js';
import { parseArgs, parseInteger, UsageError } from './args.js';
import { configFrom, output, withAdmin } from './common.js';

/**
 * `kafka-mysql outbox run|ddl`: the outbox relay as its own process (docs/outbox.md). `run`
 * relays rows from the outbox table of the application database (--url, else outbox.mysql.url)
 * to the brokers (--bootstrap-server) until SIGINT/SIGTERM (the claim in progress finishes
 * first), or with --once until the table is empty. Logs go to stderr; at exit it prints what it
 * published. `ddl` prints the table's CREATE TABLE.
 */
export const OUTBOX_USAGE = `outbox run [--url MYSQL_URL] [--table T] [--batch-size N] [--id-header H] [--id-prefix P] [--poll-ms MS] [--once]
        publish the rows of an application's outbox table exactly once (with message.id.header on the topics), deleting them
  outbox ddl [--table T]                        print the outbox table's CREATE TABLE`;

export async function outboxCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, { booleans: ['--once'], values: ['--url', '--table', '--batch-size', '--id-header', '--id-prefix', '--poll-ms'] });
  const config = configFrom(args);
  const settings = outboxSettings(config);
  const table = args.get('--table') ?? settings.table;
  if (sub === 'ddl') {
    process.stdout.write(outboxTableDdl(table) + ';\n');
    return;
  }
  if (sub !== 'run') throw new UsageError(`unknown outbox command '${sub ?? ''}'\nusage: kafka-mysql ${OUTBOX_USAGE}`);
  const url = args.get('--url') ?? settings.url;
  if (!url) throw new UsageError('outbox run needs --url (or outbox.mysql.url): the MySQL URL of the database holding the outbox table');
  const logger = pino({ level: config.logLevel, base: { tool: 'outbox' } }, destination(2));
  const outbox = new OutboxTable(url, table);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    const stats = await withAdmin(args, async (admin) => {
      const relay = new OutboxRelay(outbox, admin, {
        batchSize: args.get('--batch-size') !== undefined ? parseInteger(args.get('--batch-size')!, '--batch-size') : settings.batchSize,
        idHeader: args.get('--id-header') ?? settings.idHeader,
        idPrefix: args.get('--id-prefix') ?? settings.idPrefix,
        pollIntervalMs: args.get('--poll-ms') !== undefined ? parseInteger(args.get('--poll-ms')!, '--poll-ms') : settings.pollIntervalMs,
        maxBatchBytes: settings.maxBatchBytes,
        logger,
      });
      if (args.has('--once')) {
        while (!abort.signal.aborted && (await relay.relayOnce()) > 0);
      } else await relay.run(abort.signal);
      return relay.stats;
    });
    const ms = Date.now() - started;
    output(args, { ...stats, ms }, () => `published ${stats.published} rows in ${stats.claims} claims (${stats.failedClaims} failed) in ${ms} ms`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await outbox.close();
  }
}
