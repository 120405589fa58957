import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker('metrics', { 'metrics.listener': '127.0.0.1:0' });
});

afterAll(async () => {
  await broker?.stop();
});

async function scrape(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${broker.broker.metricsPort}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The value of one series in Prometheus text, or undefined. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics and health endpoints', () => {
  it('reports requests, produced bytes, group commit and connections after kafkajs traffic', async () => {
    const kafka = new Kafka({ clientId: 'metrics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'metered', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();

    const response = await fetch(`http://127.0.0.1:${broker.broker.metricsPort}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { status, body } = { status: response.status, body: await response.text() };
    expect(status).toBe(200);
    expect(valueOf(body, 'kafka_mysql_requests_total{api="Produce",version="7"}')).toBe(1);
    expect(valueOf(body, 'kafka_mysql_produced_batches_total{topic="metered"}')).toBe(1);
    expect(valueOf(body, 'kafka_mysql_produced_bytes_total{topic="metered"}')).toBeGreaterThan(0);
    expect(valueOf(body, 'kafka_mysql_group_commit_transactions_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(body, 'kafka_mysql_group_commit_appends_total')).toBe(1);
    expect(valueOf(body, 'kafka_mysql_partitions_loaded')).toBe(1);
    expect(valueOf(body, 'kafka_mysql_connections_closed_total{reason="client"}')).toBeGreaterThanOrEqual(1);
    expect(body).toContain('# TYPE kafka_mysql_request_duration_seconds histogram');
    // Every committed group-commit transaction is observed once in each phase of its histogram.
    expect(body).toContain('# TYPE kafka_mysql_group_commit_seconds histogram');
    const committed = valueOf(body, 'kafka_mysql_group_commit_transactions_total')!;
    for (const phase of ['queued', 'insert', 'wait', 'commit']) {
      expect(valueOf(body, `kafka_mysql_group_commit_seconds_count{phase="${phase}"}`)).toBe(committed);
      expect(valueOf(body, `kafka_mysql_group_commit_seconds_bucket{le="+Inf",phase="${phase}"}`)).toBe(committed);
      expect(valueOf(body, `kafka_mysql_group_commit_seconds_sum{phase="${phase}"}`)).toBeGreaterThanOrEqual(0);
    }
    expect(valueOf(body, 'kafka_mysql_consumer_groups{state="Stable"}')).toBe(0);
    // Node's process and runtime metrics (prom-client's defaults) come with the broker's own.
    expect(valueOf(body, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(valueOf(body, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(body).toContain('# TYPE nodejs_gc_duration_seconds histogram');
  });

  it('answers /health with MySQL reachable, and 404 elsewhere', async () => {
    const health = await scrape('/health');
    expect(health.status).toBe(200);
    const body = JSON.parse(health.body) as { status: string; mysql: unknown; mysqlServers: Array<{ name: string; shards: number[]; primary: string; replicas: string[]; fenced: string[] }> };
    expect(body.status).toBe('ok');
    expect(body.mysql).toEqual({ reachable: true });
    // One server, no replicas: the primary the broker writes to, for every shard it holds.
    expect(body.mysqlServers).toHaveLength(1);
    expect(body.mysqlServers[0]).toMatchObject({ shards: [0], replicas: [], fenced: [] });
    expect(body.mysqlServers[0]!.primary).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await scrape('/nothing')).status).toBe(404);
  });
});
