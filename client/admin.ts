/**
 * The admin operations the `kafka-mysql` CLI needs, over KafkaCluster: topics (list, metadata,
 * offsets, create, delete, add partitions), configs (describe, incremental alter), consumer
 * groups (list on every broker, describe with decoded assignments, committed offsets, offset
 * commits outside any generation, delete), transactions (list, describe, the producers of a
 * partition, fencing a transactional id to abort its transaction), the cluster (brokers and
 * controller through DescribeCluster, every partition's leader and epoch, a group's coordinator
 * through FindCoordinator) and Produce of ready-made batches. Requests go where
 * Kafka's AdminClient sends them: topic changes to the controller, group operations to the
 * group's coordinator, ListOffsets and Produce to the partition's leader, broker configs to
 * that broker. Kafka errors are thrown as KafkaResponseError (the first one of a response),
 * except where a caller needs them per item.
 */
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment } from '../codec/consumer-protocol.js';
import { ErrorCode } from '../codec/error-codes.js';
import { createCreatePartitionsRequest } from '../codec/generated/create-partitions.js';
import { createCreateTopicsRequest, createCreateTopicsRequestCreatableTopic } from '../codec/generated/create-topics.js';
import type { ConsumerProtocolAssignment } from '../codec/generated/consumer-protocol.js';
import { createDeleteTopicsRequest } from '../codec/generated/delete-topics.js';
import { createDescribeClusterRequest } from '../codec/generated/describe-cluster.js';
import { createDescribeConfigsRequest } from '../codec/generated/describe-configs.js';
import { createFindCoordinatorRequest } from '../codec/generated/find-coordinator.js';
import { createDescribeProducersRequest } from '../codec/generated/describe-producers.js';
import { createDescribeTransactionsRequest } from '../codec/generated/describe-transactions.js';
import { createInitProducerIdRequest } from '../codec/generated/init-producer-id.js';
import { createListTransactionsRequest } from '../codec/generated/list-transactions.js';
import { createListOffsetsRequest, createListOffsetsRequestListOffsetsPartition } from '../codec/generated/list-offsets.js';
import { createOffsetCommitRequest, createOffsetCommitRequestOffsetCommitRequestPartition } from '../codec/generated/offset-commit.js';
import { createOffsetFetchRequest } from '../codec/generated/offset-fetch.js';
import { KafkaCluster, type BrokerNode, type ClusterOptions } from './cluster.js';
import { check, KafkaResponseError } from './errors.js';

export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** ListOffsets special timestamps. */
const LATEST = -1n;
const EARLIEST = -2n;
/** Offsets of committed data only, as kafkajs and Kafka's tools read them. */
const READ_COMMITTED = 1;
const DEFAULT_CONFIG_SOURCE = 5;

export interface ClusterDescription {
  clusterId: string;
  controllerId: number;
  brokers: Array<{ id: number; host: string; port: number; rack: string | null }>;
}

export interface PartitionLeader {
  topic: string;
  partition: number;
  /** -1 while the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  partitions: Array<{ partitionId: number; leader: number; replicas: number[]; isr: number[] }>;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: bigint;
  /** Offset after the last committed record (high watermark, or last stable offset). */
  high: bigint;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: number;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
}

export interface ConfigChange {
  name: string;
  /** 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT. */
  configOperation: number;
  value: string | null;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string; assignment: ConsumerProtocolAssignment | null }>;
}

export interface CommittedOffsets {
  topic: string;
  partitions: Array<{ partition: number; offset: bigint; metadata: string | null }>;
}

export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  state: string;
  /** The broker that answered (the id's coordinator). */
  coordinator: number;
}

export interface TransactionDescription {
  transactionalId: string;
  coordinator: { host: string; port: number };
  state: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  /** -1 when no transaction is open. */
  startTimeMs: bigint;
  partitions: Array<{ topic: string; partition: number }>;
}

export interface ActiveProducer {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction in the partition, -1 when none. */
  currentTxnStartOffset: bigint;
}

export class KafkaAdmin {
  private constructor(private readonly cluster: KafkaCluster) {}

  static async connect(options: ClusterOptions): Promise<KafkaAdmin> {
    return new KafkaAdmin(await KafkaCluster.connect(options));
  }

  close(): void {
    this.cluster.close();
  }

