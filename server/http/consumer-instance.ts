/**
 * One v2 consumer instance (docs/http.md), built in-process on the broker's own group
 * coordinator and partition logs rather than on client/ against the broker's listener: no
 * second protocol round trip per fetch, no socket per instance, and the coordinator's session
 * timeouts and rebalances apply to it exactly as to any member. With a subscription it is a
 * classic "consumer" protocol member with the range assignor (it assigns when it leads), sends
 * heartbeats on its own and rejoins when a rebalance starts; with an assignment it is a simple
 * consumer committing with generation -1, as Kafka's assign() consumers do.
 */
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription } from '../../codec/consumer-protocol.js';
import { ErrorCode } from '../../codec/error-codes.js';
import { encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription } from '../../codec/generated/consumer-protocol.js';
import { Writer } from '../../codec/primitives/writer.js';
import type { KafkaRecord } from '../../codec/records/records.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { JoinMember } from '../groups/types.js';
import type { RestContext } from './context.js';
import { fromKafkaCode, RestError } from './errors.js';
import { readRange } from './reader.js';
import type { ReadFormat } from './record-json.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface InstanceOptions {
  group: string;
  name: string;
  format: ReadFormat;
  autoOffsetReset: 'earliest' | 'latest';
  autoCommit: boolean;
  sessionTimeoutMs: number;
}

const key = (tp: TopicPartition) => `${tp.topic}\0${tp.partition}`;
const ASSIGNOR = 'range';

export class ConsumerInstance {
  lastUsed = Date.now();
  subscription: string[] = [];
  assignment: TopicPartition[] = [];
  private mode: 'none' | 'subscribe' | 'assign' = 'none';
  private memberId = '';
  private generationId = -1;
  private joining: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly positions = new Map<string, bigint>();
  private closed = false;

  constructor(
    private readonly rest: RestContext,
    readonly options: InstanceOptions,
  ) {}

  private coordinator(): GroupCoordinator {
    const c = this.rest.broker.groupCoordinator;
    if (!c) throw new RestError(503, 503, 'No group coordinator runs on this broker', ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return c;
  }

  touch(): void {
    this.lastUsed = Date.now();
  }

  async subscribe(topics: string[]): Promise<void> {
    if (this.mode === 'assign') throw new RestError(409, 40903, 'Subscription to topics, partitions and pattern are mutually exclusive.');
    await this.leave();
    this.mode = 'subscribe';
    this.subscription = [...new Set(topics)].sort();
    this.joining = this.join();
    this.joining.catch(() => undefined);
  }

  async unsubscribe(): Promise<void> {
    await this.leave();
    this.mode = 'none';
    this.subscription = [];
    this.assignment = [];
    this.positions.clear();
  }

  assign(partitions: TopicPartition[]): void {
    if (this.mode === 'subscribe') throw new RestError(409, 40903, 'Subscription to topics, partitions and pattern are mutually exclusive.');
    this.mode = partitions.length > 0 ? 'assign' : 'none';
    this.assignment = partitions;
    for (const k of [...this.positions.keys()]) if (!partitions.some((tp) => key(tp) === k)) this.positions.delete(k);
  }

  /** Waits for a join in progress, so fetches and commits see the current assignment. */
  async ready(): Promise<void> {
    while (this.joining) await this.joining;
  }

  private async join(): Promise<void> {
    const c = this.coordinator();
    try {
      for (let attempt = 0; attempt < 20 && !this.closed && this.mode === 'subscribe'; attempt++) {
        const w = new Writer(64);
        w.int16(0);
        encodeConsumerProtocolSubscription(w, { topics: this.subscription, userData: null, ownedPartitions: [], generationId: -1, rackId: null }, 0);
        const joined = await c.joinGroup({
          groupId: this.options.group,
          memberId: this.memberId,
          groupInstanceId: null,
          clientId: `rest-${this.options.name}`,
          clientHost: 'rest',
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.sessionTimeoutMs,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: [{ name: ASSIGNOR, metadata: w.toBuffer() }],
          requireKnownMemberId: false,
          supportSkippingAssignment: false,
          reason: null,
        });
        if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.memberId = '';
          continue;
        }
        if (joined.errorCode !== ErrorCode.NONE) throw fromKafkaCode(joined.errorCode, 'joining the group failed');
        this.memberId = joined.memberId;
        this.generationId = joined.generationId;
        const assignments = joined.leader === joined.memberId ? this.rangeAssign(joined.members) : [];
        const synced = await c.syncGroup({
          groupId: this.options.group,
          memberId: this.memberId,
          groupInstanceId: null,
          generationId: this.generationId,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocolName: ASSIGNOR,
          assignments,
        });
        if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
        if (synced.errorCode !== ErrorCode.NONE) throw fromKafkaCode(synced.errorCode, 'syncing the group failed');
        const a = decodeAssignment(synced.assignment);
        this.assignment = (a?.assignedPartitions ?? []).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
        for (const k of [...this.positions.keys()]) if (!this.assignment.some((tp) => key(tp) === k)) this.positions.delete(k);
        this.startHeartbeat();
        return;
      }
    } finally {
      this.joining = null;
    }
  }

