import { CONSUMER_PROTOCOL_TYPE, decodeSubscription } from '../../codec/consumer-protocol.js';

/** Protocol type of Kafka consumer groups; only these have subscriptions the broker reads. */
export { CONSUMER_PROTOCOL_TYPE };

/** Topics a consumer subscribes to, from its JoinGroup protocol metadata; null when the bytes do not parse. */
export function subscribedTopicsOf(metadata: Buffer): string[] | null {
  return decodeSubscription(metadata)?.topics ?? null;
}
