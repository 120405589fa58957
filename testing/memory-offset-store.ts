import { MAX_GROUP_ID_BYTES, type ExpireRule, type OffsetRecord, type OffsetStore, type StoredGroup, type TopicPartitions } from '../storage/offset-store.js';
import { MAX_TOPIC_NAME_LENGTH } from '../storage/topic-catalog.js';

/**
 * OffsetStore in a Map, with the MySQL store's semantics, for the coordinator's unit tests; not
 * used by the broker. storage/offset-store.conformance.ts runs the same suite on it and on MySQL.
 */
export class MemoryOffsetStore implements OffsetStore {
  readonly groups = new Map<string, Map<string, OffsetRecord>>();
  /** Set to make every call reject, to test failure paths. */
  failWith: Error | null = null;

  private check(): void {
    if (this.failWith) throw this.failWith;
  }

  async commit(groupId: string, offsets: readonly OffsetRecord[]): Promise<void> {
    this.check();
    if (offsets.length === 0) return;
    // What the group_offsets columns refuse, refused before anything is stored (one statement).
    if (Buffer.byteLength(groupId, 'utf8') > MAX_GROUP_ID_BYTES) throw new Error(`group id longer than ${MAX_GROUP_ID_BYTES} bytes`);
    for (const o of offsets) {
      if (o.topic.length > MAX_TOPIC_NAME_LENGTH || !/^[\x00-\x7f]*$/.test(o.topic)) throw new Error(`topic name not storable: ${o.topic}`);
    }
    let g = this.groups.get(groupId);
    if (!g) this.groups.set(groupId, (g = new Map()));
    for (const o of offsets) g.set(key(o.topic, o.partition), { ...o });
  }

  async fetch(groupId: string, partitions: readonly TopicPartitions[] | null): Promise<OffsetRecord[]> {
    this.check();
    const g = this.groups.get(groupId);
    if (!g) return [];
    const all = [...g.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    if (partitions === null) return all.map((o) => ({ ...o }));
    const wanted = new Set<string>();
    for (const t of partitions) for (const p of t.partitions) wanted.add(key(t.topic, p));
    return all.filter((o) => wanted.has(key(o.topic, o.partition))).map((o) => ({ ...o }));
  }

  async deleteGroups(groupIds: readonly string[]): Promise<number> {
    this.check();
    let n = 0;
    for (const id of groupIds) {
      n += this.groups.get(id)?.size ?? 0;
      this.groups.delete(id);
    }
    return n;
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitions[]): Promise<number> {
    this.check();
    const g = this.groups.get(groupId);
    if (!g) return 0;
    let n = 0;
    for (const t of partitions) for (const p of t.partitions) if (g.delete(key(t.topic, p))) n++;
    if (g.size === 0) this.groups.delete(groupId);
    return n;
  }

  async deleteTopics(topics: readonly string[]): Promise<number> {
    this.check();
    const names = new Set(topics);
    let n = 0;
    for (const [id, g] of this.groups) {
      for (const [k, o] of g) {
        if (names.has(o.topic)) {
          g.delete(k);
          n++;
        }
      }
      if (g.size === 0) this.groups.delete(id);
    }
    return n;
  }

  async expireOffsets(groupId: string, rule: ExpireRule): Promise<number> {
    this.check();
    const g = this.groups.get(groupId);
    if (!g) return 0;
    const keep = new Set(rule.keepTopics ?? []);
    const cutoff = rule.now - rule.retentionMs;
    let n = 0;
    for (const [k, o] of g) {
      if (keep.has(o.topic)) continue;
      const expired =
        o.expireTimestamp !== null ? o.expireTimestamp <= rule.now : (rule.since ?? o.commitTimestamp) <= cutoff;
      if (expired) {
        g.delete(k);
        n++;
      }
    }
    if (g.size === 0) this.groups.delete(groupId);
    return n;
  }

  async listGroups(): Promise<StoredGroup[]> {
    this.check();
    return [...this.groups].map(([groupId, g]) => ({
      groupId,
      offsetCount: g.size,
      lastCommitTimestamp: Math.max(...[...g.values()].map((o) => o.commitTimestamp)),
    }));
  }

  async existingGroups(groupIds: readonly string[]): Promise<Set<string>> {
    this.check();
    return new Set(groupIds.filter((id) => this.groups.has(id)));
  }
}

function key(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}
