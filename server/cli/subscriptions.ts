import { destination, pino } from 'pino';
import { createSubscription, describeSubscription, listAttempts, listSubscriptions, ManageError, repush, setSubscriptionState, type ManageDeps } from '../subscriptions/manage.js';
import { CommandError, parseArgs, parseInteger, parsePairs, UsageError, type ParsedArgs } from './args.js';
import { configFrom, output, table } from './common.js';
import { openDirectStorage } from './direct-storage.js';

/**
 * `kafka-mysql subscriptions create|list|describe|pause|resume|retire|repush|attempts`: push
 * subscriptions (docs/subscriptions.md), managed directly in MySQL like `messages find` (mysql.url,
 * or the managed MariaDB under mysql.data.dir), with the same checks as the REST routes
 * (server/subscriptions/manage.ts). Running brokers pick changes up within
 * subscriptions.poll.interval.ms. A bad definition exits 2; an unknown subscription or topic, a
 * taken name or a retired subscription exits 1.
 */
export const SUBSCRIPTIONS_USAGE = `subscriptions create NAME --topic T [--topic T2] --url URL [--concurrency N] [--ordering partition|key|none] [--max-attempts N]
        [--after NAME] [--dead-letter-topic T] [--rate-limit PER_S] [--method POST|PUT|PATCH] [--header K=V ...] [--timeout-ms N]
        [--body-format json|raw] [--secret S] [--filter-header NAME[=VALUE]] [--filter-key-prefix P] [--initial-backoff-ms N]
        [--max-backoff-ms N] [--backoff-multiplier X] [--max-age-ms N] [--from-beginning]
  subscriptions list | describe NAME | pause NAME | resume NAME | retire NAME
  subscriptions repush NAME (--from-offset A --to-offset B [--topic T] [--partition P] | --from TIME --to TIME | --dead-since TIME)
  subscriptions attempts NAME [--topic T [--partition P [--offset O]]] [--from TIME] [--to TIME] [--limit N]
        push subscriptions: HTTP delivery of topics' records with retries (docs/subscriptions.md)`;

const VALUES = [
  '--url',
  '--concurrency',
  '--ordering',
  '--max-attempts',
  '--after',
  '--dead-letter-topic',
  '--rate-limit',
  '--method',
  '--timeout-ms',
  '--body-format',
  '--secret',
  '--filter-header',
  '--filter-key-prefix',
  '--initial-backoff-ms',
  '--max-backoff-ms',
  '--backoff-multiplier',
  '--max-age-ms',
  '--from-offset',
  '--to-offset',
  '--partition',
  '--offset',
  '--from',
  '--to',
  '--dead-since',
  '--limit',
];

export async function subscriptionsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, { values: VALUES, repeatable: ['--topic', '--header'], booleans: ['--from-beginning'] });
  const name = args.positional[0];
  const needName = () => {
    if (name === undefined) throw new UsageError(`subscriptions ${sub} needs a NAME\nusage: kafka-mysql ${SUBSCRIPTIONS_USAGE}`);
    return name;
  };
  let run: (deps: ManageDeps) => Promise<void>;
  switch (sub) {
    case 'create': {
      const body = createBody(args);
      const n = needName();
      run = async (deps) => printSubscription(args, await createSubscription(deps, n, body));
      break;
    }
    case 'list':
      run = async (deps) => {
        const list = await listSubscriptions(deps);
        output(args, list, () =>
          table(
            ['NAME', 'STATE', 'TOPICS', 'ORDERING', 'CONCURRENCY', 'AFTER', 'URL'],
            list.map((s) => [s.name as string, s.state as string, (s.topics as string[]).join(','), s.ordering as string, s.max_concurrency as number, s.after as string | null, s.url as string]),
          ),
        );
      };
      break;
    case 'describe': {
      const n = needName();
      run = async (deps) => printSubscription(args, await describeSubscription(deps, n));
      break;
    }
    case 'pause':
    case 'resume':
    case 'retire': {
      const n = needName();
      const state = sub === 'pause' ? 'paused' : sub === 'resume' ? 'active' : 'retired';
      run = async (deps) => printSubscription(args, await setSubscriptionState(deps, n, state));
      break;
    }
    case 'repush': {
      const n = needName();
      const request = {
        topic: args.all('--topic').at(-1),
        partition: opt(args, '--partition', parseInteger),
        fromOffset: opt(args, '--from-offset', (v, f) => BigInt(parseInteger(v, f))),
        toOffset: opt(args, '--to-offset', (v, f) => BigInt(parseInteger(v, f))),
        fromMs: opt(args, '--from', time),
        toMs: opt(args, '--to', time),
        deadSinceMs: opt(args, '--dead-since', time),
      };
      run = async (deps) => {
        const r = await repush(deps, n, request);
        output(args, { subscription: n, records_marked: r.marked }, () => `${r.marked} records marked for delivery again`);
      };
      break;
    }
    case 'attempts': {
      const n = needName();
      const q = {
        topic: args.all('--topic').at(-1),
        partition: opt(args, '--partition', parseInteger),
        offset: opt(args, '--offset', (v, f) => BigInt(parseInteger(v, f))),
        fromMs: opt(args, '--from', time),
        toMs: opt(args, '--to', time),
        limit: opt(args, '--limit', parseInteger) ?? 100,
      };
      run = async (deps) => {
        const rows = await listAttempts(deps, n, q);
        output(args, rows, () =>
          table(
            ['TIME', 'TOPIC', 'PARTITION', 'OFFSET', 'ATTEMPT', 'STATUS', 'LATENCY_MS', 'OUTCOME', 'ERROR'],
            rows.map((a) => [a.time as string, a.topic as string, a.partition as number, a.offset as number, a.attempt as number, a.status as number | null, a.latency_ms as number, a.outcome as string, a.error as string | null]),
          ),
        );
      };
      break;
    }
    default:
      throw new UsageError(`unknown subscriptions command '${sub ?? ''}'\nusage: kafka-mysql ${SUBSCRIPTIONS_USAGE}`);
  }
  const config = configFrom(args);
  const logger = pino({ level: config.logLevel, base: { tool: 'subscriptions' } }, destination(2));
  const storage = await openDirectStorage(`subscriptions ${sub}`, config, logger, 2);
  try {
    await run({ catalog: storage.catalog, logs: storage.logs, store: storage.subscriptions });
  } catch (err) {
    if (err instanceof ManageError) throw err.status === 422 || err.status === 400 ? new UsageError(err.message) : new CommandError(err.message);
    throw err;
  } finally {
    await storage.close();
  }
}

