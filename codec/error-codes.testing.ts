import { KafkaError } from './error-codes.js';

/** For tests: the Kafka error code `fn` throws; anything else (or nothing thrown) fails the test. */
export function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err.code;
    throw err;
  }
  throw new Error('expected a KafkaError');
}
