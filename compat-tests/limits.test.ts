/**
 * Limits on what one request may ask for: partitions per topic and in the cluster
 * (max.partitions.per.topic, max.partitions) and topics auto-created per Metadata request
 * and per second. Each is refused with its error code before any MySQL work, and the broker
 * keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { decodeResponseFrame } from '../codec/client.js';
import { createCreateTopicsRequest, createCreateTopicsRequestCreatableTopic } from '../codec/generated/create-topics.js';
import { createMetadataRequest, createMetadataRequestMetadataRequestTopic } from '../codec/generated/metadata.js';
import { CREATE_PARTITIONS_REPRODUCTION } from '../scripts/fuzz/frames.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { RawClient } from './support/clients.js';

let tb: TestBroker;
let client: RawClient;

beforeAll(async () => {
  tb = await startTestBroker('limits', {
    'max.partitions.per.topic': 50,
    'max.partitions': 60,
  });
  client = await RawClient.connect(tb.port);
});

afterAll(async () => {
  client?.close();
  await tb?.stop();
});

const createTopic = (name: string, numPartitions: number) =>
  client.request(19, 5, createCreateTopicsRequest({
    timeoutMs: 5000,
    topics: [createCreateTopicsRequestCreatableTopic({ name, numPartitions, replicationFactor: -1 })],
  }));

describe('partition limits', () => {
  it('answers the 8,388,611-partition CreatePartitions frame with INVALID_PARTITIONS', async () => {
    expect((await createTopic('seed2', 1)).topics[0]!.errorCode).toBe(ErrorCode.NONE);
    // The frame carries correlation id 7; this connection's own ids start at 1 and are past it.
    const answer = await client.sendFrame(7, CREATE_PARTITIONS_REPRODUCTION);
    const result = decodeResponseFrame(37, 3, answer).body.results[0]!;
    expect(result.name).toBe('seed2');
    expect(result.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(result.errorMessage).toContain('max.partitions.per.topic');
    expect(tb.broker.context.catalog.getTopic('seed2')!.partitionCount).toBe(1);
  });

  it('refuses CreateTopics with 1,000,000 partitions, and one over the per-topic limit', async () => {
    expect((await createTopic('huge', 1_000_000)).topics[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await createTopic('just-over', 51)).topics[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(tb.broker.context.catalog.getTopic('huge')).toBeUndefined();
    expect(tb.broker.context.catalog.getTopic('just-over')).toBeUndefined();
  });

  it('refuses what would pass the cluster limit with POLICY_VIOLATION, and takes what fits', async () => {
    // 1 partition (seed2) exists; 50 fit under the cluster's 60, then 10 more do not.
    expect((await createTopic('fifty', 50)).topics[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await createTopic('ten-more', 10)).topics[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect((await createTopic('nine-more', 9)).topics[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('auto-creation limits', () => {
  it('creates at most auto.create.topics.max.per.request topics for one Metadata request', async () => {
    const other = await startTestBroker('limits-auto', { 'auto.create.topics.max.per.request': 5, 'auto.create.topics.max.per.second': 1000 });
    const raw = await RawClient.connect(other.port);
    try {
      const names = Array.from({ length: 12 }, (_, i) => `auto-${i}`);
      const response = await raw.request(3, 9, createMetadataRequest({
        topics: names.map((name) => createMetadataRequestMetadataRequestTopic({ name })),
        allowAutoTopicCreation: true,
      }));
      const codes = response.topics.map((t) => t.errorCode);
      expect(codes.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
      expect(codes.slice(5)).toEqual(Array(7).fill(ErrorCode.LEADER_NOT_AVAILABLE));
      expect(other.broker.context.catalog.listTopics().map((t) => t.name).sort()).toEqual(names.slice(0, 5).sort());
    } finally {
      raw.close();
      await other.stop();
    }
  });
});
