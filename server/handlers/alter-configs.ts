/**
 * AlterConfigs (key 33), versions 0-2.
 * Topic resources: the request's configs REPLACE the topic's whole set of explicit configs
 * (keys left out fall back to the broker default), as Kafka's legacy AlterConfigs does;
 * entries with a null value are dropped. Every key is validated first (INVALID_CONFIG naming
 * the key, unknown keys rejected as Kafka rejects them); validate_only stops there.
 * Broker resources (this broker's id, or "" for the cluster-wide default): the request's
 * configs REPLACE that level's dynamic broker configs, stored in MySQL and in force on every
 * broker without a restart (server/config/dynamic.ts). Any key that cannot change at run time
 * refuses the whole resource with INVALID_REQUEST "Cannot update these configs dynamically:
 * Set(...)", as Kafka does; a bad value INVALID_REQUEST naming it (Kafka's KAFKA-13609).
 * BROKER_LOGGER and other resource types get INVALID_REQUEST.
 */
import { configRefusal, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../codec/generated/alter-configs.js';
import { validateTopicConfigs } from '../config/index.js';
import type { DynamicBrokerConfigs } from '../config/index.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './describe-configs.js';
import { recordFailure } from './errors.js';

type Result = AlterConfigsResponse['responses'][number];

export const RESOURCE_BROKER_LOGGER = 8;

export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const responses: Result[] = [];
    for (const resource of request.resources) {
      const result: Result = resourceResult(resource);
      try {
        const refused = configRefusal(ctx, Op.ALTER_CONFIGS, resource.resourceType, resource.resourceName);
        if (refused !== 0) throw new KafkaError(refused, 'Authorization failed.');
        if (resource.resourceType === RESOURCE_TOPIC) {
          const configs: Record<string, string> = {};
          for (const c of resource.configs) if (c.value !== null) configs[c.name] = c.value;
          await replaceTopicConfigs(resource.resourceName, validateTopicConfigs(configs), request.validateOnly, ctx);
        } else {
          await brokerConfigsOf(resource.resourceType, ctx).replace(resource.resourceName, resource.configs, request.validateOnly);
        }
      } catch (err) {
        recordFailure(result, err, ctx, 'alter configs failed', { resource: resource.resourceName });
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

/** One resource's result in an (Incremental)AlterConfigs response: its type and name, the error code. */
export function resourceResult(
  resource: { resourceType: number; resourceName: string },
  errorCode: number = ErrorCode.NONE,
): { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string } {
  return { errorCode, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName };
}

/** The topic as the catalog knows it (refreshing once); UNKNOWN_TOPIC_OR_PARTITION if absent. */
export async function requireTopic(name: string, ctx: RequestContext) {
  let topic = ctx.broker.catalog.getTopic(name);
  if (!topic) {
    await ctx.broker.catalog.refresh();
    topic = ctx.broker.catalog.getTopic(name);
  }
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
  return topic;
}

export async function replaceTopicConfigs(name: string, configs: Record<string, string>, validateOnly: boolean, ctx: RequestContext): Promise<void> {
  await requireTopic(name, ctx);
  if (validateOnly) return;
  await ctx.broker.catalog.setTopicConfigs(name, configs);
  ctx.broker.logger.info({ topic: name, configs }, 'topic configs altered');
}

/** The dynamic broker configs for a broker resource; other resource types are not served. */
export function brokerConfigsOf(resourceType: number, ctx: RequestContext): DynamicBrokerConfigs {
  if (resourceType === RESOURCE_BROKER) {
    if (ctx.broker.dynamicConfigs) return ctx.broker.dynamicConfigs;
    throw new KafkaError(ErrorCode.INVALID_REQUEST, 'This broker runs without dynamic configuration: set keys in the properties file, environment or --set and restart.');
  }
  if (resourceType === RESOURCE_BROKER_LOGGER) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Broker loggers are not configurable: set log.level and restart the broker.');
  }
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
}
