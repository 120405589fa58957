import { ConfigResourceType } from '../../client/admin.js';
import { validateTopicConfig } from '../config/index.js';
import { CommandError, parseArgs, parseInteger, parsePairs, UsageError } from './args.js';
import { describeKafkaError, output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql topics list|describe|create|delete|alter`, in the spirit of kafka-topics.sh,
 * over the Kafka protocol (client/admin.ts).
 */
export const TOPICS_USAGE = `topics list [--include-internal]
  topics describe [--topic T ...]            partitions, leaders, log start and end offsets, explicit configs
  topics create --topic T [--partitions N] [--replication-factor R] [--topic-config KEY=VALUE ...] [--if-not-exists] [--validate-only]
  topics delete --topic T [--topic T2 ...] [--if-exists]
  topics alter --topic T --partitions N [--validate-only]    add partitions (never fewer)`;

export async function topicsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, {
    booleans: ['--include-internal', '--if-not-exists', '--if-exists', '--validate-only'],
    values: ['--partitions', '--replication-factor'],
    repeatable: ['--topic', '--topic-config'],
  });
  switch (sub) {
    case 'list':
      return withAdmin(args, async (admin) => {
        const topics = (await admin.listTopics()).sort();
        output(args, { topics }, () => topics.join('\n'));
      });
    case 'describe':
      return withAdmin(args, async (admin) => {
        const names = args.all('--topic');
        const wanted = names.length > 0 ? names : (await admin.listTopics()).sort();
        const metadata = await admin.fetchTopicMetadata(wanted).catch((err: unknown) => {
          throw new CommandError(describeKafkaError(err));
        });
        const described: DescribedTopic[] = [];
        for (const t of metadata.sort((a, b) => a.name.localeCompare(b.name))) {
          const offsets = await admin.fetchTopicOffsets(t.name);
          const configs = await admin.describeConfigs({ type: ConfigResourceType.TOPIC, name: t.name }, false);
          const explicit = Object.fromEntries(configs.filter((c) => !c.isDefault).map((c) => [c.name, c.value]));
          described.push({
            topic: t.name,
            partitionCount: t.partitions.length,
            configs: explicit,
            partitions: t.partitions
              .sort((a, b) => a.partitionId - b.partitionId)
              .map((p) => {
                const o = offsets.find((x) => x.partition === p.partitionId);
                return { partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, logStartOffset: o?.low ?? null, highWatermark: o?.high ?? null };
              }),
          });
        }
        output(args, { topics: described }, () =>
          described
            .map((d) => {
              const head = `Topic: ${d.topic}\tPartitionCount: ${d.partitionCount}\tConfigs: ${Object.entries(d.configs).map(([k, v]) => `${k}=${v}`).join(',')}`;
              const rows = d.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.logStartOffset, p.highWatermark]);
              return `${head}\n${table(['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK'], rows)}`;
            })
            .join('\n\n'),
        );
      });
    case 'create':
      return withAdmin(args, async (admin) => {
        const topic = single(args.all('--topic'));
        const numPartitions = args.get('--partitions') === undefined ? -1 : parseInteger(args.get('--partitions')!, '--partitions');
        const replicationFactor = args.get('--replication-factor') === undefined ? -1 : parseInteger(args.get('--replication-factor')!, '--replication-factor');
        const configs = parsePairs(args.all('--topic-config'), '--topic-config');
        // The broker applies the same rules; checking here gives the same message whichever broker answers.
        for (const [key, value] of Object.entries(configs)) {
          try {
            validateTopicConfig(key, value);
          } catch (err) {
            throw new CommandError(`cannot create topic ${topic}: INVALID_CONFIG: ${(err as Error).message}`);
          }
        }
        let created: boolean;
        try {
          created = await admin.createTopic({ name: topic, numPartitions, replicationFactor, configs }, args.has('--validate-only'));
        } catch (err) {
          throw new CommandError(`cannot create topic ${topic}: ${describeKafkaError(err)}`);
        }
        if (!created && !args.has('--validate-only') && !args.has('--if-not-exists')) throw new CommandError(`topic ${topic} already exists`);
        const verb = args.has('--validate-only') ? 'valid' : created ? 'created' : 'exists';
        output(args, { topic, result: verb }, () => `${verb === 'created' ? 'Created' : verb === 'valid' ? 'Valid' : 'Exists'} topic ${topic}.`);
      });
    case 'delete':
      return withAdmin(args, async (admin) => {
        const topics = args.all('--topic');
        if (topics.length === 0) throw new UsageError('--topic is required');
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length > 0 && !args.has('--if-exists')) throw new CommandError(`unknown topic${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
        const targets = topics.filter((t) => existing.has(t));
        if (targets.length > 0) {
          try {
            await admin.deleteTopics(targets);
          } catch (err) {
            throw new CommandError(`cannot delete: ${describeKafkaError(err)}`);
          }
        }
        output(args, { deleted: targets }, () => targets.map((t) => `Deleted topic ${t}.`).join('\n'));
      });
    case 'alter':
      return withAdmin(args, async (admin) => {
        const topic = single(args.all('--topic'));
        const count = parseInteger(args.need('--partitions'), '--partitions');
        try {
          await admin.createPartitions(topic, count, args.has('--validate-only'));
        } catch (err) {
          throw new CommandError(`cannot alter ${topic}: ${describeKafkaError(err)}`);
        }
        output(args, { topic, partitions: count, validateOnly: args.has('--validate-only') }, () => `Topic ${topic} now has ${count} partitions${args.has('--validate-only') ? ' (validated only)' : ''}.`);
      });
    default:
      throw new UsageError(`unknown topics command '${sub ?? ''}'\nusage: kafka-mysql ${TOPICS_USAGE}`);
  }
}

interface DescribedTopic {
  topic: string;
  partitionCount: number;
  configs: Record<string, string | null>;
  partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[]; logStartOffset: bigint | null; highWatermark: bigint | null }>;
}

function single(values: string[]): string {
  if (values.length !== 1) throw new UsageError('exactly one --topic is required');
  return values[0]!;
}
