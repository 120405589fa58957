import { resolve } from 'node:path';
import { KafkaResponseError } from '../../client/errors.js';
import { ATTRIBUTES, BASE_OFFSET, BASE_SEQUENCE, CONTROL_FLAG, PARTITION_LEADER_EPOCH, PRODUCER_EPOCH, PRODUCER_ID, RECORDS_COUNT, TRANSACTIONAL_FLAG } from '../../codec/records/batch-header.js';
import { writeBatchCrc } from '../../codec/records/crc32c.js';
import { readArchiveDir, readArchiveTables, type ArchivedBatch } from '../../storage/archive.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { configFrom, output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql archive restore`: reads a topic's archived batches (archive table or files)
 * and produces them into a topic, partition p into partition p. Batches are sent as raw
 * Produce requests, one batch per partition per request, so the records (keys, values,
 * headers, timestamps, compression) stay byte-identical; only the batch header is reset for
 * a plain producer (offset 0, no producer id/epoch/sequence, not transactional, leader epoch
 * -1) and its CRC recomputed. Control batches (transaction markers) are skipped. The target
 * topic must exist with at least as many partitions; new offsets are assigned by the broker.
 */
export const ARCHIVE_USAGE = `archive restore --topic T --from table|file --to-topic T2 [--dir DIR] [--topic-id ID]
        reads T's archive (table: retention.archive.mysql.url or every shard; file: --dir or retention.archive.dir)
        and produces it into T2 (which must exist with enough partitions)`;

const WINDOW = 16;

export async function archiveCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'restore') throw new UsageError(`unknown archive command '${sub ?? ''}'\nusage: kafka-mysql ${ARCHIVE_USAGE}`);
  const args = parseArgs(rest, { values: ['--topic', '--from', '--to-topic', '--dir', '--topic-id'] });
  const topic = args.need('--topic');
  const from = args.need('--from');
  const toTopic = args.need('--to-topic');
  if (from !== 'table' && from !== 'file') throw new UsageError(`--from must be table or file, got '${from}'`);
  const config = configFrom(args);

  // Produce with acks=all may wait on MySQL: a longer request timeout than the admin calls'.
  const stats = await withAdmin(
    args,
    async (admin) => {
      const md = await admin.fetchTopicMetadata([toTopic]).catch(() => null);
      const t = md?.find((x) => x.name === toTopic);
      if (!t) throw new CommandError(`target topic ${toTopic} does not exist (create it first)`);
      const partitionCount = t.partitions.length;
      const stats = new Map<number, { batches: number; records: number; bytes: number }>();
      const inFlight: Promise<void>[] = [];
      const send = async (b: ArchivedBatch) => {
        if (b.partition >= partitionCount) throw new CommandError(`${toTopic} has ${partitionCount} partitions; the archive has partition ${b.partition}`);
        const batch = Buffer.from(b.payload);
        const attributes = batch.readInt16BE(ATTRIBUTES);
        if (attributes & CONTROL_FLAG) return;
        batch.writeBigInt64BE(0n, BASE_OFFSET);
        batch.writeInt32BE(-1, PARTITION_LEADER_EPOCH);
        batch.writeInt16BE(attributes & ~TRANSACTIONAL_FLAG, ATTRIBUTES);
        batch.writeBigInt64BE(-1n, PRODUCER_ID);
        batch.writeInt16BE(-1, PRODUCER_EPOCH);
        batch.writeInt32BE(-1, BASE_SEQUENCE);
        writeBatchCrc(batch);
        try {
          await admin.produce(toTopic, b.partition, batch);
        } catch (err) {
          if (err instanceof KafkaResponseError) throw new CommandError(`producing to ${toTopic}/${b.partition} failed: ${err.type}`);
          throw err;
        }
        const s = stats.get(b.partition) ?? { batches: 0, records: 0, bytes: 0 };
        s.batches++;
        s.records += batch.readInt32BE(RECORDS_COUNT);
        s.bytes += batch.length;
        stats.set(b.partition, s);
      };
      for await (const b of sourceOf(from, topic, args.get('--dir'), args.get('--topic-id'), config)) {
        inFlight.push(send(b));
        if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0));
      }
      await Promise.all(inFlight.splice(0));
      return stats;
    },
    { requestTimeoutMs: 60_000 },
  );
  const partitions = [...stats.entries()].sort((a, b) => a[0] - b[0]).map(([partition, s]) => ({ partition, ...s }));
  const total = partitions.reduce((acc, p) => ({ batches: acc.batches + p.batches, records: acc.records + p.records, bytes: acc.bytes + p.bytes }), { batches: 0, records: 0, bytes: 0 });
  output(args, { topic, from, toTopic, ...total, partitions }, () => {
    const rows = partitions.map((p) => [p.partition, p.batches, p.records, p.bytes]);
    return `${rows.length > 0 ? table(['PARTITION', 'BATCHES', 'RECORDS', 'BYTES'], rows) + '\n' : ''}restored ${total.batches} batches (${total.records} records, ${total.bytes} bytes) of ${topic} into ${toTopic}`;
  });
}

async function* sourceOf(
  from: string,
  topic: string,
  dir: string | undefined,
  topicId: string | undefined,
  config: ReturnType<typeof configFrom>,
): AsyncGenerator<ArchivedBatch> {
  if (from === 'file') {
    yield* readArchiveDir(resolve(dir ?? config.string('retention.archive.dir') ?? './archive'), topic);
    return;
  }
  const archiveUrl = config.string('retention.archive.mysql.url');
  const urls = archiveUrl ? [archiveUrl] : [...new Set(config.mysqlShards.length > 0 ? config.mysqlShards : config.mysqlUrl ? [config.mysqlUrl] : [])];
  if (urls.length === 0) throw new UsageError('--from table needs mysql.url (or retention.archive.mysql.url)');
  yield* readArchiveTables(urls, topic, topicId ? { topicId } : {});
}
