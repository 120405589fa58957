/**
 * DeleteTopics (key 20), versions 0-6.
 * Deletes each named topic (by id from v6): its partitions' data tables and placement, and
 * calls the context's topicDeletedListeners (the group coordinator drops the topic's
 * committed offsets). TOPIC_DELETION_DISABLED when delete.topic.enable=false. A topic that
 * fails gets its error in its result; an unexpected failure of the whole request sets
 * UNKNOWN_SERVER_ERROR on every topic.
 */
import { authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../codec/generated/delete-topics.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { recordFailure } from './errors.js';

type Result = DeleteTopicsResponse['responses'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: 20,
  minVersion: 0,
  maxVersion: 6,
  async handle(request, ctx) {
    const responses: Result[] = [];
    for (const target of targetsOf(request, ctx.apiVersion)) responses.push(await deleteOne(target.name, target.topicId, ctx));
    return { throttleTimeMs: 0, responses };
  },
  errorResponse(request, errorCode, ctx) {
    return {
      throttleTimeMs: 0,
      responses: targetsOf(request, ctx.apiVersion).map((t) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage: null })),
    };
  },
};

function targetsOf(request: DeleteTopicsRequest, apiVersion: number): Array<{ name: string | null; topicId: string }> {
  return apiVersion >= 6
    ? request.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
    : request.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
}

async function deleteOne(name: string | null, topicId: string, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  const response: Result = { name, topicId, errorCode: ErrorCode.NONE, errorMessage: null };
  try {
    // ACLs: DELETE on the topic (by name before it is looked up, so an unknown name is refused the same way).
    if (name !== null && !authorizeTopic(ctx, Op.DELETE, name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    if (!broker.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
    if (broker.cluster.controllerId() !== broker.cluster.self.nodeId) throw KafkaError.of('NOT_CONTROLLER');
    const topic = name !== null ? broker.catalog.getTopic(name) : topicId !== ZERO_UUID ? broker.catalog.getTopicById(topicId) : undefined;
    if (topic && !authorizeTopic(ctx, Op.DELETE, topic.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    if (!topic) {
      throw name !== null
        ? new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
        : new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
    }
    const deleted = await broker.catalog.deleteTopic(topic.name);
    response.name = deleted.name;
    response.topicId = deleted.topicId;
    for (const listener of broker.topicDeletedListeners) await listener(deleted);
    broker.logger.info({ topic: deleted.name }, 'topic deleted');
  } catch (err) {
    recordFailure(response, err, ctx, 'delete topic failed', { topic: name });
  }
  return response;
}
