/**
 * What the dispatcher records against client quotas for one request, and the throttle time it
 * answers with, as Kafka's KafkaApis does: Produce records the request's size against
 * producer_byte_rate, Fetch the response's size against consumer_byte_rate (a follower broker's
 * fetch is not a client's and is never throttled here: brokers share storage), and every request
 * but ApiVersions and SASL records its time against request_percentage. The response carries the
 * largest throttle and the connection stops reading for that long after it (Kafka's channel
 * muting, KIP-219).
 *
 * A Fetch is decided by its handler before it answers (fetchQuota), as KafkaApis does: a
 * consumer's response is bounded by what its byte rate allows in one window, and a Fetch over
 * either quota is answered with throttle_time_ms and no records, its bytes taken back from the
 * byte rate (they were not sent), so the consumer reads the same records again after the pause.
 *
 * Deviation: request time is the broker's wall time for the request minus a Fetch's long-poll
 * wait, not I/O-thread CPU time (requests are asynchronous, so no thread is held by one).
 */
import { CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, type QuotaManager } from './manager.js';

const PRODUCE = 0;
const FETCH = 1;
/** Never throttled by request time, as Kafka exempts them (a client must be able to connect). */
const EXEMPT = new Set([17, 18, 36]);

export interface QuotaUse {
  apiKey: number;
  user: string;
  clientId: string;
  requestBytes: number;
  /** Encoded response size (Fetch); undefined when not known yet. */
  responseBytes?: number;
  requestMs: number;
}

/** Records the request; the throttle time in ms (0: not throttled). */
export function recordQuotaUse(quotas: QuotaManager, use: QuotaUse, nowMs: number): number {
  let throttle = 0;
  if (use.apiKey === PRODUCE) throttle = quotas.record(PRODUCER_BYTE_RATE, use.user, use.clientId, use.requestBytes, nowMs);
  else if (use.apiKey === FETCH && use.responseBytes !== undefined) throttle = quotas.record(CONSUMER_BYTE_RATE, use.user, use.clientId, use.responseBytes, nowMs);
  if (!EXEMPT.has(use.apiKey)) {
    // Kafka's unit: percent of one thread, so 1 s of work per second is 100.
    throttle = Math.max(throttle, quotas.record(REQUEST_PERCENTAGE, use.user, use.clientId, use.requestMs / 10, nowMs));
  }
  return throttle;
}

/** A Fetch's quotas, for its handler (RequestContext.fetchQuota). */
export interface FetchQuota {
  /** The largest response the consumer's byte rate allows in one window; Infinity without a fetch quota. */
  readonly maxBytes: number;
  /**
   * Records the response's size and the request's time so far; the throttle time in ms. When
   * positive the response must go out empty: its bytes are taken back from the byte rate.
   */
  record(responseBytes: number): number;
}

/**
 * The quotas of one Fetch. `requestMs` reads the request's time so far; `decided` hears the
 * throttle once the handler recorded (the dispatcher then records nothing more for the request).
 */
export function fetchQuota(
  quotas: QuotaManager,
  who: { user: string; clientId: string },
  requestMs: () => number,
  now: () => number,
  decided: (throttleMs: number) => void,
): FetchQuota {
  return {
    maxBytes: quotas.maxValueInWindow(CONSUMER_BYTE_RATE, who.user, who.clientId),
    record(responseBytes) {
      const nowMs = now();
      const throttle = recordQuotaUse(quotas, { apiKey: FETCH, user: who.user, clientId: who.clientId, requestBytes: 0, responseBytes, requestMs: requestMs() }, nowMs);
      if (throttle > 0) quotas.unrecord(CONSUMER_BYTE_RATE, who.user, who.clientId, responseBytes, nowMs);
      decided(throttle);
      return throttle;
    },
  };
}
