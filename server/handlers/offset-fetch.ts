/**
 * OffsetFetch (key 9), versions 0-8.
 * Committed offsets from MySQL, whatever the group's state (as Kafka: groups may use Kafka
 * only to store offsets). A partition without a commit answers offset -1, metadata '' and
 * leader epoch -1 (v5+); topics null (v2+) returns every committed partition of the group.
 * v8 fetches several groups in one request, each with its own error. Errors of the group
 * (INVALID_GROUP_ID, COORDINATOR_NOT_AVAILABLE) are top-level from v2 and per partition before.
 * require_stable (v7+) never waits: there are no pending transactional offsets yet.
 */
import { authorizeGroup, authorizeTopic, Op } from '../security/authorizer/checks.js';
import { ErrorCode } from '../../codec/error-codes.js';
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchResponseOffsetFetchResponseTopic,
} from '../../codec/generated/offset-fetch.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import { groupCoordinatorOf } from '../groups/service.js';
import type { FetchTopic } from '../groups/types.js';
import type { ApiHandler, RequestContext } from '../handler-types.js';

type Topic = OffsetFetchResponseOffsetFetchResponseTopic;
type RequestTopics = { name: string; partitionIndexes: number[] }[] | null;

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: 9,
  minVersion: 0,
  maxVersion: 8,
  async handle(request, ctx) {
    const coordinator = groupCoordinatorOf(ctx);
    if (ctx.apiVersion >= 8) {
      const groups = await Promise.all(
        request.groups.map(async (g) => {
          const { errorCode, topics } = await fetchGroup(coordinator, g.groupId, g.topics, ctx);
          return { groupId: g.groupId, errorCode, topics: errorCode === ErrorCode.NONE ? topics : [] };
        }),
      );
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
    }
    const { errorCode, topics } = await fetchGroup(coordinator, request.groupId, request.topics, ctx);
    if (errorCode === ErrorCode.NONE) return { throttleTimeMs: 0, topics, errorCode, groups: [] };
    return errorFor(request, errorCode, ctx.apiVersion);
  },
  errorResponse(request, errorCode, ctx) {
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((g) => ({ groupId: g.groupId, errorCode, topics: [] })),
      };
    }
    return errorFor(request, errorCode, ctx.apiVersion);
  },
};

async function fetchGroup(coordinator: GroupCoordinator, groupId: string, requested: RequestTopics, ctx: RequestContext): Promise<{ errorCode: number; topics: Topic[] }> {
  // ACLs: DESCRIBE on the group; per topic DESCRIBE (all topics: the others left out).
  if (!authorizeGroup(ctx, Op.DESCRIBE, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  const wanted: FetchTopic[] | null = requested === null ? null : requested.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
  const result = await coordinator.fetchOffsets(groupId, wanted);
  const topics: Topic[] = [];
  const byName = new Map<string, Topic>();
  for (const o of result.offsets) {
    // Listing all of a group's topics only filters (not logged, as Kafka); named topics are refused.
    const allowed = authorizeTopic(ctx, Op.DESCRIBE, o.topic, requested !== null);
    if (!allowed && requested === null) continue;
    let t = byName.get(o.topic);
    if (!t) {
      t = { name: o.topic, partitions: [] };
      byName.set(o.topic, t);
      topics.push(t);
    }
    t.partitions.push({
      partitionIndex: o.partition,
      committedOffset: allowed ? o.offset : -1n,
      committedLeaderEpoch: allowed ? o.leaderEpoch : -1,
      metadata: allowed ? o.metadata : '',
      errorCode: allowed ? o.errorCode : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    });
  }
  return { errorCode: result.errorCode, topics };
}

/** v2+: the error at the top; v0-1 have no top-level error: every requested partition carries it. */
function errorFor(request: OffsetFetchRequest, errorCode: number, version: number): OffsetFetchResponse {
  const topics =
    version >= 2 || request.topics === null
      ? []
      : request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => ({
            partitionIndex: p,
            committedOffset: -1n,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode,
          })),
        }));
  return { throttleTimeMs: 0, topics, errorCode, groups: [] };
}
