import { ErrorCode } from '../../codec/error-codes.js';
import type { ProduceResponse } from '../../codec/generated/produce.js';
import type { BatchInfo } from '../../codec/records/batch-header.js';
import { recordsWithoutKey } from '../../codec/records/compaction.js';
import type { TopicRecord } from '../../storage/types.js';
import type { BrokerConfig } from '../config/index.js';
import { isCompacted } from './policy.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

/**
 * Produce to a compacted topic: records without a key are refused, as Kafka's LogValidator
 * does. Only batches of topics whose cleanup.policy includes compact are decoded here
 * (decompressed if needed), so other topics' produce path stays without decoding. Returns
 * false after filling `response` with INVALID_RECORD and one record error per keyless record
 * (KIP-467: batch_index within the batch, Produce v8+; older versions carry the code only);
 * nothing of the partition's records is then written. `compacted`: isCompacted's answer, when
 * the caller has it.
 */
export function acceptKeysOfCompactedTopic(
  topic: TopicRecord,
  partition: number,
  config: BrokerConfig,
  records: Buffer,
  batches: readonly BatchInfo[],
  response: PartitionResponse,
  compacted = isCompacted(topic, config),
): boolean {
  if (!compacted) return true;
  const message = `Compacted topic cannot accept message without key in topic partition ${topic.name}-${partition}.`;
  const errors: PartitionResponse['recordErrors'] = [];
  for (const b of batches) {
    for (const index of recordsWithoutKey(records.subarray(b.position, b.position + b.size))) errors.push({ batchIndex: index, batchIndexErrorMessage: message });
  }
  if (errors.length === 0) return true;
  response.errorCode = ErrorCode.INVALID_RECORD;
  response.recordErrors = errors;
  response.errorMessage = `One or more records have been rejected due to ${errors.length} record errors in total: ${message}`;
  return false;
}