function createBody(args: ParsedArgs): Record<string, unknown> {
  const topics = args.all('--topic');
  if (topics.length === 0) throw new UsageError('subscriptions create needs --topic');
  const num = (flag: string) => opt(args, flag, (v, f) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`${f} expects a number, got '${v}'`);
    return n;
  });
  const filterHeader = args.get('--filter-header');
  const eq = filterHeader?.indexOf('=') ?? -1;
  const filter =
    filterHeader === undefined && args.get('--filter-key-prefix') === undefined
      ? null
      : {
          header_name: filterHeader === undefined ? null : eq > 0 ? filterHeader.slice(0, eq) : filterHeader,
          header_value: filterHeader !== undefined && eq > 0 ? filterHeader.slice(eq + 1) : null,
          key_prefix: args.get('--filter-key-prefix') ?? null,
        };
  return {
    topics,
    filter,
    endpoint: { url: args.need('--url'), method: args.get('--method'), headers: parsePairs(args.all('--header'), '--header'), timeout_ms: num('--timeout-ms') },
    body_format: args.get('--body-format'),
    ordering: args.get('--ordering'),
    max_concurrency: num('--concurrency'),
    rate_limit_per_second: num('--rate-limit'),
    retry: {
      initial_backoff_ms: num('--initial-backoff-ms'),
      max_backoff_ms: num('--max-backoff-ms'),
      multiplier: num('--backoff-multiplier'),
      max_attempts: num('--max-attempts'),
      max_age_ms: num('--max-age-ms'),
    },
    after: args.get('--after'),
    dead_letter_topic: args.get('--dead-letter-topic'),
    secret: args.get('--secret'),
    start_from: args.has('--from-beginning') ? 'earliest' : 'latest',
  };
}

function opt<T>(args: ParsedArgs, flag: string, parse: (v: string, flag: string) => T): T | undefined {
  const v = args.get(flag);
  return v === undefined ? undefined : parse(v, flag);
}

function time(value: string, flag: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new UsageError(`${flag} expects epoch milliseconds or an ISO 8601 time, got '${value}'`);
  return t;
}

function printSubscription(args: ParsedArgs, s: Record<string, unknown>): void {
  output(args, s, () => {
    const parts = (s.partitions as Record<string, unknown>[]) ?? [];
    const head = [
      `name: ${s.name}  state: ${s.state}  owner: ${s.owner ?? '-'}  lag: ${s.lag}`,
      `topics: ${(s.topics as string[]).join(', ')}  ordering: ${s.ordering}  concurrency: ${s.max_concurrency}  rate: ${s.rate_limit_per_second ?? '-'}/s`,
      `endpoint: ${(s.endpoint as { method: string; url: string }).method} ${(s.endpoint as { url: string }).url}  after: ${s.after ?? '-'}  dead letters: ${s.dead_letter_topic ?? '-'}`,
      `records pending: ${s.records_pending}  dead-lettered: ${s.records_dead_lettered}`,
    ].join('\n');
    return `${head}\n${table(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH_WATERMARK', 'LAG', 'OWNER'],
      parts.map((p) => [p.topic as string, p.partition as number, p.committed_offset as number, p.high_watermark as number | null, p.lag as number, p.owner as string | null]),
    )}`;
  });
}
