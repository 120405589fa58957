/**
 * Errors of the REST interface, in Confluent REST Proxy's body shape
 * (`{"error_code": ..., "message": ...}`) plus, where a Kafka error is behind it,
 * `kafka_error_code` and `kafka_error` (Kafka's code and name; a kafka-mysql extension).
 */
import { ErrorCode, errorCodeOf, KafkaError } from '../../codec/error-codes.js';

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code as number, name]));

export class RestError extends Error {
  /** Extra response headers (WWW-Authenticate on a 401). */
  headers: Record<string, string> | null = null;

  constructor(
    readonly status: number,
    /** Confluent's error_code: the status, or its five-digit refinement (40401, 42201, ...). */
    readonly errorCode: number,
    message: string,
    readonly kafkaErrorCode: number | null = null,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    const body: Record<string, unknown> = { error_code: this.errorCode, message: this.message };
    if (this.kafkaErrorCode !== null) {
      body.kafka_error_code = this.kafkaErrorCode;
      body.kafka_error = NAMES.get(this.kafkaErrorCode) ?? 'UNKNOWN';
    }
    return body;
  }
}

export const badRequest = (message: string, code = 400): RestError => new RestError(400, code, message);
/** Confluent answers a body it cannot use with 422 (40002-style codes in v2; 422 in v3). */
export const unprocessable = (message: string): RestError => new RestError(422, 42206, message);
export const notFound = (message: string, code = 404, kafka: number | null = null): RestError => new RestError(404, code, message, kafka);
export const topicNotFound = (topic: string): RestError =>
  new RestError(404, 40403, `Topic ${topic} not found.`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

/** HTTP status for a Kafka error code (what Confluent's proxy answers for the same exception). */
export function statusOfKafkaCode(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return 404;
    case ErrorCode.TOPIC_ALREADY_EXISTS:
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
    case ErrorCode.INVALID_PARTITIONS:
    case ErrorCode.INVALID_REPLICATION_FACTOR:
    case ErrorCode.INVALID_CONFIG:
    case ErrorCode.INVALID_REQUEST:
    case ErrorCode.INVALID_RECORD:
    case ErrorCode.INVALID_TIMESTAMP:
    case ErrorCode.CORRUPT_MESSAGE:
    case ErrorCode.POLICY_VIOLATION:
    case ErrorCode.OFFSET_OUT_OF_RANGE:
      return 400;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return 413;
    case ErrorCode.TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode.GROUP_AUTHORIZATION_FAILED:
    case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
      return 403;
    case ErrorCode.REQUEST_TIMED_OUT:
      return 504;
    // Several brokers: another broker leads the partition or coordinates the group; ask it.
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.NOT_COORDINATOR:
      return 421;
    // MySQL unavailable: retriable, as in Kafka.
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return 503;
    default:
      return 500;
  }
}

export function fromKafkaCode(code: number, message: string | null): RestError {
  const status = statusOfKafkaCode(code);
  // Confluent's proxy answers an authorization failure with error_code 40301.
  return new RestError(status, status === 403 ? 40301 : status, message ?? `${NAMES.get(code) ?? 'error'} (Kafka error ${code})`, code);
}

/** A denied operation: 403, error_code 40301 as Confluent's proxy, with Kafka's *_AUTHORIZATION_FAILED code. */
export function forbidden(message: string, kafkaCode: number): RestError {
  return new RestError(403, 40301, message, kafkaCode);
}

/** Any thrown value as a RestError (KafkaError keeps its code; anything else is a 500). */
export function toRestError(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof KafkaError) return fromKafkaCode(err.code, err.message);
  return new RestError(500, 500, 'Internal server error', errorCodeOf(err));
}
