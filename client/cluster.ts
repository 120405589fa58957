/**
 * A client's view of a cluster on top of KafkaConnection: bootstrap (the first reachable
 * address, then Metadata for the brokers and the controller), one connection per broker,
 * opened when first needed, the request version agreed with each broker through ApiVersions,
 * the group coordinator through FindCoordinator, and a small retry for errors that mean "not
 * here or not now". Only the APIs the admin layer uses are spoken.
 */
import type { ClientSecurity } from './security.js';
import { ErrorCode } from '../codec/error-codes.js';
import { createApiVersionsRequest } from '../codec/generated/api-versions.js';
import { createFindCoordinatorRequest } from '../codec/generated/find-coordinator.js';
import { createMetadataRequest, createMetadataRequestMetadataRequestTopic, type MetadataResponse } from '../codec/generated/metadata.js';
import type { ApiMessages } from '../codec/generated/registry.js';
import { ConnectionClosedError, KafkaConnection } from './connection.js';
import { check, KafkaResponseError } from './errors.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface ClusterOptions {
  /** Tried in order until one answers. */
  bootstrap: readonly BrokerAddress[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Extra attempts after a retriable error (2). */
  retries?: number;
  /** TLS and SASL for every connection (client/security.ts reads them from client properties). */
  security?: ClientSecurity;
}

type SpokenApi = 0 | 2 | 3 | 8 | 9 | 10 | 15 | 16 | 18 | 19 | 20 | 22 | 32 | 37 | 42 | 44 | 60 | 61 | 65 | 66;

/** The versions this client speaks: [lowest, highest]; the highest both sides have is used. */
const SPOKEN: Record<SpokenApi, readonly [number, number]> = {
  0: [3, 9], // Produce: record batches v2
  2: [2, 7], // ListOffsets: v2+ isolation level
  3: [4, 12], // Metadata: v4+ can refuse auto-creation
  8: [2, 8], // OffsetCommit
  9: [1, 7], // OffsetFetch: v8+ batches groups, one group is all we ask
  10: [0, 3], // FindCoordinator: v4+ batches keys
  15: [0, 5], // DescribeGroups
  16: [0, 4], // ListGroups
  18: [0, 0], // ApiVersions: v0 is answered by every broker
  19: [1, 7], // CreateTopics: v1+ validate-only and error messages
  20: [0, 5], // DeleteTopics: v6+ names topics by struct
  22: [3, 5], // InitProducerId: v3+ names the current producer (the CLI's abort sends none)
  32: [1, 4], // DescribeConfigs: v1+ sources and synonyms
  37: [0, 3], // CreatePartitions
  42: [0, 2], // DeleteGroups
  44: [0, 1], // IncrementalAlterConfigs
  60: [0, 0], // DescribeCluster: v1 only adds the endpoint type
  61: [0, 0], // DescribeProducers
  65: [0, 0], // DescribeTransactions
  66: [0, 1], // ListTransactions
};

/** One broker: its connection and the version agreed for each API. */
export class BrokerNode {
  private constructor(
    readonly address: BrokerAddress,
    readonly connection: KafkaConnection,
    private readonly versions: ReadonlyMap<number, number>,
  ) {}

