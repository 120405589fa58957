/**
 * IncrementalAlterConfigs (key 44), versions 0-1.
 * Topic resources: operations on the topic's explicit configs. SET sets a key; DELETE removes
 * it (back to the broker default; deleting a key that is not set is a no-op, as in Kafka);
 * APPEND and SUBTRACT add items to / remove items from a list-type key's value in force (its
 * own or the default), APPEND skipping items already present. APPEND/SUBTRACT on a non-list
 * key gets INVALID_CONFIG, a key named twice INVALID_REQUEST, an unknown operation
 * INVALID_REQUEST. The resulting set is validated as a whole (INVALID_CONFIG naming the key)
 * and written in one transaction; validate_only stops before writing.
 * Broker resources (this broker's id, or "" for the cluster-wide default): the same
 * operations on that level's dynamic broker configs, stored in MySQL and in force on every
 * broker without a restart (server/config/dynamic.ts); a key that cannot change at run time
 * refuses the whole resource with Kafka's INVALID_REQUEST "Cannot update these configs
 * dynamically: Set(...)". APPEND/SUBTRACT start from the level's stored value or the key's
 * default, as Kafka's do.
 */
import { configRefusal, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../codec/generated/incremental-alter-configs.js';
import { TOPIC_CONFIG_BY_KEY, effectiveTopicConfig, validateTopicConfig, validateTopicConfigs } from '../config/index.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { brokerConfigsOf, replaceTopicConfigs, requireTopic, resourceResult } from './alter-configs.js';
import { RESOURCE_TOPIC } from './describe-configs.js';
import { recordFailure } from './errors.js';

type Resource = IncrementalAlterConfigsRequest['resources'][number];
type Result = IncrementalAlterConfigsResponse['responses'][number];

export const OP_SET = 0;
export const OP_DELETE = 1;
export const OP_APPEND = 2;
export const OP_SUBTRACT = 3;

export const incrementalAlterConfigsHandler: ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const responses: Result[] = [];
    for (const resource of request.resources) {
      const result: Result = resourceResult(resource);
      try {
        const refused = configRefusal(ctx, Op.ALTER_CONFIGS, resource.resourceType, resource.resourceName);
        if (refused !== 0) throw new KafkaError(refused, 'Authorization failed.');
        const names = resource.configs.map((c) => c.name);
        if (new Set(names).size !== names.length) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${[...new Set(names.filter((n, i) => names.indexOf(n) !== i))].join(', ')}`);
        }
        if (resource.resourceType === RESOURCE_TOPIC) await alterTopic(resource, request.validateOnly, ctx);
        else {
          const ops = resource.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }));
          await brokerConfigsOf(resource.resourceType, ctx).alter(resource.resourceName, ops, request.validateOnly);
        }
      } catch (err) {
        recordFailure(result, err, ctx, 'incremental alter configs failed', { resource: resource.resourceName });
      }
      responses.push(result);
    }
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      responses: request.resources.map((r) => resourceResult(r, errorCode)),
    };
  },
};

async function alterTopic(resource: Resource, validateOnly: boolean, ctx: RequestContext): Promise<void> {
  const topic = await requireTopic(resource.resourceName, ctx);
  const configs: Record<string, string> = { ...topic.configs };
  for (const c of resource.configs) {
    switch (c.configOperation) {
      case OP_SET:
        configs[c.name] = validateTopicConfig(c.name, c.value);
        break;
      case OP_DELETE:
        delete configs[c.name];
        break;
      case OP_APPEND:
      case OP_SUBTRACT: {
        const definition = TOPIC_CONFIG_BY_KEY.get(c.name);
        if (!definition) validateTopicConfig(c.name, c.value); // throws: unknown key
        const verb = c.configOperation === OP_APPEND ? 'append' : 'subtract';
        if (definition!.type !== 'list') throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${c.name}`);
        const items = splitList(effectiveTopicConfig(c.name, configs, ctx.broker.config).value);
        const change = splitList(c.value ?? '');
        const next = c.configOperation === OP_APPEND ? [...items, ...change.filter((v) => !items.includes(v))] : items.filter((v) => !change.includes(v));
        configs[c.name] = next.join(',');
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.configOperation} for key ${c.name}`);
    }
  }
  await replaceTopicConfigs(topic.name, validateTopicConfigs(configs), validateOnly, ctx);
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
