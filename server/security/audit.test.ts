import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../metrics.js';
import { Op, ResourceType } from './authorizer/acl.js';
import { DENIED_METRIC, DenialAudit, LogLimiter } from './audit.js';

describe('LogLimiter (hand-driven clock)', () => {
  it('lets perSecond lines through in each one-second window and reports what it held back', () => {
    let now = 0;
    const limiter = new LogLimiter(2, () => now);
    expect([limiter.take(), limiter.take(), limiter.take(), limiter.take()]).toEqual([0, 0, null, null]);
    now = 999;
    expect(limiter.take()).toBeNull();
    now = 1000;
    // A new window: the first line carries the three held back.
    expect(limiter.take()).toBe(3);
    expect(limiter.take()).toBe(0);
    expect(limiter.take()).toBeNull();
    now = 5000;
    expect(limiter.take()).toBe(1);
  });

  it('0 logs nothing and holds back everything', () => {
    const limiter = new LogLimiter(0, () => 0);
    expect([limiter.take(), limiter.take()]).toEqual([null, null]);
  });
});

describe('DenialAudit', () => {
  it('logs on kafka.authorizer.logger with Kafka names for operation and resource type, and counts every refusal', async () => {
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const registry = new MetricsRegistry();
    let now = 0;
    const audit = new DenialAudit({
      logger: pino({ level: 'info' }, out),
      denied: registry.counter(DENIED_METRIC.name, DENIED_METRIC.help, DENIED_METRIC.labels),
      maxLinesPerSecond: 1,
      now: () => now,
    });
    const denial = { principal: { type: 'User', name: 'mallory' }, host: '10.0.0.9', listener: 'SASL_SSL', api: 'DeleteTopics', operation: Op.DELETE, resourceType: ResourceType.TOPIC, resource: 'orders' };
    audit.denied(denial);
    audit.denied(denial);
    audit.denied({ ...denial, operation: Op.IDEMPOTENT_WRITE, resourceType: ResourceType.CLUSTER, resource: 'kafka-cluster', api: 'InitProducerId' });
    now = 1000;
    audit.denied(denial);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => ({ ...l, time: undefined, pid: undefined, hostname: undefined }))).toEqual([
      { level: 30, logger: 'kafka.authorizer.logger', principal: 'User:mallory', host: '10.0.0.9', operation: 'DELETE', resourceType: 'TOPIC', resource: 'orders', api: 'DeleteTopics', listener: 'SASL_SSL', msg: 'authorization denied' },
      { level: 30, logger: 'kafka.authorizer.logger', principal: 'User:mallory', host: '10.0.0.9', operation: 'DELETE', resourceType: 'TOPIC', resource: 'orders', api: 'DeleteTopics', listener: 'SASL_SSL', suppressed: 2, msg: 'authorization denied' },
    ].map((l) => ({ ...l, time: undefined, pid: undefined, hostname: undefined })));
    const text = await registry.render();
    expect(text).toContain('kafka_mysql_authorization_denied_total{operation="DELETE",resource_type="TOPIC",listener="SASL_SSL"} 3');
    expect(text).toContain('kafka_mysql_authorization_denied_total{operation="IDEMPOTENT_WRITE",resource_type="CLUSTER",listener="SASL_SSL"} 1');
  });
});
