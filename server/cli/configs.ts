import { ConfigResourceType, type ConfigChange } from '../../client/admin.js';
import { CommandError, parseArgs, UsageError } from './args.js';
import { describeKafkaError, output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql configs describe|alter`, in the spirit of kafka-configs.sh, over client/admin.ts:
 * describe sends DescribeConfigs with synonyms; alter sends IncrementalAlterConfigs (SET for
 * --add-config, DELETE for --delete-config), so keys not named stay as they are.
 */
export const CONFIGS_USAGE = `configs describe (--topic T | --broker ID) [--all]      explicit configs, or every config with its source (--all)
  configs alter --topic T [--add-config K=V[,K2=V2]] [--delete-config K[,K2]] [--validate-only]
                list values in brackets: --add-config cleanup.policy=[compact,delete]`;

const SOURCES: Record<number, string> = {
  0: 'UNKNOWN',
  1: 'TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
};

export async function configsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, { booleans: ['--all', '--validate-only'], values: ['--topic', '--broker'], repeatable: ['--add-config', '--delete-config'] });
  switch (sub) {
    case 'describe':
      return withAdmin(args, async (admin) => {
        const topic = args.get('--topic');
        const broker = args.get('--broker');
        if ((topic === undefined) === (broker === undefined)) throw new UsageError('give exactly one of --topic or --broker');
        const resource = topic !== undefined ? { type: ConfigResourceType.TOPIC, name: topic } : { type: ConfigResourceType.BROKER, name: broker! };
        let described;
        try {
          described = await admin.describeConfigs(resource, true);
        } catch (err) {
          throw new CommandError(describeKafkaError(err));
        }
        const entries = described
          .filter((c) => args.has('--all') || !c.isDefault)
          .map((c) => ({
            name: c.name,
            value: c.value,
            source: SOURCES[c.source] ?? String(c.source),
            readOnly: c.readOnly,
            sensitive: c.isSensitive,
            synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: SOURCES[s.source] ?? String(s.source) })),
          }))
          .sort((a, b) => a.name.localeCompare(b.name));
        output(args, { resource: resource.name, type: topic !== undefined ? 'topic' : 'broker', configs: entries }, () =>
          entries.length === 0
            ? `No explicit configs for ${topic !== undefined ? 'topic' : 'broker'} ${resource.name}.`
            : table(
                ['NAME', 'VALUE', 'SOURCE', 'SYNONYMS'],
                entries.map((e) => [e.name, e.sensitive ? '(sensitive)' : e.value, e.source, e.synonyms.map((s) => `${s.source}:${s.name}=${s.value ?? ''}`).join(' ')]),
              ),
        );
      });
    case 'alter': {
      const topic = args.need('--topic');
      const set = args.all('--add-config').flatMap(splitConfigList);
      const del = args.all('--delete-config').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      if (set.length === 0 && del.length === 0) throw new UsageError('nothing to alter: give --add-config and/or --delete-config');
      const configs: ConfigChange[] = [
        ...set.map((pair) => {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new UsageError(`--add-config expects KEY=VALUE, got '${pair}'`);
          const raw = pair.slice(eq + 1).trim();
          const value = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
          return { name: pair.slice(0, eq).trim(), configOperation: 0, value };
        }),
        ...del.map((name) => ({ name, configOperation: 1, value: null })),
      ];
      return withAdmin(args, async (admin) => {
        try {
          await admin.incrementalAlterConfigs({ type: ConfigResourceType.TOPIC, name: topic }, configs, args.has('--validate-only'));
        } catch (err) {
          throw new CommandError(`cannot alter configs of ${topic}: ${describeKafkaError(err)}`);
        }
        output(args, { topic, set: Object.fromEntries(configs.filter((c) => c.configOperation === 0).map((c) => [c.name, c.value])), deleted: del, validateOnly: args.has('--validate-only') }, () =>
          `${args.has('--validate-only') ? 'Validated' : 'Completed'} updating config for topic ${topic}.`,
        );
      });
    }
    default:
      throw new UsageError(`unknown configs command '${sub ?? ''}'\nusage: kafka-mysql ${CONFIGS_USAGE}`);
  }
}

/** Splits `a=1,b=[x,y],c=2` at commas outside brackets. */
export function splitConfigList(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[') depth++;
    if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
