import type { KafkaAdmin, TransactionDescription } from '../../client/admin.js';
import { CommandError, parseArgs, parseInteger, UsageError, type ParsedArgs } from './args.js';
import { describeKafkaError, output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql transactions list|describe|describe-producers|abort`, in the spirit of Kafka's
 * kafka-transactions.sh, over client/admin.ts (ListTransactions, DescribeTransactions,
 * DescribeProducers, InitProducerId).
 *
 * abort differs from Kafka's tool: Kafka's writes an ABORT marker into one partition with
 * WriteTxnMarkers (an inter-broker API), which kafka-mysql does not serve to clients. Here the
 * transaction is aborted by its coordinator: the CLI sends InitProducerId with the
 * transactional id, as a new producer instance with that id would, and the coordinator aborts
 * the open transaction in every partition of it and bumps the epoch, fencing the producer.
 * `--topic --partition --start-offset` (Kafka's form) finds the transactional id of the
 * producer whose open transaction starts there; a transaction no coordinator knows (a hanging
 * one) cannot be aborted this way and is reported as such.
 */
export const TRANSACTIONS_USAGE = `transactions list [--state S ...]          transactional ids, their producer id and state
  transactions describe --transactional-id X  state, producer, timeout, start time and partitions of X
  transactions describe-producers --topic T --partition P
        the producers the partition knows, with the start offset of their open transaction
  transactions abort (--transactional-id X | --topic T --partition P --start-offset O)
        aborts X's open transaction through its coordinator and fences its producer`;

/** States in which a transaction is open (abortable, or being completed). */
const OPEN = new Set(['Ongoing', 'PrepareAbort', 'PrepareCommit']);

export async function transactionsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, { values: ['--transactional-id', '--topic', '--partition', '--start-offset'], repeatable: ['--state'] });
  switch (sub) {
    case 'list':
      return withAdmin(args, async (admin) => {
        const listings = (await admin.listTransactions(args.all('--state'))).sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
        output(args, { transactions: listings }, () =>
          table(
            ['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'STATE'],
            listings.map((t) => [t.transactionalId, t.coordinator, t.producerId, t.state]),
          ),
        );
      });
    case 'describe':
      return withAdmin(args, async (admin) => {
        const d = await describe(admin, args.need('--transactional-id'));
        output(args, d, () => describeText(d));
      });
    case 'describe-producers':
      return withAdmin(args, async (admin) => {
        const topic = args.need('--topic');
        const partition = parseInteger(args.need('--partition'), '--partition');
        const producers = await admin.describeProducers(topic, partition).catch((err: unknown) => {
          throw new CommandError(`cannot describe producers of ${topic}-${partition}: ${describeKafkaError(err)}`);
        });
        output(args, { topic, partition, producers }, () =>
          table(
            ['PRODUCER-ID', 'PRODUCER-EPOCH', 'COORDINATOR-EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'CURRENT-TRANSACTION-START-OFFSET'],
            producers.map((p) => [p.producerId, p.producerEpoch, p.coordinatorEpoch, p.lastSequence, p.lastTimestamp, p.currentTxnStartOffset < 0n ? null : p.currentTxnStartOffset]),
          ),
        );
      });
    case 'abort':
      return withAdmin(args, (admin) => abort(admin, args));
    default:
      throw new UsageError(`unknown transactions command '${sub ?? ''}'\nusage: kafka-mysql ${TRANSACTIONS_USAGE}`);
  }
}

async function describe(admin: KafkaAdmin, id: string): Promise<TransactionDescription> {
  try {
    return await admin.describeTransaction(id);
  } catch (err) {
    throw new CommandError(`cannot describe transactional id ${id}: ${describeKafkaError(err)}`);
  }
}

function describeText(d: TransactionDescription): string {
  const open = d.startTimeMs >= 0n;
  return table(
    ['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'PRODUCER-EPOCH', 'STATE', 'TIMEOUT-MS', 'START-TIME-MS', 'DURATION-MS', 'TOPIC-PARTITIONS'],
    [
      [
        d.transactionalId,
        `${d.coordinator.host}:${d.coordinator.port}`,
        d.producerId,
        d.producerEpoch,
        d.state,
        d.timeoutMs,
        open ? d.startTimeMs : null,
        open ? BigInt(Date.now()) - d.startTimeMs : null,
        d.partitions.map((p) => `${p.topic}-${p.partition}`).join(',') || null,
      ],
    ],
  );
}

async function abort(admin: KafkaAdmin, args: ParsedArgs): Promise<void> {
  const byId = args.get('--transactional-id');
  const byOffset = ['--topic', '--partition', '--start-offset'].filter((f) => args.has(f));
  if ((byId === undefined) === (byOffset.length === 0) || (byOffset.length > 0 && byOffset.length < 3)) {
    throw new UsageError('give --transactional-id X, or --topic T --partition P --start-offset O');
  }
  const id = byId ?? (await transactionalIdAt(admin, args));
  const before = await describe(admin, id);
  if (!OPEN.has(before.state)) throw new CommandError(`transactional id ${id} has no open transaction (state ${before.state})`);
  if (before.state === 'PrepareCommit') throw new CommandError(`the transaction of ${id} is being committed; it cannot be aborted`);
  try {
    await admin.fenceTransactionalId(id, before.timeoutMs);
  } catch (err) {
    throw new CommandError(`cannot abort the transaction of ${id}: ${describeKafkaError(err)}`);
  }
  const after = await describe(admin, id);
  const partitions = before.partitions.map((p) => `${p.topic}-${p.partition}`);
  output(args, { transactionalId: id, aborted: { producerId: before.producerId, producerEpoch: before.producerEpoch, partitions: before.partitions }, now: after }, () =>
    `Aborted the transaction of ${id} (producer id ${before.producerId}, epoch ${before.producerEpoch}) in ${partitions.length} partition(s)` +
    `${partitions.length > 0 ? `: ${partitions.join(', ')}` : ''}. Its producer is fenced (epoch now ${after.producerEpoch}, state ${after.state}).`,
  );
}

/** Kafka's form: the transactional id of the producer whose open transaction starts at the offset. */
async function transactionalIdAt(admin: KafkaAdmin, args: ParsedArgs): Promise<string> {
  const topic = args.need('--topic');
  const partition = parseInteger(args.need('--partition'), '--partition');
  const offsetText = args.need('--start-offset');
  if (!/^\d+$/.test(offsetText)) throw new UsageError(`--start-offset expects an offset, got '${offsetText}'`);
  const startOffset = BigInt(offsetText);
  const producers = await admin.describeProducers(topic, partition).catch((err: unknown) => {
    throw new CommandError(`cannot describe producers of ${topic}-${partition}: ${describeKafkaError(err)}`);
  });
  const producer = producers.find((p) => p.currentTxnStartOffset === startOffset);
  if (!producer) throw new CommandError(`no open transaction starts at offset ${startOffset} in ${topic}-${partition}`);
  const listing = (await admin.listTransactions()).find((t) => t.producerId === producer.producerId);
  if (!listing || !OPEN.has(listing.state)) {
    throw new CommandError(
      `producer ${producer.producerId} has a transaction open at offset ${startOffset} in ${topic}-${partition} that no coordinator has open ` +
        `(a hanging transaction); kafka-mysql does not serve WriteTxnMarkers to clients, so it cannot be aborted from here`,
    );
  }
  return listing.transactionalId;
}
