/**
 * AlterConfigs (key 33), versions 0-2.
 * Topic resources: the request's configs REPLACE the topic's whole set of explicit configs
 * (keys left out fall back to the broker default), as Kafka's legacy AlterConfigs does;
 * entries with a null value are dropped. Every key is validated first (INVALID_CONFIG naming
 * the key, unknown keys rejected as Kafka rejects them); validate_only stops there.
 * Broker resources: kafka-mysql's broker configuration is static (properties file,
 * environment, --set), so a non-empty change gets INVALID_REQUEST saying so, like Kafka's
 * answer for keys that cannot be updated dynamically; BROKER_LOGGER and other resource types
 * get INVALID_REQUEST too.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../codec/generated/alter-configs.js';
import { validateTopicConfigs } from '../config/index.js';
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
        if (resource.resourceType === RESOURCE_TOPIC) {
          const configs: Record<string, string> = {};
          for (const c of resource.configs) if (c.value !== null) configs[c.name] = c.value;
          await replaceTopicConfigs(resource.resourceName, validateTopicConfigs(configs), request.validateOnly, ctx);
        } else {
          rejectNonTopic(resource.resourceType, resource.resourceName, resource.configs.map((c) => c.name), ctx);
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

/** Broker configuration is static here; other resource types are not served. */
export function rejectNonTopic(resourceType: number, resourceName: string, keys: string[], ctx: RequestContext): void {
  if (resourceType === RESOURCE_BROKER) {
    const self = String(ctx.broker.cluster.self.nodeId);
    if (resourceName !== '' && resourceName !== self) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${self} but received ${resourceName}`);
    }
    if (keys.length === 0) return;
    throw new KafkaError(
      ErrorCode.INVALID_REQUEST,
      `Cannot update these configs dynamically: ${keys.join(', ')}. kafka-mysql broker configuration is static: set them in the properties file, environment or --set and restart the broker.`,
    );
  }
  if (resourceType === RESOURCE_BROKER_LOGGER) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Broker loggers are not configurable: set log.level and restart the broker.');
  }
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
}
