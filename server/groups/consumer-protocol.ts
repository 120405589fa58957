import { decodeConsumerProtocolSubscription } from '../../codec/generated/consumer-protocol.js';
import { Reader } from '../../codec/primitives/reader.js';

/** Protocol type of Kafka consumer groups; only these have subscriptions the broker reads. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

const HIGHEST_SUBSCRIPTION_VERSION = 3;

/**
 * Topics a consumer subscribes to, from its JoinGroup protocol metadata (an int16 version
 * followed by ConsumerProtocolSubscription). Versions above the highest known are read as the
 * highest, as Kafka's ConsumerProtocol does. Returns null when the bytes do not parse.
 */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  try {
    const r = new Reader(metadata);
    const version = r.int16();
    if (version < 0) return null;
    return decodeConsumerProtocolSubscription(r, Math.min(version, HIGHEST_SUBSCRIPTION_VERSION)).topics;
  } catch {
    return null;
  }
}