  static async open(address: BrokerAddress, options: ClusterOptions): Promise<BrokerNode> {
    const connection = await KafkaConnection.open({
      ...address,
      clientId: options.clientId ?? 'kafka-mysql-client',
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      ...options.security,
    });
    try {
      const answer = await connection.request(18, 0, createApiVersionsRequest());
      check(answer.errorCode);
      const versions = new Map<number, number>();
      for (const api of answer.apiKeys) {
        const spoken = SPOKEN[api.apiKey as SpokenApi];
        if (spoken === undefined) continue;
        const highest = Math.min(spoken[1], api.maxVersion);
        if (highest >= Math.max(spoken[0], api.minVersion)) versions.set(api.apiKey, highest);
      }
      return new BrokerNode(address, connection, versions);
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  version(apiKey: SpokenApi): number {
    const v = this.versions.get(apiKey);
    if (v === undefined) throw new KafkaResponseError(ErrorCode.UNSUPPORTED_VERSION, `${this.address.host}:${this.address.port} has no version of API ${apiKey} in ${SPOKEN[apiKey].join('-')}`);
    return v;
  }

  /** Sends at the agreed version; `body` has every field of every version (the codec writes those of this one). */
  request<K extends SpokenApi>(apiKey: K, body: ApiMessages[K]['request']): Promise<ApiMessages[K]['response']> {
    return this.connection.request(apiKey, this.version(apiKey), body);
  }
}

export class KafkaCluster {
  private readonly nodes = new Map<string, Promise<BrokerNode>>();
  private readonly brokers = new Map<number, BrokerAddress>();
  private controllerId = -1;

  private constructor(
    private readonly options: ClusterOptions,
    private seed: BrokerNode,
  ) {
    this.nodes.set(key(seed.address), Promise.resolve(seed));
  }

  /** Connects to the first bootstrap address that answers and reads the cluster's brokers. */
  static async connect(options: ClusterOptions): Promise<KafkaCluster> {
    const cluster = new KafkaCluster(options, await openFirst(options));
    try {
      await cluster.metadata([]);
    } catch (err) {
      cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Metadata of `topics` (null: every topic), never creating one; refreshes the broker list. */
  async metadata(topics: readonly string[] | null): Promise<MetadataResponse> {
    const node = await this.any();
    const response = await node.request(
      3,
      createMetadataRequest({ topics: topics === null ? null : topics.map((name) => createMetadataRequestMetadataRequestTopic({ name })), allowAutoTopicCreation: false }),
    );
    this.brokers.clear();
    for (const b of response.brokers) this.brokers.set(b.nodeId, { host: b.host, port: b.port });
    this.controllerId = response.controllerId;
    return response;
  }

  brokerIds(): number[] {
    return [...this.brokers.keys()].sort((a, b) => a - b);
  }

  /** The bootstrap broker, reconnected (through the bootstrap list) if its connection closed. */
  async any(): Promise<BrokerNode> {
    if (this.seed.connection.isClosed) {
      this.nodes.delete(key(this.seed.address));
      this.seed = await openFirst(this.options);
      this.nodes.set(key(this.seed.address), Promise.resolve(this.seed));
    }
    return this.seed;
  }

  async node(nodeId: number): Promise<BrokerNode> {
    let address = this.brokers.get(nodeId);
    if (address === undefined) {
      await this.metadata([]);
      address = this.brokers.get(nodeId);
    }
    if (address === undefined) throw new Error(`broker ${nodeId} is not in the cluster metadata`);
    return this.nodeAt(address);
  }

  /** The controller (the bootstrap broker when the cluster names none). */
  controller(): Promise<BrokerNode> {
    return this.controllerId < 0 ? this.any() : this.node(this.controllerId);
  }

  /** The coordinator of a group (keyType 0) or of a transactional id (keyType 1). */
  async coordinator(key: string, keyType: 0 | 1 = 0): Promise<BrokerNode> {
    const node = await this.any();
    if (keyType === 1 && node.version(10) < 1) throw new KafkaResponseError(ErrorCode.UNSUPPORTED_VERSION, 'FindCoordinator v1+ is needed for transactional ids');
    const found = await node.request(10, createFindCoordinatorRequest({ key, keyType }));
    check(found.errorCode, found.errorMessage);
    return this.nodeAt({ host: found.host, port: found.port });
  }

  /**
   * Runs `operation`, again (after a fresh Metadata and a short wait) when it fails with an
   * error meaning the request was not applied: a retriable Kafka error or a closed connection.
   */
  async retrying<T>(operation: () => Promise<T>): Promise<T> {
    const retries = this.options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation();
      } catch (err) {
        const retriable = (err instanceof KafkaResponseError && err.retriable) || err instanceof ConnectionClosedError;
        if (!retriable || attempt >= retries) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
        await this.metadata([]).catch(() => undefined);
      }
    }
  }

  close(): void {
    for (const node of this.nodes.values()) node.then((n) => n.connection.close(), () => undefined);
    this.nodes.clear();
  }

  private async nodeAt(address: BrokerAddress): Promise<BrokerNode> {
    const k = key(address);
    const existing = this.nodes.get(k);
    if (existing !== undefined) {
      const node = await existing.catch(() => null);
      if (node !== null && !node.connection.isClosed) return node;
    }
    const opening = BrokerNode.open(address, this.options);
    this.nodes.set(k, opening);
    return opening;
  }
}

function key(a: BrokerAddress): string {
  return `${a.host}:${a.port}`;
}

async function openFirst(options: ClusterOptions): Promise<BrokerNode> {
  if (options.bootstrap.length === 0) throw new Error('no bootstrap server');
  let last: unknown;
  for (const address of options.bootstrap) {
    try {
      return await BrokerNode.open(address, options);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
