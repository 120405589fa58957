/**
 * The consumer protocol's embedded messages: a consumer group member's subscription (JoinGroup
 * protocol metadata) and assignment (SyncGroup / DescribeGroups member assignment), each an
 * int16 version followed by the versioned message. Versions above the highest known are read
 * as the highest, as Kafka's ConsumerProtocol does (newer versions only append fields).
 */
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from './generated/consumer-protocol.js';
import { Reader } from './primitives/reader.js';

/** Protocol type of Kafka consumer groups; only these carry consumer-protocol bytes. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

const HIGHEST_SUBSCRIPTION_VERSION = 3;
const HIGHEST_ASSIGNMENT_VERSION = 3;

/** A member's subscription, or null when the bytes do not parse. */
export function decodeSubscription(metadata: Buffer): ConsumerProtocolSubscription | null {
  return decodeVersioned(metadata, HIGHEST_SUBSCRIPTION_VERSION, decodeConsumerProtocolSubscription);
}

/** A member's assignment, or null when the bytes do not parse (or are empty: not yet assigned). */
export function decodeAssignment(assignment: Buffer): ConsumerProtocolAssignment | null {
  return decodeVersioned(assignment, HIGHEST_ASSIGNMENT_VERSION, decodeConsumerProtocolAssignment);
}

function decodeVersioned<T>(bytes: Buffer, highest: number, decode: (r: Reader, version: number) => T): T | null {
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    return decode(r, Math.min(version, highest));
  } catch {
    return null;
  }
}
