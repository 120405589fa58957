/**
 * OffsetDelete (key 47), version 0.
 * Removes committed offsets of a group. An Empty group (or one known only by its offsets)
 * loses every requested partition; a running consumer group keeps partitions of topics its
 * current generation subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per partition, read from the
 * members' subscription metadata); a running group of another protocol type refuses with
 * NON_EMPTY_GROUP. Topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION; an unknown group
 * GROUP_ID_NOT_FOUND (then no topics are listed, as in Kafka).
 */
import { authorizeGroup, authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../codec/generated/offset-delete.js';
import type { TopicPartitions } from '../../storage/offset-store.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { ApiHandler } from '../handler-types.js';

export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: 47,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    // ACLs: DELETE on the group, READ on each topic.
    if (!authorizeGroup(ctx, Op.DELETE, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx);
    const known: TopicPartitions[] = [];
    const refused = new Set<string>();
    for (const t of request.topics) {
      if (!authorizeTopic(ctx, Op.READ, t.name)) refused.add(t.name);
      else if (ctx.broker.catalog.getTopic(t.name)) known.push({ topic: t.name, partitions: t.partitions.map((p) => p.partitionIndex) });
    }
    const result = await groupCoordinatorOf(ctx).deleteOffsets(request.groupId, known);
    if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
    const errors = new Map<string, number>();
    for (const p of result.partitions) errors.set(`${p.partition}:${p.topic}`, p.errorCode);
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: refused.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : (errors.get(`${p.partitionIndex}:${t.name}`) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        })),
      })),
    };
  },
  errorResponse(_request, errorCode) {
    return { errorCode, throttleTimeMs: 0, topics: [] };
  },
};
