/**
 * The OpenAPI 3.0 document of the REST interface, served at GET /openapi.json. Built from one
 * table of operations so the paths listed are the ones the router serves (compat-tests/rest.test.ts
 * checks every route appears).
 */
import type { Route } from './router.js';

interface Op {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  ok: number;
  body?: string;
  query?: string[];
}

export const OPERATIONS: readonly Op[] = [
  { method: 'get', path: '/v3/clusters', summary: 'List clusters (this broker\'s one cluster)', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}', summary: 'Get the cluster', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/brokers', summary: 'List brokers', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/brokers/{broker_id}', summary: 'Get a broker', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics', summary: 'List topics', ok: 200 },
  { method: 'post', path: '/v3/clusters/{cluster_id}/topics', summary: 'Create a topic', ok: 201, body: '{"topic_name": string, "partitions_count"?: int, "replication_factor"?: int, "configs"?: [{"name", "value"}], "validate_only"?: bool}' },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}', summary: 'Get a topic', ok: 200 },
  { method: 'delete', path: '/v3/clusters/{cluster_id}/topics/{topic_name}', summary: 'Delete a topic', ok: 204 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs', summary: 'List a topic\'s configs', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}', summary: 'Get a topic config', ok: 200 },
  { method: 'put', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}', summary: 'Set a topic config', ok: 204, body: '{"value": string}' },
  { method: 'delete', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/configs/{name}', summary: 'Reset a topic config to its default', ok: 204 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions', summary: 'List partitions', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}', summary: 'Get a partition', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/records', summary: 'Read committed records by offset range (kafka-mysql extension)', ok: 200, query: ['offset', 'limit', 'max_bytes', 'format'] },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/messages', summary: 'Find records in the message index by key, message id or time range (kafka-mysql extension)', ok: 200, query: ['key', 'key_base64', 'message_id', 'message_id_base64', 'from', 'to', 'limit', 'format'] },
  { method: 'post', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/records', summary: 'Produce one record or a stream of concatenated records (acknowledged when committed)', ok: 200, body: '{"partition_id"?: int, "key"?: {"type": "BINARY"|"JSON"|"STRING", "data": ...}, "value"?: {...}, "headers"?: [{"name", "value": base64}], "timestamp"?: ISO-8601, "delay_ms"?: int, "deliver_at"?: ms|ISO-8601, "message_id"?: string}' },
  { method: 'get', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/delayed', summary: 'List held delayed records by due time (delayed.delivery.enable; kafka-mysql extension)', ok: 200, query: ['from', 'to', 'partition_id', 'limit'] },
  { method: 'delete', path: '/v3/clusters/{cluster_id}/topics/{topic_name}/delayed/{message_id}', summary: 'Cancel a held delayed record by message id (409 when already delivered; kafka-mysql extension)', ok: 200 },
  { method: 'get', path: '/v3/subscriptions', summary: 'List push subscriptions (kafka-mysql extension, docs/subscriptions.md)', ok: 200 },
  { method: 'post', path: '/v3/subscriptions', summary: 'Create a push subscription', ok: 201, body: '{"name": string, "topics": [string], "endpoint": {"url", "method"?, "headers"?, "timeout_ms"?}, "ordering"?, "max_concurrency"?, "rate_limit_per_second"?, "retry"?, "after"?, "dead_letter_topic"?, "secret"?, "filter"?, "body_format"?, "start_from"?}' },
  { method: 'get', path: '/v3/subscriptions/{name}', summary: 'Describe a push subscription: definition, state, progress per partition, lag', ok: 200 },
  { method: 'post', path: '/v3/subscriptions/{name}/pause', summary: 'Pause a push subscription (records accumulate)', ok: 200 },
  { method: 'post', path: '/v3/subscriptions/{name}/resume', summary: 'Resume a paused push subscription', ok: 200 },
  { method: 'post', path: '/v3/subscriptions/{name}/retire', summary: 'Retire a push subscription for good', ok: 200 },
  { method: 'post', path: '/v3/subscriptions/{name}/repush', summary: 'Deliver records again by offset range, time range, or dead-lettered since a time', ok: 200, body: '{"topic"?, "partition"?, "from_offset"?, "to_offset"?} | {"from_time", "to_time"} | {"dead_lettered_since"}' },
  { method: 'get', path: '/v3/subscriptions/{name}/attempts', summary: 'Delivery attempts per record, subscription or time range', ok: 200, query: ['topic', 'partition', 'offset', 'from', 'to', 'limit'] },
  { method: 'get', path: '/v3/clusters/{cluster_id}/consumer-groups', summary: 'List consumer groups', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}', summary: 'Get a consumer group', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers', summary: 'List a group\'s consumers', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags', summary: 'Lag per partition', ok: 200 },
  { method: 'get', path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary', summary: 'Lag summary', ok: 200 },
  { method: 'post', path: '/consumers/{group_name}', summary: 'Create a v2 consumer instance', ok: 200, body: '{"name"?: string, "format"?: "binary"|"json"|"string", "auto.offset.reset"?: "earliest"|"latest", "auto.commit.enable"?: "true"|"false"}' },
  { method: 'delete', path: '/consumers/{group_name}/instances/{instance}', summary: 'Delete a consumer instance', ok: 204 },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/subscription', summary: 'Subscribe to topics (group membership, range assignor)', ok: 204, body: '{"topics": [string]}' },
  { method: 'get', path: '/consumers/{group_name}/instances/{instance}/subscription', summary: 'Get the subscription', ok: 200 },
  { method: 'delete', path: '/consumers/{group_name}/instances/{instance}/subscription', summary: 'Unsubscribe', ok: 204 },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/assignments', summary: 'Assign partitions manually', ok: 204, body: '{"partitions": [{"topic", "partition"}]}' },
  { method: 'get', path: '/consumers/{group_name}/instances/{instance}/assignments', summary: 'Get the assigned partitions', ok: 200 },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/offsets', summary: 'Commit offsets (of the last records processed; empty body: the current positions)', ok: 200, body: '{"offsets"?: [{"topic", "partition", "offset"}]}' },
  { method: 'get', path: '/consumers/{group_name}/instances/{instance}/offsets', summary: 'Get committed offsets', ok: 200, body: '{"partitions": [{"topic", "partition"}]}' },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/positions', summary: 'Seek to offsets', ok: 204, body: '{"offsets": [{"topic", "partition", "offset"}]}' },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/positions/beginning', summary: 'Seek to the log start', ok: 204, body: '{"partitions": [{"topic", "partition"}]}' },
  { method: 'post', path: '/consumers/{group_name}/instances/{instance}/positions/end', summary: 'Seek to the log end', ok: 204, body: '{"partitions": [{"topic", "partition"}]}' },
  { method: 'get', path: '/consumers/{group_name}/instances/{instance}/records', summary: 'Fetch records', ok: 200, query: ['timeout', 'max_bytes'] },
];

const STRING_PARAMS = new Set(['format', 'key', 'key_base64', 'message_id', 'message_id_base64', 'from', 'to']);

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error_code', 'message'],
  properties: {
    error_code: { type: 'integer', description: 'HTTP status or Confluent\'s five-digit refinement (40401, 40403, 42206, ...)' },
    message: { type: 'string' },
    kafka_error_code: { type: 'integer', description: 'Kafka\'s error code behind the failure, when there is one (kafka-mysql extension)' },
    kafka_error: { type: 'string', description: 'Kafka\'s name of that code' },
  },
};

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: STRING_PARAMS.has(name) ? 'string' : 'integer' } })),
    ];
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      parameters,
      ...(op.body ? { requestBody: { required: true, description: op.body, content: { 'application/json': { schema: { type: 'object' } } } } } : {}),
      responses: {
        [String(op.ok)]: { description: 'Success', ...(op.ok === 204 ? {} : { content: { 'application/json': { schema: { type: op.path.endsWith('/records') && op.method === 'get' && op.path.startsWith('/consumers') ? 'array' : 'object' } } } }) },
        default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'kafka-mysql REST interface', version: '1', description: 'Confluent REST Proxy v3 (and v2 consumer) shapes served by every broker on its HTTP listener; see docs/http.md.' },
    paths,
    // The Kafka listeners' users (docs/http.md): Basic, Bearer JWTs, or a client certificate on an https listener.
    components: { schemas: { Error: ERROR_SCHEMA }, securitySchemes: { basic: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ basic: [] }, { bearer: [] }, {}],
  };
}

export const openApiRoutes: Route[] = [
  {
    method: 'GET',
    path: '/openapi.json',
    async handle() {
      return { status: 200, body: openApiDocument() };
    },
  },
];
