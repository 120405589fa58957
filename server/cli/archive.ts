import { resolve } from 'node:path';
import { ErrorCode } from '../../codec/error-codes.js';
import { ATTRIBUTES, BASE_OFFSET, BASE_SEQUENCE, CONTROL_FLAG, PARTITION_LEADER_EPOCH, PRODUCER_EPOCH, PRODUCER_ID, RECORDS_COUNT, TRANSACTIONAL_FLAG } from '../../codec/records/batch-header.js';
import { writeBatchCrc } from '../../codec/records/crc32c.js';
import { readArchiveDir, readArchiveTables, type ArchivedBatch } from '../../storage/archive.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { bootstrapFrom, configFrom, output, splitHostPort, table, withAdmin } from './common.js';
import { RawConnection } from './raw-client.js';

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

  const partitionCount = await withAdmin(args, async (admin) => {
    const md = await admin.fetchTopicMetadata({ topics: [toTopic] }).catch(() => null);
    const t = md?.topics.find((x) => x.name === toTopic);
    if (!t) throw new CommandError(`target topic ${toTopic} does not exist (create it first)`);
    return t.partitions.length;
  });

  const { host, port } = splitHostPort(bootstrapFrom(args));
  const conn = await RawConnection.open(host, port).catch((err: Error) => {
    throw new CommandError(`cannot connect to ${host}:${port}: ${err.message}`);
  });
  const stats = new Map<number, { batches: number; records: number; bytes: number }>();
  const inFlight: Promise<void>[] = [];
  try {
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
      const response = await conn.request(0, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: toTopic, partitionData: [{ index: b.partition, records: batch }] }],
      });
      const code = response.responses[0]?.partitionResponses[0]?.errorCode ?? -1;
      if (code !== ErrorCode.NONE) {
        const name = Object.entries(ErrorCode).find(([, c]) => c === code)?.[0] ?? String(code);
        throw new CommandError(`producing to ${toTopic}/${b.partition} failed: ${name}`);
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
  } finally {
    conn.close();
  }
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
