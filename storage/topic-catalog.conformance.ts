import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import type { TopicCatalog, TopicRecord } from './types.js';

/**
 * The behaviour every TopicCatalog must show, written once and run against MySQL and the
 * in-memory double (testing/memory-topic-catalog.ts), so the double cannot drift from the real
 * thing. Harness catalogs have one shard, so every partition is placed on shard 0.
 */
export interface TopicCatalogHarness {
  /** A catalog holding no topics (a new one, or the same one emptied and refreshed). */
  emptyCatalog(): Promise<TopicCatalog>;
  close(): Promise<void>;
}

async function codeOf(p: Promise<unknown>): Promise<number> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  return (err as KafkaError).code;
}

const names = (topics: TopicRecord[]) => topics.map((t) => t.name).sort();

export function describeTopicCatalog(name: string, factory: () => Promise<TopicCatalogHarness>): void {
  describe(`TopicCatalog conformance: ${name}`, () => {
    let harness: TopicCatalogHarness;
    let catalog: TopicCatalog;
    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.close();
    });
    const fresh = async () => (catalog = await harness.emptyCatalog());

    it('creates a topic with a random id and its configs, visible by name, by id and in the list', async () => {
      await fresh();
      const t = await catalog.createTopic({ name: 'orders.v1', partitions: 3, configs: { 'retention.ms': '1000' } });
      expect(t).toEqual({
        name: 'orders.v1',
        topicId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        partitionCount: 3,
        configs: { 'retention.ms': '1000' },
        shardOfPartition: [0, 0, 0],
        isInternal: false,
      });
      expect(catalog.getTopic('orders.v1')).toEqual(t);
      expect(catalog.getTopicById(t.topicId)).toEqual(t);
      expect(names(catalog.listTopics())).toEqual(['orders.v1']);
      const other = await catalog.createTopic({ name: 'orders.v2', partitions: 1, configs: {} });
      expect(other.topicId).not.toBe(t.topicId);
      expect(names(catalog.listTopics())).toEqual(['orders.v1', 'orders.v2']);
    });

    it('keeps its own copy of the configs it was given', async () => {
      await fresh();
      const configs = { 'cleanup.policy': 'delete' };
      await catalog.createTopic({ name: 'copied', partitions: 1, configs });
      configs['cleanup.policy'] = 'compact';
      expect(catalog.getTopic('copied')!.configs).toEqual({ 'cleanup.policy': 'delete' });
      const replacement = { a: '1' };
      await catalog.setTopicConfigs('copied', replacement);
      replacement.a = '2';
      expect(catalog.getTopic('copied')!.configs).toEqual({ a: '1' });
    });

    it('enforces Kafka topic name rules', async () => {
      await fresh();
      for (const bad of ['', '.', '..', 'a b', 'ünï', 'a/b', 'x'.repeat(250)]) {
        expect(await codeOf(catalog.createTopic({ name: bad, partitions: 1, configs: {} }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      }
      const ok = await catalog.createTopic({ name: 'A-z_0.9' + 'x'.repeat(242), partitions: 1, configs: {} });
      expect(ok.name).toHaveLength(249);
      expect(catalog.listTopics()).toHaveLength(1);
    });

    it('rejects a partition count below one or not whole, after the name and before looking for duplicates', async () => {
      await fresh();
      for (const partitions of [0, -3, 1.5]) {
        expect(await codeOf(catalog.createTopic({ name: 'nope', partitions, configs: {} }))).toBe(ErrorCode.INVALID_PARTITIONS);
      }
      expect(catalog.getTopic('nope')).toBeUndefined();
      expect(await codeOf(catalog.createTopic({ name: 'a b', partitions: 0, configs: {} }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      await catalog.createTopic({ name: 'taken', partitions: 1, configs: {} });
      expect(await codeOf(catalog.createTopic({ name: 'taken', partitions: 0, configs: {} }))).toBe(ErrorCode.INVALID_PARTITIONS);
    });

    it('rejects duplicates and names colliding on . versus _, either way round; names are case-sensitive', async () => {
      await fresh();
      const dup = await catalog.createTopic({ name: 'dup', partitions: 1, configs: {} });
      expect(await codeOf(catalog.createTopic({ name: 'dup', partitions: 2, configs: {} }))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
      expect(catalog.getTopic('dup')).toEqual(dup);
      await catalog.createTopic({ name: 'metric.name', partitions: 1, configs: {} });
      expect(await codeOf(catalog.createTopic({ name: 'metric_name', partitions: 1, configs: {} }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      await catalog.createTopic({ name: 'under_score', partitions: 1, configs: {} });
      expect(await codeOf(catalog.createTopic({ name: 'under.score', partitions: 1, configs: {} }))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      const upper = await catalog.createTopic({ name: 'DUP', partitions: 1, configs: {} });
      expect(upper.name).toBe('DUP');
      expect(names(catalog.listTopics())).toEqual(['DUP', 'dup', 'metric.name', 'under_score']);
    });

    it('deletes a topic, returning it as it was; the name (and its . / _ twin) is free again', async () => {
      await fresh();
      const t = await catalog.createTopic({ name: 'doomed.topic', partitions: 2, configs: { a: 'b' } });
      const kept = await catalog.createTopic({ name: 'kept', partitions: 1, configs: {} });
      expect(await catalog.deleteTopic('doomed.topic')).toEqual(t);
      expect(catalog.getTopic('doomed.topic')).toBeUndefined();
      expect(catalog.getTopicById(t.topicId)).toBeUndefined();
      expect(catalog.listTopics()).toEqual([kept]);
      expect(await codeOf(catalog.deleteTopic('doomed.topic'))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect(await codeOf(catalog.deleteTopic('never'))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const again = await catalog.createTopic({ name: 'doomed.topic', partitions: 1, configs: {} });
      expect(again.topicId).not.toBe(t.topicId);
      expect(again.configs).toEqual({});
      await catalog.deleteTopic('doomed.topic');
      expect((await catalog.createTopic({ name: 'doomed_topic', partitions: 1, configs: {} })).name).toBe('doomed_topic');
    });

    it('replaces topic configs (empty values kept, an empty set clears them)', async () => {
      await fresh();
      await catalog.createTopic({ name: 'configured', partitions: 1, configs: { x: '1', y: '2' } });
      await catalog.setTopicConfigs('configured', { y: '3', z: '4', empty: '' });
      expect(catalog.getTopic('configured')!.configs).toEqual({ y: '3', z: '4', empty: '' });
      await catalog.refresh();
      expect(catalog.getTopic('configured')!.configs).toEqual({ y: '3', z: '4', empty: '' });
      await catalog.setTopicConfigs('configured', {});
      await catalog.refresh();
      expect(catalog.getTopic('configured')!.configs).toEqual({});
      expect(await codeOf(catalog.setTopicConfigs('missing', {}))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });

    it('adds partitions, never removes them', async () => {
      await fresh();
      const t = await catalog.createTopic({ name: 'growing', partitions: 2, configs: { k: 'v' } });
      const grown = await catalog.addPartitions('growing', 5);
      const want = { ...t, partitionCount: 5, shardOfPartition: [0, 0, 0, 0, 0] };
      expect(grown).toEqual(want);
      expect(catalog.getTopic('growing')).toEqual(want);
      expect(catalog.getTopicById(t.topicId)).toEqual(want);
      for (const total of [5, 3, 5.5]) {
        expect(await codeOf(catalog.addPartitions('growing', total))).toBe(ErrorCode.INVALID_PARTITIONS);
      }
      expect(await codeOf(catalog.addPartitions('missing', 3))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      await catalog.refresh();
      expect(catalog.getTopic('growing')).toEqual(want);
    });

    it('creates internal topics when asked', async () => {
      await fresh();
      const t = await catalog.createTopic({ name: '__internal', partitions: 1, configs: {}, isInternal: true });
      expect(t.isInternal).toBe(true);
      await catalog.refresh();
      expect(catalog.getTopic('__internal')!.isInternal).toBe(true);
      expect(names(catalog.listTopics())).toEqual(['__internal']);
    });

    it('keeps the same view across refresh', async () => {
      await fresh();
      const a = await catalog.createTopic({ name: 'a', partitions: 2, configs: { 'retention.ms': '-1' } });
      const b = await catalog.createTopic({ name: 'b', partitions: 1, configs: {}, isInternal: true });
      await catalog.refresh();
      expect(catalog.getTopic('a')).toEqual(a);
      expect(catalog.getTopicById(b.topicId)).toEqual(b);
      expect(names(catalog.listTopics())).toEqual(['a', 'b']);
    });
  });
}
