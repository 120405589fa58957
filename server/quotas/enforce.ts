/**
 * What the dispatcher records against client quotas for one request, and the throttle time it
 * answers with, as Kafka's KafkaApis does: Produce records the request's size against
 * producer_byte_rate, Fetch the response's size against consumer_byte_rate (a follower broker's
 * fetch is not a client's and is never throttled here: brokers share storage), and every request
 * but ApiVersions and SASL records its time against request_percentage. The response carries the
 * largest throttle and the connection stops reading for that long after it (Kafka's channel
 * muting, KIP-219).
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
