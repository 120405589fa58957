/**
 * Offset reset for the console, the same plan as `kafka-mysql groups reset-offsets`
 * (server/cli/groups.ts, after Kafka's kafka-consumer-groups.sh): earliest, latest, a time (the
 * first offset at or after it; the log end when none), an offset, or a shift of the committed
 * offset (the log start when none); every target clamped to [log start, high watermark].
 * Refused while the group has members (any state other than Empty or Dead), checked again
 * just before executing. Executing commits the plan with OffsetCommit as a simple consumer
 * (generation -1), through the handler, as the console user, at the group's coordinator
 * (cluster-groups.ts).
 */
import { ErrorCode } from '../../codec/error-codes.js';
import { createOffsetCommitRequest } from '../../codec/generated/offset-commit.js';
import type { TopicRecord } from '../../storage/types.js';
import { fromKafkaCode, RestError, topicNotFound } from '../http/errors.js';
import { commitOffsets } from './cluster-groups.js';
import { canDescribeTopic, type ConsoleRequest } from './context.js';

export type ResetMode = 'earliest' | 'latest' | 'datetime' | 'offset' | 'shift';

export interface ResetRequest {
  mode: ResetMode;
  /** datetime: ISO 8601 or epoch ms; offset and shift: an integer. */
  value?: string | number;
  /** Topics, each with its partitions or all of them; absent: every topic with a committed offset. */
  topics?: Array<{ topic: string; partitions?: number[] }>;
  execute?: boolean;
}

export interface PlannedOffset {
  topic: string;
  partition: number;
  current_offset: number | null;
  new_offset: number;
  log_start_offset: number;
  log_end_offset: number;
}

export function parseResetRequest(body: Record<string, unknown>): ResetRequest {
  const mode = body.mode;
  if (mode !== 'earliest' && mode !== 'latest' && mode !== 'datetime' && mode !== 'offset' && mode !== 'shift') throw new RestError(422, 422, 'mode must be earliest, latest, datetime, offset or shift');
  const out: ResetRequest = { mode, execute: body.execute === true };
  if (mode === 'datetime' || mode === 'offset' || mode === 'shift') {
    const v = body.value;
    if (typeof v !== 'string' && typeof v !== 'number') throw new RestError(422, 422, `value is required for mode ${mode}`);
    out.value = v;
  }
  if (body.topics !== undefined && body.topics !== null) {
    if (!Array.isArray(body.topics) || body.topics.length > 10_000) throw new RestError(422, 422, 'topics must be an array of {"topic": string, "partitions"?: [int]}');
    out.topics = body.topics.map((t) => {
      if (typeof t !== 'object' || t === null || typeof t.topic !== 'string') throw new RestError(422, 422, 'topics[].topic must be a string');
      const parts = (t as { partitions?: unknown }).partitions;
      if (parts !== undefined && (!Array.isArray(parts) || !parts.every((p) => Number.isInteger(p) && p >= 0))) throw new RestError(422, 422, 'topics[].partitions must be partition numbers');
      return parts === undefined ? { topic: t.topic } : { topic: t.topic, partitions: parts as number[] };
    });
  }
  return out;
}

function integer(value: string | number | undefined, what: string): bigint {
  const s = String(value ?? '');
  if (!/^-?\d+$/.test(s)) throw new RestError(422, 422, `${what} must be an integer, got '${s}'`);
  return BigInt(s);
}

export async function planReset(r: ConsoleRequest, groupId: string, reset: ResetRequest, current: Map<string, bigint>): Promise<PlannedOffset[]> {
  const { broker } = r.state.deps;
  const targets: Array<{ topic: TopicRecord; partitions: number[] }> = [];
  const named = reset.topics ?? [...new Set([...current.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))].map((topic) => ({ topic, partitions: [...current.keys()].filter((k) => k.slice(0, k.lastIndexOf(':')) === topic).map((k) => Number(k.slice(k.lastIndexOf(':') + 1))) }));
  for (const t of named) {
    const topic = broker.catalog.getTopic(t.topic);
    if (!topic || !canDescribeTopic(r, t.topic)) throw topicNotFound(t.topic);
    const partitions = t.partitions ?? Array.from({ length: topic.partitionCount }, (_, p) => p);
    for (const p of partitions) if (p >= topic.partitionCount) throw new RestError(404, 40402, `Topic ${topic.name} has no partition ${p}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    targets.push({ topic, partitions: [...partitions].sort((a, b) => a - b) });
  }
  let time: bigint | null = null;
  if (reset.mode === 'datetime') {
    const v = String(reset.value);
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isNaN(ms)) throw new RestError(422, 422, `value must be an ISO 8601 date-time, got '${v}'`);
    time = BigInt(ms);
  }
  const plan: PlannedOffset[] = [];
  for (const { topic, partitions } of targets) {
    for (const p of partitions) {
      const log = await broker.logs.getLog(topic.topicId, p);
      const low = log.logStartOffset();
      const high = log.highWatermark();
      const cur = current.get(`${topic.name}:${p}`) ?? null;
      let next: bigint;
      switch (reset.mode) {
        case 'earliest':
          next = low;
          break;
        case 'latest':
          next = high;
          break;
        case 'datetime': {
          const found = await log.offsetForTimestamp(time!);
          next = found && found.offset >= 0n ? found.offset : high;
          break;
        }
        case 'offset':
          next = integer(reset.value, 'value');
          break;
        default:
          next = (cur ?? low) + integer(reset.value, 'value');
      }
      if (next < low) next = low;
      if (next > high) next = high;
      plan.push({ topic: topic.name, partition: p, current_offset: cur === null ? null : Number(cur), new_offset: Number(next), log_start_offset: Number(low), log_end_offset: Number(high) });
    }
  }
  return plan;
}

export async function commitPlan(r: ConsoleRequest, groupId: string, plan: PlannedOffset[]): Promise<void> {
  const byTopic = new Map<string, PlannedOffset[]>();
  for (const p of plan) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  const response = await commitOffsets(
    r,
    createOffsetCommitRequest({
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: BigInt(p.new_offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' })) })),
    }),
  );
  for (const t of response.topics) for (const p of t.partitions) if (p.errorCode !== ErrorCode.NONE) throw fromKafkaCode(p.errorCode, `cannot reset ${t.name}-${p.partitionIndex}`);
}
