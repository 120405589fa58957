/**
 * DescribeConfigs (key 32), versions 0-4.
 * Topic resources: every topic config Kafka defines, with the value in force and its source
 * (topic, dynamic broker, dynamic default, static broker config, default). Broker resources:
 * this broker's id gives every broker config, read-only unless it can change at run time
 * (server/config/dynamic.ts), with passwords (mysql.url, mysql.shards) hidden; "" (the
 * cluster-wide default) gives only the keys set at that level, as Kafka does. Synonyms (v1+)
 * only when include_synonyms is set, from most to least specific as Kafka lists them;
 * documentation (v3+) only when asked. Entries come in Kafka's order (server/config/kafka-order.ts),
 * a configuration_keys filter keeping that order (Kafka's own, not the request's).
 * BROKER_LOGGER resources are not served (INVALID_REQUEST). A resource that fails gets its
 * error in its result; an unexpected failure of the whole request sets UNKNOWN_SERVER_ERROR
 * on every resource.
 */
import { configRefusal, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../../codec/generated/describe-configs.js';
import { describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from '../config/index.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { recordFailure } from './errors.js';

type Resource = DescribeConfigsRequest['resources'][number];
type Result = DescribeConfigsResponse['results'][number];

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: 32,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    return {
      throttleTimeMs: 0,
      results: request.resources.map((resource) => describeResource(resource, request, ctx)),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      results: request.resources.map((r) => ({
        errorCode,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      })),
    };
  },
};

function describeResource(resource: Resource, request: DescribeConfigsRequest, ctx: RequestContext): Result {
  const result: Result = {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  };
  try {
    const refused = configRefusal(ctx, Op.DESCRIBE_CONFIGS, resource.resourceType, resource.resourceName);
    if (refused !== 0) throw new KafkaError(refused, 'Authorization failed.');
    const configs = describe(resource, ctx);
    result.configs = configs.map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      isDefault: c.isDefault,
      configSource: c.source,
      isSensitive: c.isSensitive,
      synonyms: request.includeSynonyms ? c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
      configType: c.type,
      documentation: request.includeDocumentation ? c.documentation : null,
    }));
  } catch (err) {
    recordFailure(result, err, ctx, 'describe configs failed', { resource: resource.resourceName });
  }
  return result;
}

function describe(resource: Resource, ctx: RequestContext): DescribedConfig[] {
  const { broker } = ctx;
  switch (resource.resourceType) {
    case RESOURCE_TOPIC: {
      const topic = broker.catalog.getTopic(resource.resourceName);
      if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
      return describeTopicConfigs(topic.configs, broker.config, resource.configurationKeys);
    }
    case RESOURCE_BROKER: {
      if (resource.resourceName !== '' && resource.resourceName !== String(broker.cluster.self.nodeId)) {
        throw new KafkaError(
          ErrorCode.INVALID_REQUEST,
          `Unexpected broker id, expected ${broker.cluster.self.nodeId} or empty string, but received ${resource.resourceName}`,
        );
      }
      return describeBrokerConfigs(broker.config, resource.configurationKeys, resource.resourceName !== '');
    }
    default:
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resource.resourceType}`);
  }
}