  /** The brokers, the controller and the cluster id, as DescribeCluster answers. */
  describeCluster(): Promise<ClusterDescription> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.any();
      const r = await node.request(60, createDescribeClusterRequest({ includeClusterAuthorizedOperations: false }));
      check(r.errorCode, r.errorMessage);
      return {
        clusterId: r.clusterId,
        controllerId: r.controllerId,
        brokers: r.brokers.map((b) => ({ id: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.id - b.id),
      };
    });
  }

  /** Every partition of every topic with its leader and leader epoch (Metadata). */
  async partitionLeaders(): Promise<PartitionLeader[]> {
    const md = await this.cluster.metadata(null);
    const out: PartitionLeader[] = [];
    for (const t of md.topics) {
      if (t.errorCode !== ErrorCode.NONE || t.name === null) continue;
      for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, errorCode: p.errorCode });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** The broker FindCoordinator names for a group id (keyType 0) or a transactional id (1). */
  findCoordinator(key: string, keyType: 0 | 1 = 0): Promise<{ nodeId: number; host: string; port: number }> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.any();
      const found = await node.request(10, createFindCoordinatorRequest({ key, keyType }));
      check(found.errorCode, found.errorMessage);
      return { nodeId: found.nodeId, host: found.host, port: found.port };
    });
  }

  async listTopics(): Promise<string[]> {
    const md = await this.cluster.metadata(null);
    return md.topics.filter((t) => t.errorCode === ErrorCode.NONE && t.name !== null).map((t) => t.name!);
  }

  /** Fails on the first topic or partition error (UNKNOWN_TOPIC_OR_PARTITION for a missing topic). */
  fetchTopicMetadata(topics: readonly string[]): Promise<TopicMetadata[]> {
    return this.cluster.retrying(async () => {
      const md = await this.cluster.metadata(topics);
      for (const t of md.topics) {
        check(t.errorCode);
        for (const p of t.partitions) check(p.errorCode);
      }
      return md.topics.map((t) => ({
        name: t.name ?? '',
        partitions: t.partitions.map((p) => ({ partitionId: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes })),
      }));
    });
  }

  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const high = await this.listOffsets(topic, LATEST);
    const low = await this.listOffsets(topic, EARLIEST);
    return [...high].map(([partition, offset]) => ({ partition, low: low.get(partition) ?? -1n, high: offset }));
  }

  /** The first offset at or after `timestamp` per partition; the high watermark where there is none. */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: bigint }>> {
    const high = await this.listOffsets(topic, LATEST);
    const found = await this.listOffsets(topic, BigInt(timestamp));
    return [...found].map(([partition, offset]) => ({ partition, offset: offset >= 0n ? offset : high.get(partition)! }));
  }

  /** Configs of one resource; broker configs are asked of that broker, as only it knows them. */
  describeConfigs(resource: { type: number; name: string }, includeSynonyms: boolean): Promise<ConfigEntry[]> {
    return this.cluster.retrying(async () => {
      const node = resource.type === ConfigResourceType.BROKER ? await this.cluster.node(Number(resource.name)) : await this.cluster.controller();
      const response = await node.request(
        32,
        createDescribeConfigsRequest({ resources: [{ resourceType: resource.type, resourceName: resource.name, configurationKeys: null }], includeSynonyms }),
      );
      const r = response.results[0];
      if (r === undefined) throw new Error('empty DescribeConfigs response');
      check(r.errorCode, r.errorMessage);
      return r.configs.map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        // v1+ carry the source instead of the flag.
        isDefault: c.configSource === DEFAULT_CONFIG_SOURCE,
        source: c.configSource,
        isSensitive: c.isSensitive,
        synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
      }));
    });
  }

  /** True when created (or valid, with validateOnly), false when the topic already exists. */
  createTopic(
    topic: { name: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> },
    validateOnly: boolean,
  ): Promise<boolean> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.controller();
      const response = await node.request(
        19,
        createCreateTopicsRequest({
          topics: [
            createCreateTopicsRequestCreatableTopic({
              name: topic.name,
              numPartitions: topic.numPartitions,
              replicationFactor: topic.replicationFactor,
              configs: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
            }),
          ],
          timeoutMs: 30_000,
          validateOnly,
        }),
      );
      const r = response.topics[0];
      if (r === undefined) throw new Error('empty CreateTopics response');
      if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return false;
      check(r.errorCode, r.errorMessage);
      return true;
    });
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.controller();
      const response = await node.request(20, createDeleteTopicsRequest({ topicNames: [...names], timeoutMs: 30_000 }));
      for (const r of response.responses) check(r.errorCode, r.errorMessage);
    });
  }

  createPartitions(topic: string, count: number, validateOnly: boolean): Promise<void> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.controller();
      const response = await node.request(37, createCreatePartitionsRequest({ topics: [{ name: topic, count, assignments: null }], timeoutMs: 30_000, validateOnly }));
      for (const r of response.results) check(r.errorCode, r.errorMessage);
    });
  }

  incrementalAlterConfigs(resource: { type: number; name: string }, configs: ConfigChange[], validateOnly: boolean): Promise<void> {
    return this.cluster.retrying(async () => {
      const node = resource.type === ConfigResourceType.BROKER ? await this.cluster.node(Number(resource.name)) : await this.cluster.controller();
      const response = await node.request(44, { validateOnly, resources: [{ resourceType: resource.type, resourceName: resource.name, configs }] });
      const r = response.responses[0];
      if (r === undefined) throw new Error('empty IncrementalAlterConfigs response');
      check(r.errorCode, r.errorMessage);
    });
  }

  /** Groups of every broker of the cluster. */
  async listGroups(): Promise<Array<{ groupId: string; protocolType: string }>> {
    await this.cluster.metadata([]);
    const groups: Array<{ groupId: string; protocolType: string }> = [];
    for (const id of this.cluster.brokerIds()) {
      const node = await this.cluster.node(id);
      const response = await node.request(16, { statesFilter: [], typesFilter: [] });
      check(response.errorCode);
      for (const g of response.groups) groups.push({ groupId: g.groupId, protocolType: g.protocolType });
    }
    return groups;
  }

  /** A group as its coordinator sees it; consumer groups' assignments decoded (null when they do not parse). */
  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.coordinator(groupId);
      const response = await node.request(15, { groups: [groupId], includeAuthorizedOperations: false });
      const g = response.groups[0];
      if (g === undefined) throw new Error(`no description of group ${groupId}`);
      check(g.errorCode);
      const consumer = g.protocolType === CONSUMER_PROTOCOL_TYPE;
      return {
        groupId: g.groupId,
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: consumer && m.memberAssignment.length > 0 ? decodeAssignment(m.memberAssignment) : null,
        })),
      };
    });
  }

  /** Every committed offset of the group (partitions without one are -1, as the broker answers). */
  fetchOffsets(groupId: string): Promise<CommittedOffsets[]> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.coordinator(groupId);
      const response = await node.request(9, createOffsetFetchRequest({ groupId, topics: null }));
      check(response.errorCode);
      for (const t of response.topics) for (const p of t.partitions) check(p.errorCode);
      return response.topics.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata })),
      }));
    });
  }

  /** Commits outside any generation (generation -1, no member), accepted while the group has no members. */
  commitOffsets(groupId: string, topic: string, partitions: ReadonlyArray<{ partition: number; offset: bigint }>): Promise<void> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.coordinator(groupId);
      const response = await node.request(
        8,
        createOffsetCommitRequest({
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          topics: [
            {
              name: topic,
              partitions: partitions.map((p) => createOffsetCommitRequestOffsetCommitRequestPartition({ partitionIndex: p.partition, committedOffset: p.offset })),
            },
          ],
        }),
      );
      for (const t of response.topics) for (const p of t.partitions) check(p.errorCode);
    });
  }

  /** Deletes each group at its coordinator; the outcome per group (error null when deleted). */
  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string; error: KafkaResponseError | null }>> {
    const results: Array<{ groupId: string; error: KafkaResponseError | null }> = [];
    for (const groupId of groupIds) {
      const error = await this.cluster
        .retrying(async () => {
          const node = await this.cluster.coordinator(groupId);
          const response = await node.request(42, { groupsNames: [groupId] });
          check(response.results[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
        })
        .then(
          () => null,
          (err: unknown) => {
            if (err instanceof KafkaResponseError) return err;
            throw err;
          },
        );
      results.push({ groupId, error });
    }
    return results;
  }

  /** Transactional ids of every broker (ListTransactions), optionally only those in `states`. */
  async listTransactions(states: readonly string[] = []): Promise<TransactionListing[]> {
    await this.cluster.metadata([]);
    const listings: TransactionListing[] = [];
    for (const id of this.cluster.brokerIds()) {
      const node = await this.cluster.node(id);
      const response = await node.request(66, createListTransactionsRequest({ stateFilters: [...states] }));
      check(response.errorCode);
      for (const t of response.transactionStates) listings.push({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: id });
    }
    return listings;
  }

  /** A transactional id as its coordinator sees it (DescribeTransactions). */
  describeTransaction(transactionalId: string): Promise<TransactionDescription> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.coordinator(transactionalId, 1);
      const response = await node.request(65, createDescribeTransactionsRequest({ transactionalIds: [transactionalId] }));
      const t = response.transactionStates[0];
      if (t === undefined) throw new Error(`no description of transactional id ${transactionalId}`);
      check(t.errorCode);
      return {
        transactionalId: t.transactionalId,
        coordinator: { host: node.address.host, port: node.address.port },
        state: t.transactionState,
        producerId: t.producerId,
        producerEpoch: t.producerEpoch,
        timeoutMs: t.transactionTimeoutMs,
        startTimeMs: t.transactionStartTimeMs,
        partitions: t.topics.flatMap((x) => x.partitions.map((partition) => ({ topic: x.topic, partition }))),
      };
    });
  }

  /** The producers the partition's leader knows (DescribeProducers). */
  async describeProducers(topic: string, partition: number): Promise<ActiveProducer[]> {
    return this.cluster.retrying(async () => {
      const node = await this.leaderOf(topic, partition);
      const response = await node.request(61, createDescribeProducersRequest({ topics: [{ name: topic, partitionIndexes: [partition] }] }));
      const p = response.topics[0]?.partitions[0];
      if (p === undefined) throw new Error('empty DescribeProducers response');
      check(p.errorCode, p.errorMessage);
      return p.activeProducers.map((a) => ({ ...a }));
    });
  }

  /**
   * Fences `transactionalId` at its coordinator: an InitProducerId with the id and no current
   * producer, which is what a new producer instance with that id sends. The coordinator aborts
   * the open transaction (markers in every partition of it) and bumps the epoch, so the old
   * producer is fenced. Resolves with the new producer id and epoch (never used by anyone).
   */
  fenceTransactionalId(transactionalId: string, transactionTimeoutMs: number): Promise<{ producerId: bigint; producerEpoch: number }> {
    return this.cluster.retrying(async () => {
      const node = await this.cluster.coordinator(transactionalId, 1);
      const response = await node.request(22, createInitProducerIdRequest({ transactionalId, transactionTimeoutMs, producerId: -1n, producerEpoch: -1 }));
      check(response.errorCode);
      return { producerId: response.producerId, producerEpoch: response.producerEpoch };
    });
  }

  /** Produces one encoded record batch (acks=all) to the partition's leader. */
  async produce(topic: string, partition: number, records: Buffer): Promise<void> {
    try {
      const node = await this.leaderOf(topic, partition);
      const response = await node.request(0, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      });
      const p = response.responses[0]?.partitionResponses[0];
      if (p === undefined) throw new Error('empty Produce response');
      check(p.errorCode, p.errorMessage);
    } catch (err) {
      // The leader may have moved (NOT_LEADER_OR_FOLLOWER, a closed connection): ask again next time.
      this.leaders.delete(topic);
      throw err;
    }
  }

  private readonly leaders = new Map<string, Promise<Map<number, number>>>();

  /** The leader of each partition of `topic`, from one Metadata request per topic. */
  private leadersOf(topic: string): Promise<Map<number, number>> {
    let leaders = this.leaders.get(topic);
    if (leaders === undefined) {
      leaders = this.fetchTopicMetadata([topic]).then(([t]) => new Map((t?.partitions ?? []).map((p) => [p.partitionId, p.leader])));
      this.leaders.set(topic, leaders);
      leaders.catch(() => this.leaders.delete(topic));
    }
    return leaders;
  }

  private async leaderOf(topic: string, partition: number): Promise<BrokerNode> {
    const leader = (await this.leadersOf(topic)).get(partition);
    if (leader === undefined || leader < 0) throw new KafkaResponseError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic} has no partition ${partition}`);
    return this.cluster.node(leader);
  }

  /** The offset for `timestamp` of every partition of `topic`, asked of each partition's leader. */
  private listOffsets(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    return this.cluster.retrying(async () => {
      this.leaders.delete(topic);
      const byLeader = new Map<number, number[]>();
      for (const [partition, leader] of await this.leadersOf(topic)) byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
      const offsets = new Map<number, bigint>();
      for (const [leader, partitions] of byLeader) {
        const node = await this.cluster.node(leader);
        const response = await node.request(
          2,
          createListOffsetsRequest({
            replicaId: -1,
            isolationLevel: READ_COMMITTED,
            topics: [{ name: topic, partitions: partitions.map((partitionIndex) => createListOffsetsRequestListOffsetsPartition({ partitionIndex, timestamp })) }],
          }),
        );
        for (const t of response.topics) {
          for (const p of t.partitions) {
            check(p.errorCode);
            offsets.set(p.partitionIndex, p.offset);
          }
        }
      }
      return new Map([...offsets].sort((a, b) => a[0] - b[0]));
    });
  }
}
