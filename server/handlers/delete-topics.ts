/**
 * DeleteTopics (key 20), versions 0-6.
 * Deletes each named topic (by id from v6): its partitions' data tables and placement, and
 * notifies listeners registered under services 'topicDeleted' (the group coordinator drops
 * the topic's committed offsets). TOPIC_DELETION_DISABLED when delete.topic.enable=false.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../codec/generated/delete-topics.js';
import type { TopicRecord } from '../../storage/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';
import { recordFailure } from './errors.js';

type Result = DeleteTopicsResponse['responses'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Called after a topic is deleted; registered in services under 'topicDeleted'. */
export type TopicDeletedListener = (topic: TopicRecord) => Promise<void>;

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: 20,
  minVersion: 0,
  maxVersion: 6,
  async handle(request, ctx) {
    const targets =
      ctx.apiVersion >= 6
        ? request.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
        : request.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
    const responses: Result[] = [];
    for (const target of targets) responses.push(await deleteOne(target.name, target.topicId, ctx));
    return { throttleTimeMs: 0, responses };
  },
};

async function deleteOne(name: string | null, topicId: string, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  const response: Result = { name, topicId, errorCode: ErrorCode.NONE, errorMessage: null };
  try {
    if (!broker.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
    if (broker.cluster.controllerId() !== broker.cluster.self.nodeId) throw KafkaError.of('NOT_CONTROLLER');
    const topic = name !== null ? broker.catalog.getTopic(name) : topicId !== ZERO_UUID ? broker.catalog.getTopicById(topicId) : undefined;
    if (!topic) {
      throw name !== null
        ? new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
        : new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
    }
    const deleted = await broker.catalog.deleteTopic(topic.name);
    response.name = deleted.name;
    response.topicId = deleted.topicId;
    const listeners = (broker.services.get('topicDeleted') as TopicDeletedListener[] | undefined) ?? [];
    for (const listener of listeners) await listener(deleted);
    broker.logger.info({ topic: deleted.name }, 'topic deleted');
  } catch (err) {
    recordFailure(response, err, ctx, 'delete topic failed', { topic: name });
  }
  return response;
}
