/**
 * Prometheus metrics of push subscriptions (docs/subscriptions.md), labelled by subscription, on
 * the broker's registry. Only the broker delivering a subscription reports it.
 */
import type { Counter, Histogram, MetricsRegistry } from '../metrics.js';

export interface SubscriptionMetrics {
  delivered: Counter;
  deadLettered: Counter;
  attempts: Counter;
  latency: Histogram;
}

/** `retrying`, `lag` and `in_flight` are read from the running subscriptions at scrape time. */
export function createSubscriptionMetrics(registry: MetricsRegistry, read: () => { name: string; retrying: number; lag: number; inFlight: number }[]): SubscriptionMetrics {
  const gauge = (name: string, help: string, pick: (s: { retrying: number; lag: number; inFlight: number }) => number) =>
    registry.gauge(name, help, ['subscription']).collect((g) => {
      g.metric.reset();
      for (const s of read()) g.set(pick(s), { subscription: s.name });
    });
  gauge('kafka_mysql_subscription_retrying', 'Records of the subscription waiting for a retry (on the broker delivering it).', (s) => s.retrying);
  gauge('kafka_mysql_subscription_lag', 'Records of the leased source partitions not yet delivered, dead-lettered or skipped (high watermark minus committed offset, summed).', (s) => s.lag);
  gauge('kafka_mysql_subscription_in_flight', 'HTTP requests in flight.', (s) => s.inFlight);
  return {
    delivered: registry.counter('kafka_mysql_subscription_delivered_total', 'Records delivered (2xx) by this broker.', ['subscription']),
    deadLettered: registry.counter('kafka_mysql_subscription_failed_total', 'Records dead-lettered (given up) by this broker.', ['subscription']),
    attempts: registry.counter('kafka_mysql_subscription_attempts_total', 'Delivery attempts by outcome (delivered, retry, dead).', ['subscription', 'outcome']),
    latency: registry.histogram('kafka_mysql_subscription_latency_seconds', 'Time of one delivery attempt, request to response.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], [
      'subscription',
    ]),
  };
}