  /** Kafka's RangeAssignor: per topic, partitions split in contiguous ranges over the members subscribed to it, sorted by member id. */
  private rangeAssign(members: JoinMember[]): { memberId: string; assignment: Buffer }[] {
    const subscribers = new Map<string, string[]>();
    const owned = new Map<string, Map<string, number[]>>();
    for (const m of members) {
      owned.set(m.memberId, new Map());
      for (const t of decodeSubscription(m.metadata)?.topics ?? []) subscribers.set(t, [...(subscribers.get(t) ?? []), m.memberId]);
    }
    for (const [topic, ids] of subscribers) {
      const count = this.rest.broker.catalog.getTopic(topic)?.partitionCount ?? 0;
      ids.sort();
      const per = Math.floor(count / ids.length);
      const extra = count % ids.length;
      ids.forEach((id, i) => {
        const start = per * i + Math.min(i, extra);
        const n = per + (i < extra ? 1 : 0);
        if (n > 0) owned.get(id)!.set(topic, Array.from({ length: n }, (_, j) => start + j));
      });
    }
    return [...owned].map(([memberId, topics]) => {
      const w = new Writer(64);
      w.int16(0);
      encodeConsumerProtocolAssignment(w, { assignedPartitions: [...topics].map(([topic, partitions]) => ({ topic, partitions })), userData: null }, 0);
      return { memberId, assignment: w.toBuffer() };
    });
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const interval = Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3));
    this.heartbeat = setInterval(() => {
      if (this.joining || this.closed) return;
      const code = this.coordinator().heartbeat({ groupId: this.options.group, memberId: this.memberId, groupInstanceId: null, generationId: this.generationId });
      if (code === ErrorCode.NONE) return;
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      // A rebalance started (or the member was dropped): join again in the background.
      this.joining = this.join();
      this.joining.catch((err) => this.rest.broker.logger.warn({ err, group: this.options.group }, 'REST consumer rejoin failed'));
    }, interval);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async leave(): Promise<void> {
    await this.ready().catch(() => undefined);
    this.stopHeartbeat();
    if (this.memberId !== '' && this.rest.broker.groupCoordinator) {
      this.rest.broker.groupCoordinator.leaveGroup(this.options.group, [{ memberId: this.memberId, groupInstanceId: null, reason: 'REST consumer instance left' }]);
    }
    this.memberId = '';
    this.generationId = -1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.leave();
    this.closed = true;
  }

  private async committed(partitions: TopicPartition[]): Promise<Map<string, { offset: bigint; metadata: string }>> {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const result = await this.coordinator().fetchOffsets(this.options.group, [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })));
    if (result.errorCode !== ErrorCode.NONE) throw fromKafkaCode(result.errorCode, null);
    return new Map(result.offsets.filter((o) => o.offset >= 0n).map((o) => [key(o), { offset: o.offset, metadata: o.metadata }]));
  }

  async committedOffsets(partitions: TopicPartition[]): Promise<{ topic: string; partition: number; offset: number; metadata: string }[]> {
    const committed = await this.committed(partitions);
    return partitions.map((tp) => {
      const c = committed.get(key(tp));
      return { topic: tp.topic, partition: tp.partition, offset: c ? Number(c.offset) : -1, metadata: c?.metadata ?? '' };
    });
  }

  /** Commits `offsets` (the next offset to read, as Kafka stores it); none given: the current positions. */
  async commit(offsets: { tp: TopicPartition; next: bigint }[] | null): Promise<void> {
    await this.ready();
    const list = offsets ?? [...this.positions].map(([k, next]) => {
      const [topic, p] = k.split('\0');
      return { tp: { topic: topic!, partition: Number(p) }, next };
    });
    if (list.length === 0) return;
    const subscribed = this.mode === 'subscribe';
    const errors = await this.coordinator().commitOffsets({
      groupId: this.options.group,
      memberId: subscribed ? this.memberId : '',
      groupInstanceId: null,
      generationId: subscribed ? this.generationId : -1,
      retentionTimeMs: -1,
      partitions: list.map(({ tp, next }) => ({ topic: tp.topic, partition: tp.partition, offset: next, leaderEpoch: -1, metadata: '', commitTimestamp: -1 })),
    });
    const failed = errors.find((e) => e.errorCode !== ErrorCode.NONE);
    if (failed) throw fromKafkaCode(failed.errorCode, `commit of ${failed.topic}-${failed.partition} failed`);
  }

  seek(tp: TopicPartition, offset: bigint): void {
    this.requireAssigned(tp);
    this.positions.set(key(tp), offset);
  }

  async seekToEdge(tp: TopicPartition, edge: 'beginning' | 'end'): Promise<void> {
    this.requireAssigned(tp);
    const topic = this.rest.broker.catalog.getTopic(tp.topic);
    if (!topic) throw new RestError(404, 40403, `Topic ${tp.topic} not found.`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const log = await this.rest.broker.logs.getLog(topic.topicId, tp.partition);
    this.positions.set(key(tp), edge === 'beginning' ? log.logStartOffset() : log.highWatermark());
  }

  private requireAssigned(tp: TopicPartition): void {
    if (!this.assignment.some((a) => key(a) === key(tp))) throw new RestError(409, 40903, `Partition ${tp.topic}-${tp.partition} is not assigned to this consumer instance.`);
  }

  private async position(tp: TopicPartition, committed: Map<string, { offset: bigint }>): Promise<bigint | null> {
    const known = this.positions.get(key(tp));
    if (known !== undefined) return known;
    const topic = this.rest.broker.catalog.getTopic(tp.topic);
    if (!topic || tp.partition >= topic.partitionCount) return null;
    const log = await this.rest.broker.logs.getLog(topic.topicId, tp.partition);
    const c = committed.get(key(tp));
    const start = c ? c.offset : this.options.autoOffsetReset === 'earliest' ? log.logStartOffset() : log.highWatermark();
    this.positions.set(key(tp), start);
    return start;
  }

  /** The positions, to put back when fetched records cannot be rendered (see consumers.ts). */
  snapshot(): Map<string, bigint> {
    return new Map(this.positions);
  }

  restore(positions: Map<string, bigint>): void {
    this.positions.clear();
    for (const [k, v] of positions) this.positions.set(k, v);
  }

  /** auto.commit.enable: after records were handed out, their positions are committed. */
  async autoCommit(): Promise<void> {
    if (this.options.autoCommit) await this.commit(null);
  }

  /** Records from the assigned partitions' positions, waiting up to timeoutMs for some to arrive. */
  async fetch(timeoutMs: number, maxBytes: number): Promise<{ tp: TopicPartition; record: KafkaRecord }[]> {
    await this.ready();
    const deadline = Date.now() + timeoutMs;
    const missing = this.assignment.filter((tp) => !this.positions.has(key(tp)));
    const committed = missing.length > 0 ? await this.committed(missing) : new Map();
    for (;;) {
      const out: { tp: TopicPartition; record: KafkaRecord }[] = [];
      let budget = maxBytes;
      const waits: (() => void)[] = [];
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      for (const tp of this.assignment) {
        if (budget <= 0) break;
        const topic = this.rest.broker.catalog.getTopic(tp.topic);
        const from = await this.position(tp, committed);
        if (!topic || from === null) continue;
        let read;
        try {
          read = await readRange(this.rest, topic, tp.partition, from, 10_000, budget);
        } catch (err) {
          if (!(err instanceof RestError) || err.status !== 416) throw err;
          // Out of range: auto.offset.reset, as a Kafka consumer does.
          this.positions.delete(key(tp));
          await this.position(tp, new Map());
          continue;
        }
        for (const record of read.records) {
          out.push({ tp, record });
          budget -= (record.key?.length ?? 0) + (record.value?.length ?? 0);
        }
        this.positions.set(key(tp), read.nextOffset);
        if (out.length === 0) waits.push((await this.rest.broker.logs.getLog(topic.topicId, tp.partition)).onAppend(wake));
      }
      const remaining = deadline - Date.now();
      if (out.length > 0 || remaining <= 0 || this.assignment.length === 0) {
        for (const stop of waits) stop();
        return out;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      clearTimeout(timer);
      for (const stop of waits) stop();
    }
  }
}
