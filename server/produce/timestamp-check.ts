/**
 * Produce: the record timestamp limits of a topic, as Kafka's LogValidator applies them
 * (KIP-937, Kafka 3.6+). On a CreateTime topic, a record whose timestamp lies more than
 * message.timestamp.before.max.ms before the broker's clock, or more than
 * message.timestamp.after.max.ms after it, is refused: the partition gets INVALID_TIMESTAMP,
 * "One or more records have been rejected due to invalid timestamp", one KIP-467 record error
 * per refused record (batch_index and Kafka's message; Produce v8+ carries them), and nothing
 * of the partition's records is written. Either limit left at its default (Long.MAX_VALUE)
 * falls back to message.timestamp.difference.max.ms, as Kafka 3.9's LogConfig does. A record
 * without a timestamp (-1) passes; LogAppendTime topics are not checked (the broker stamps them).
 *
 * Cost: Kafka checks every record, and the batch header only gives the first and the maximum
 * timestamp (a record may be older than the first), so the records' timestamps are read
 * (compressed batches decompressed) — but only for topics where some limit is set. With the
 * defaults (no limit) nothing is read: the hot path stays without decoding.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { ProduceResponse } from '../../codec/generated/produce.js';
import type { BatchInfo } from '../../codec/records/batch-header.js';
import { forEachRecordTimestamp } from '../../codec/records/timestamps.js';
import type { TopicRecord } from '../../storage/types.js';
import { effectiveTopicConfig, type BrokerConfig } from '../config/index.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

const LONG_MAX = 2n ** 63n - 1n;

export interface TimestampLimits {
  beforeMaxMs: bigint;
  afterMaxMs: bigint;
}

/** The topic's limits in force (its own, else the broker's, else Kafka's default), or null when nothing is checked. */
export function timestampLimitsOf(topic: TopicRecord, config: BrokerConfig): TimestampLimits | null {
  const value = (key: string) => effectiveTopicConfig(key, topic.configs, config).value;
  if (value('message.timestamp.type') !== 'CreateTime') return null;
  const difference = BigInt(value('message.timestamp.difference.max.ms'));
  const before = BigInt(value('message.timestamp.before.max.ms'));
  const after = BigInt(value('message.timestamp.after.max.ms'));
  const limits = { beforeMaxMs: before === LONG_MAX ? difference : before, afterMaxMs: after === LONG_MAX ? difference : after };
  return limits.beforeMaxMs === LONG_MAX && limits.afterMaxMs === LONG_MAX ? null : limits;
}

/**
 * Checks the records' timestamps against the topic's limits at `nowMs` (`limits`: as
 * timestampLimitsOf gives them, when the caller has them). Returns false after filling
 * `response` (INVALID_TIMESTAMP with record errors) when any record is out of range.
 */
export function acceptTimestamps(
  topic: TopicRecord,
  config: BrokerConfig,
  records: Buffer,
  batches: readonly BatchInfo[],
  response: PartitionResponse,
  nowMs: number,
  limits: TimestampLimits | null = timestampLimitsOf(topic, config),
): boolean {
  if (limits === null) return true;
  const now = BigInt(nowMs);
  // Kafka prints the range with Java long arithmetic: now + Long.MAX_VALUE wraps around.
  const range = `[${BigInt.asIntN(64, now - limits.beforeMaxMs)}, ${BigInt.asIntN(64, now + limits.afterMaxMs)}]`;
  const errors: PartitionResponse['recordErrors'] = [];
  for (const b of batches) {
    forEachRecordTimestamp(records.subarray(b.position, b.position + b.size), (index, offset, timestamp) => {
      if (timestamp === -1n) return;
      const diff = now - timestamp;
      if (diff > limits.beforeMaxMs || -diff > limits.afterMaxMs) {
        errors.push({
          batchIndex: index,
          batchIndexErrorMessage: `Timestamp ${timestamp} of message with offset ${offset} is out of range. The timestamp should be within ${range}`,
        });
      }
    });
  }
  if (errors.length === 0) return true;
  response.errorCode = ErrorCode.INVALID_TIMESTAMP;
  response.recordErrors = errors;
  response.errorMessage = 'One or more records have been rejected due to invalid timestamp';
  return false;
}
