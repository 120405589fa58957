import type { KafkaAdmin } from '../../client/admin.js';
import { CommandError, parseArgs, parseInteger, UsageError, type ParsedArgs } from './args.js';
import { describeKafkaError, output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql groups list|describe|reset-offsets|delete`, in the spirit of
 * kafka-consumer-groups.sh, over client/admin.ts. reset-offsets previews unless --execute and,
 * like Kafka's tool, is refused while the group has members (state other than Empty/Dead).
 * Targets are clamped to [log start, high watermark], as Kafka's tool does.
 */
export const GROUPS_USAGE = `groups list
  groups describe --group G                  members, committed offsets, log end offsets and lag
  groups reset-offsets --group G (--topic T[:P,P...] ... | --all-topics)
        (--to-earliest | --to-latest | --to-datetime ISO-8601 | --to-offset N | --shift-by N) [--execute]
        prints the plan; only --execute commits it (refused while the group has members)
  groups delete --group G [--group G2 ...]`;

export async function groupsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, {
    booleans: ['--all-topics', '--to-earliest', '--to-latest', '--execute', '--dry-run'],
    values: ['--to-datetime', '--to-offset', '--shift-by'],
    repeatable: ['--group', '--topic'],
  });
  switch (sub) {
    case 'list':
      return withAdmin(args, async (admin) => {
        const groups = await admin.listGroups();
        const ids = groups.map((g) => g.groupId).sort();
        output(args, { groups: groups.sort((a, b) => a.groupId.localeCompare(b.groupId)) }, () => ids.join('\n'));
      });
    case 'describe':
      return withAdmin(args, async (admin) => {
        const groupId = single(args.all('--group'));
        const d = await describeGroup(admin, groupId);
        output(args, d, () => {
          const head = `GROUP ${groupId}  STATE ${d.state}  MEMBERS ${d.members.length}`;
          if (d.offsets.length === 0) return `${head}\n(no committed offsets)`;
          const rows = d.offsets.map((o) => [groupId, o.topic, o.partition, o.currentOffset, o.logEndOffset, o.lag, o.consumerId, o.host, o.clientId]);
          return `${head}\n${table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], rows)}`;
        });
      });
    case 'reset-offsets':
      return withAdmin(args, (admin) => resetOffsets(admin, args));
    case 'delete':
      return withAdmin(args, async (admin) => {
        const groups = args.all('--group');
        if (groups.length === 0) throw new UsageError('--group is required');
        let results;
        try {
          results = await admin.deleteGroups(groups);
        } catch (err) {
          throw new CommandError(`cannot delete: ${describeKafkaError(err)}`);
        }
        const failed = results.filter((r) => r.error !== null).map((r) => `${r.groupId}: ${r.error!.type} ${r.error!.message}`);
        if (failed.length > 0) throw new CommandError(`cannot delete: ${failed.join('; ')}`);
        output(args, { deleted: groups }, () => groups.map((g) => `Deleted group ${g}.`).join('\n'));
      });
    default:
      throw new UsageError(`unknown groups command '${sub ?? ''}'\nusage: kafka-mysql ${GROUPS_USAGE}`);
  }
}

interface OffsetRow {
  topic: string;
  partition: number;
  currentOffset: string | null;
  logEndOffset: string;
  lag: string | null;
  consumerId: string | null;
  host: string | null;
  clientId: string | null;
}

async function describeGroup(admin: KafkaAdmin, groupId: string) {
  const g = await admin.describeGroup(groupId);
  if (g.state === 'Dead') throw new CommandError(`group ${groupId} does not exist`);
  const owners = new Map<string, { memberId: string; clientHost: string; clientId: string }>();
  for (const m of g.members) {
    for (const { topic, partitions } of m.assignment?.assignedPartitions ?? []) {
      for (const p of partitions) owners.set(`${topic}:${p}`, m);
    }
  }
  const committed = await admin.fetchOffsets(groupId);
  const offsets: OffsetRow[] = [];
  for (const t of committed.sort((a, b) => a.topic.localeCompare(b.topic))) {
    const ends = await admin.fetchTopicOffsets(t.topic);
    for (const p of t.partitions.sort((a, b) => a.partition - b.partition)) {
      const end = ends.find((e) => e.partition === p.partition)?.high ?? -1n;
      const current = p.offset >= 0n ? p.offset : null;
      const owner = owners.get(`${t.topic}:${p.partition}`);
      offsets.push({
        topic: t.topic,
        partition: p.partition,
        currentOffset: current === null ? null : String(current),
        logEndOffset: String(end),
        lag: current === null ? null : String(end - current),
        consumerId: owner?.memberId ?? null,
        host: owner?.clientHost ?? null,
        clientId: owner?.clientId ?? null,
      });
    }
  }
  return { group: groupId, state: g.state, protocol: g.protocol, members: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost })), offsets };
}

async function resetOffsets(admin: KafkaAdmin, args: ParsedArgs): Promise<void> {
  const groupId = single(args.all('--group'));
  const modes = ['--to-earliest', '--to-latest', '--to-datetime', '--to-offset', '--shift-by'].filter((m) => args.has(m));
  if (modes.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by');
  const mode = modes[0]!;
  const execute = args.has('--execute');
  if (args.has('--all-topics') === args.all('--topic').length > 0) throw new UsageError('give --topic (one or more) or --all-topics');

  const { state } = await admin.describeGroup(groupId);
  if (state !== 'Empty' && state !== 'Dead') {
    throw new CommandError(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`);
  }
  const committed = await admin.fetchOffsets(groupId);
  const current = new Map<string, bigint>();
  for (const t of committed) for (const p of t.partitions) if (p.offset >= 0n) current.set(`${t.topic}:${p.partition}`, p.offset);

  // Which partitions.
  const targets: Array<{ topic: string; partitions: number[] | null }> = args.has('--all-topics')
    ? committed.filter((t) => t.partitions.some((p) => p.offset >= 0n)).map((t) => ({ topic: t.topic, partitions: t.partitions.filter((p) => p.offset >= 0n).map((p) => p.partition) }))
    : args.all('--topic').map((spec) => {
        const colon = spec.indexOf(':');
        if (colon < 0) return { topic: spec, partitions: null };
        return { topic: spec.slice(0, colon), partitions: spec.slice(colon + 1).split(',').map((p) => parseInteger(p, '--topic')) };
      });
  const known = new Set(await admin.listTopics());
  const plan: Array<{ topic: string; partition: number; currentOffset: string | null; newOffset: string }> = [];
  for (const target of targets) {
    if (!known.has(target.topic)) throw new CommandError(`unknown topic ${target.topic}`);
    const ends = await admin.fetchTopicOffsets(target.topic);
    const partitions = target.partitions ?? ends.map((e) => e.partition).sort((a, b) => a - b);
    let byTime: Array<{ partition: number; offset: bigint }> | null = null;
    if (mode === '--to-datetime') {
      const ts = Date.parse(args.get('--to-datetime')!);
      if (Number.isNaN(ts)) throw new UsageError(`--to-datetime expects an ISO-8601 date, got '${args.get('--to-datetime')}'`);
      byTime = await admin.fetchTopicOffsetsByTimestamp(target.topic, ts);
    }
    for (const partition of partitions) {
      const e = ends.find((x) => x.partition === partition);
      if (!e) throw new CommandError(`topic ${target.topic} has no partition ${partition}`);
      const { low, high } = e;
      const cur = current.get(`${target.topic}:${partition}`) ?? null;
      let next: bigint;
      switch (mode) {
        case '--to-earliest':
          next = low;
          break;
        case '--to-latest':
          next = high;
          break;
        case '--to-datetime': {
          const found = byTime!.find((x) => x.partition === partition);
          next = found && found.offset >= 0n ? found.offset : high;
          break;
        }
        case '--to-offset':
          next = BigInt(parseInteger(args.get('--to-offset')!, '--to-offset'));
          break;
        default:
          next = (cur ?? low) + BigInt(parseInteger(args.get('--shift-by')!, '--shift-by'));
      }
      if (next < low) next = low;
      if (next > high) next = high;
      plan.push({ topic: target.topic, partition, currentOffset: cur === null ? null : String(cur), newOffset: String(next) });
    }
  }
  if (execute) {
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const p of plan) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: BigInt(p.newOffset) }]);
    for (const [topic, partitions] of byTopic) {
      try {
        await admin.commitOffsets(groupId, topic, partitions);
      } catch (err) {
        throw new CommandError(`cannot reset offsets of ${groupId} on ${topic}: ${describeKafkaError(err)}`);
      }
    }
  }
  output(args, { group: groupId, executed: execute, offsets: plan }, () => {
    const rows = plan.map((p) => [groupId, p.topic, p.partition, p.currentOffset, p.newOffset]);
    const note = execute ? '' : '\n(preview only: add --execute to commit these offsets)';
    return table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], rows) + note;
  });
}

function single(values: string[]): string {
  if (values.length !== 1) throw new UsageError('exactly one --group is required');
  return values[0]!;
}
