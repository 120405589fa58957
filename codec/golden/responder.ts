/**
 * Minimal answers for the golden capture (codec/golden/capture.ts): enough for real clients
 * to go on to their next request. One broker (node 0, itself), one topic "golden" with one
 * empty partition, a consumer group where the single member leads and gets what it assigns.
 * Not a broker: nothing is stored.
 */
import { createApiVersionsResponse } from '../generated/api-versions.js';
import { createFetchResponse, createFetchResponsePartitionData, type FetchRequest } from '../generated/fetch.js';
import { createFindCoordinatorResponse, type FindCoordinatorRequest } from '../generated/find-coordinator.js';
import { createHeartbeatResponse } from '../generated/heartbeat.js';
import { createJoinGroupResponse, type JoinGroupRequest } from '../generated/join-group.js';
import { createLeaveGroupResponse } from '../generated/leave-group.js';
import {
  createListOffsetsResponse,
  createListOffsetsResponseListOffsetsPartitionResponse,
  type ListOffsetsRequest,
} from '../generated/list-offsets.js';
import { createMetadataResponse } from '../generated/metadata.js';
import { createOffsetCommitResponse, type OffsetCommitRequest } from '../generated/offset-commit.js';
import {
  createOffsetFetchResponse,
  createOffsetFetchResponseOffsetFetchResponsePartition,
  type OffsetFetchRequest,
} from '../generated/offset-fetch.js';
import { createProduceResponse, createProduceResponsePartitionProduceResponse, type ProduceRequest } from '../generated/produce.js';
import { ApiKey } from '../generated/registry.js';
import { createSyncGroupResponse, type SyncGroupRequest } from '../generated/sync-group.js';

/** Version ranges advertised to the clients. */
export const ADVERTISED: ReadonlyArray<readonly [number, number, number]> = [
  [ApiKey.Produce, 0, 9],
  [ApiKey.Fetch, 4, 12],
  [ApiKey.ListOffsets, 0, 7],
  [ApiKey.Metadata, 0, 9],
  [ApiKey.OffsetCommit, 0, 8],
  [ApiKey.OffsetFetch, 0, 8],
  [ApiKey.FindCoordinator, 0, 4],
  [ApiKey.JoinGroup, 0, 9],
  [ApiKey.Heartbeat, 0, 4],
  [ApiKey.LeaveGroup, 0, 5],
  [ApiKey.SyncGroup, 0, 5],
  [ApiKey.DescribeGroups, 0, 5],
  [ApiKey.ListGroups, 0, 4],
  [ApiKey.ApiVersions, 0, 3],
  [ApiKey.CreateTopics, 0, 7],
  [ApiKey.DeleteTopics, 0, 6],
  [ApiKey.InitProducerId, 0, 4],
  [ApiKey.DescribeConfigs, 0, 4],
];

const MEMBER_ID = 'golden-member-1';

/** The response body for a request, or null to send nothing (acks=0, or an API not handled). */
export function respond(apiKey: number, body: unknown, port: number): unknown {
  switch (apiKey) {
    case ApiKey.ApiVersions:
      return createApiVersionsResponse({
        apiKeys: ADVERTISED.map(([k, lo, hi]) => ({ apiKey: k, minVersion: lo, maxVersion: hi })),
      });
    case ApiKey.Metadata:
      return metadata(port);
    case ApiKey.Produce: {
      const req = body as ProduceRequest;
      if (req.acks === 0) return null;
      return createProduceResponse({
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) =>
            createProduceResponsePartitionProduceResponse({ index: p.index, baseOffset: 0n, logStartOffset: 0n }),
          ),
        })),
      });
    }
    case ApiKey.FindCoordinator: {
      const req = body as FindCoordinatorRequest;
      const keys = req.coordinatorKeys.length > 0 ? req.coordinatorKeys : [req.key];
      return createFindCoordinatorResponse({
        nodeId: 0,
        host: '127.0.0.1',
        port,
        coordinators: keys.map((key) => ({ key, nodeId: 0, host: '127.0.0.1', port, errorCode: 0, errorMessage: null })),
      });
    }
    case ApiKey.JoinGroup: {
      const req = body as JoinGroupRequest;
      const protocol = req.protocols[0];
      return createJoinGroupResponse({
        generationId: 1,
        protocolType: req.protocolType,
        protocolName: protocol?.name ?? null,
        leader: MEMBER_ID,
        memberId: MEMBER_ID,
        members: [{ memberId: MEMBER_ID, groupInstanceId: null, metadata: protocol?.metadata ?? Buffer.alloc(0) }],
      });
    }
    case ApiKey.SyncGroup: {
      const req = body as SyncGroupRequest;
      const mine = req.assignments.find((a) => a.memberId === req.memberId) ?? req.assignments[0];
      return createSyncGroupResponse({
        protocolType: req.protocolType,
        protocolName: req.protocolName,
        assignment: mine?.assignment ?? Buffer.alloc(0),
      });
    }
    case ApiKey.OffsetFetch: {
      const req = body as OffsetFetchRequest;
      return createOffsetFetchResponse({
        topics: (req.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((i) =>
            createOffsetFetchResponseOffsetFetchResponsePartition({ partitionIndex: i, committedOffset: -1n, metadata: '' }),
          ),
        })),
      });
    }
    case ApiKey.OffsetCommit: {
      const req = body as OffsetCommitRequest;
      return createOffsetCommitResponse({
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })),
        })),
      });
    }
    case ApiKey.ListOffsets: {
      const req = body as ListOffsetsRequest;
      return createListOffsetsResponse({
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) =>
            createListOffsetsResponseListOffsetsPartitionResponse({
              partitionIndex: p.partitionIndex,
              oldStyleOffsets: [0n],
              timestamp: -1n,
              offset: 0n,
            }),
          ),
        })),
      });
    }
    case ApiKey.Fetch: {
      const req = body as FetchRequest;
      return createFetchResponse({
        responses: req.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) =>
            createFetchResponsePartitionData({
              partitionIndex: p.partition,
              highWatermark: 0n,
              lastStableOffset: 0n,
              logStartOffset: 0n,
              abortedTransactions: [],
              records: Buffer.alloc(0),
            }),
          ),
        })),
      });
    }
    case ApiKey.Heartbeat:
      return createHeartbeatResponse();
    case ApiKey.LeaveGroup:
      return createLeaveGroupResponse();
    default:
      return null;
  }
}

function metadata(port: number): unknown {
  return createMetadataResponse({
    brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
    clusterId: 'golden-capture',
    controllerId: 0,
    topics: [
      {
        errorCode: 0,
        name: 'golden',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        isInternal: false,
        partitions: [
          {
            errorCode: 0,
            partitionIndex: 0,
            leaderId: 0,
            leaderEpoch: 0,
            replicaNodes: [0],
            isrNodes: [0],
            offlineReplicas: [],
          },
        ],
        topicAuthorizedOperations: -2147483648,
      },
    ],
  });
}
