import { ErrorCode, errorCodeOf } from '../../codec/error-codes.js';
import type { RequestContext } from '../handler-types.js';

/**
 * Puts a failure into one element of a response (a topic, partition or resource result): its
 * Kafka error code, the message where the element carries one, and an error log line when the
 * failure was unexpected (UNKNOWN_SERVER_ERROR). Expected Kafka errors are not logged.
 */
export function recordFailure(
  target: { errorCode: number; errorMessage?: string | null },
  err: unknown,
  ctx: RequestContext,
  what: string,
  details: Record<string, unknown> = {},
): void {
  target.errorCode = errorCodeOf(err);
  if ('errorMessage' in target) target.errorMessage = err instanceof Error ? err.message : null;
  if (target.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) ctx.logger.error({ err, ...details }, what);
}
