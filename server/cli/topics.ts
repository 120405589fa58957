import kafkajs from 'kafkajs';
import { validateTopicConfig } from '../config/index.js';
import { CommandError, parseArgs, parseInteger, parsePairs, UsageError } from './args.js';
import { describeKafkaError, output, table, withAdmin } from './common.js';

// kafkajs is CommonJS and ConfigResourceTypes is not one of the names Node can import from it directly.
const { ConfigResourceTypes } = kafkajs;

/**
 * `kafka-mysql topics list|describe|create|delete|alter`, in the spirit of kafka-topics.sh,
 * over the Kafka protocol (kafkajs admin).
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
        const metadata = await admin.fetchTopicMetadata({ topics: wanted }).catch((err: unknown) => {
          throw new CommandError(describeKafkaError(err));
        });
        const described: DescribedTopic[] = [];
        for (const t of metadata.topics.sort((a, b) => a.name.localeCompare(b.name))) {
          const offsets = await admin.fetchTopicOffsets(t.name);
          const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t.name }] });
          const explicit = Object.fromEntries(
            (configs.resources[0]?.configEntries ?? []).filter((c) => !c.isDefault).map((c) => [c.configName, c.configValue]),
          );
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
        // The broker applies the same rules; checking here names the key (kafkajs drops the broker's message).
        for (const [key, value] of Object.entries(configs)) {
          try {
            validateTopicConfig(key, value);
          } catch (err) {
            throw new CommandError(`cannot create topic ${topic}: INVALID_CONFIG: ${(err as Error).message}`);
          }
        }
        let created: boolean;
        try {
          created = await admin.createTopics({
            validateOnly: args.has('--validate-only'),
            waitForLeaders: false,
            topics: [{ topic, numPartitions, replicationFactor, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
          });
        } catch (err) {
          throw new CommandError(`cannot create topic ${topic}: ${createError(err)}`);
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
            await admin.deleteTopics({ topics: targets });
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
          await admin.createPartitions({ validateOnly: args.has('--validate-only'), topicPartitions: [{ topic, count }] });
        } catch (err) {
          throw new CommandError(`cannot alter ${topic}: ${createError(err)}`);
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
  configs: Record<string, string>;
  partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[]; logStartOffset: string | null; highWatermark: string | null }>;
}

function single(values: string[]): string {
  if (values.length !== 1) throw new UsageError('exactly one --topic is required');
  return values[0]!;
}

/** kafkajs wraps per-topic errors of CreateTopics/CreatePartitions in `errors`. */
function createError(err: unknown): string {
  const nested = (err as { errors?: unknown[] }).errors;
  if (Array.isArray(nested) && nested.length > 0) return nested.map(describeKafkaError).join('; ');
  return describeKafkaError(err);
}
