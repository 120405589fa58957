import { destination, pino } from 'pino';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table } from './common.js';
import { openDirectStorage } from './direct-storage.js';
import { delayedEnabled } from '../delayed/produce-hold.js';

/**
 * `kafka-mysql delayed list|cancel` (docs/delayed.md): held records of a topic with
 * delayed.delivery.enable, directly in MySQL (mysql.url, or the managed MariaDB under
 * mysql.data.dir, as `messages find`). `list` prints them by due time (--from/--to: ms since
 * the epoch or ISO 8601); `cancel` removes one by message id before it is due and exits 0,
 * or exits 1 saying it was delivered (partition, offset) or is unknown. A cancel waits for a
 * delivery of that record in progress, so its answer is what happened.
 */
export const DELAYED_USAGE = `delayed list --topic T [--from TIME] [--to TIME] [--partition P] [--limit N]
        held delayed records (delayed.delivery.enable=true) by due time
  delayed cancel --topic T --id MESSAGE_ID
        cancels a held record; exit 1 when it was already delivered or is unknown`;

export async function delayedCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'cancel') throw new UsageError(`unknown delayed command '${sub ?? ''}'\nusage: kafka-mysql ${DELAYED_USAGE}`);
  const args = parseArgs(rest, { values: ['--topic', '--id', '--from', '--to', '--partition', '--limit'] });
  const topicName = args.need('--topic');
  const config = configFrom(args);
  const logger = pino({ level: config.logLevel, base: { tool: 'delayed' } }, destination(2));
  const storage = await openDirectStorage(`delayed ${sub}`, config, logger, 2);
  try {
    const topic = storage.catalog.getTopic(topicName);
    if (!topic) throw new CommandError(`unknown topic '${topicName}'`);
    if (!delayedEnabled(topic)) throw new CommandError(`topic '${topicName}' does not have delayed.delivery.enable=true`);
    if (sub === 'cancel') {
      const id = args.need('--id');
      const result = await storage.delayed.cancel(topic.shardOfPartition, topic.topicId, Buffer.from(id, 'utf8'), Date.now());
      const json = { topic: topicName, messageId: id, ...result };
      switch (result.status) {
        case 'cancelled':
          output(args, json, () => `cancelled ${id} (partition ${result.partition}, was due ${new Date(result.dueMs).toISOString()})`);
          return;
        case 'already-cancelled':
          output(args, json, () => `${id} was already cancelled at ${new Date(result.doneMs).toISOString()}`);
          return;
        case 'delivered':
          if (args.has('--json')) output(args, json, () => '');
          throw new CommandError(`${id} was already delivered at ${new Date(result.doneMs).toISOString()} (partition ${result.partition}, offset ${result.offset})`);
        default:
          throw new CommandError(`no delayed message with id ${id} is held on ${topicName} (nor delivered or cancelled within its retention)`);
      }
    }
    const limit = args.get('--limit') === undefined ? 100 : Number(args.get('--limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError('--limit expects an integer from 1 to 100000');
    const partition = args.get('--partition') === undefined ? undefined : Number(args.get('--partition'));
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount)) throw new UsageError(`--partition expects a partition of ${topicName}`);
    const fromMs = args.get('--from') === undefined ? undefined : time(args.get('--from')!, '--from');
    const toMs = args.get('--to') === undefined ? undefined : time(args.get('--to')!, '--to');
    const held = await storage.delayed.list(topic.shardOfPartition, topic.topicId, {
      limit,
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
      ...(partition === undefined ? {} : { partition }),
    });
    output(
      args,
      held.map((h) => ({
        messageId: h.messageId.toString('utf8'),
        partition: h.partition,
        deliverAt: h.dueMs,
        heldAt: h.createdMs,
        key: h.key?.toString('base64') ?? null,
        value: h.value?.toString('base64') ?? null,
      })),
      () =>
        table(
          ['MESSAGE-ID', 'PARTITION', 'DELIVER-AT', 'KEY', 'VALUE'],
          held.map((h) => [h.messageId.toString('utf8'), h.partition, new Date(h.dueMs).toISOString(), h.key?.toString('utf8') ?? null, h.value?.toString('utf8').slice(0, 60) ?? null]),
        ),
    );
  } finally {
    await storage.close();
  }
}

function time(value: string, flag: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`${flag} expects ms since the epoch or an ISO 8601 time, got '${value}'`);
  return t;
}
