import type { Logger } from 'pino';
import type { BrokerConfig, DynamicBrokerConfigs } from './config/index.js';
import type { LogDirs } from '../storage/services.js';
import type { UserStore } from '../storage/users.js';
import type { MessageIdDedupe } from './dedupe/produce-dedupe.js';
import type { DelayedProduce } from './delayed/produce-hold.js';
import type { LogManager, TopicCatalog, TopicRecord } from '../storage/types.js';
import type { FetchManager } from './fetch-sessions/manager.js';
import type { ConnectionSecurity } from './security/listener-security.js';
import type { KafkaPrincipal } from './security/principal.js';
import type { AclAuthorizer } from './security/authorizer/authorizer.js';
import type { QuotaManager } from './quotas/manager.js';
import type { FetchQuota } from './quotas/enforce.js';
import type { GroupCoordinator } from './groups/coordinator.js';
import type { BrokerMetrics } from './metrics.js';
import type { RetentionService } from './retention/service.js';
import type { TransactionCoordinator } from './transactions/coordinator.js';
import type { SubscriptionsAccess } from './subscriptions/routes.js';

/**
 * What a handler may use. Handlers never see the socket: they get the decoded request and
 * this context, and return the response body (or undefined for "no response", e.g. acks=0).
 * Every service is a typed field; storage's are interfaces in storage's own terms.
 */
export interface BrokerContext {
  config: BrokerConfig;
  /** Writes and re-reads the dynamic broker configs (AlterConfigs on a broker resource); null: the configuration is static. */
  dynamicConfigs: DynamicBrokerConfigs | null;
  logger: Logger;
  catalog: TopicCatalog;
  logs: LogManager;
  /** Per-shard stored sizes (DescribeLogDirs). */
  logDirs: LogDirs;
  /** This broker's id and advertised address; the cluster view (one broker unless ZooKeeper). */
  cluster: ClusterView;
  /** The classic group coordinator; null when none runs (group APIs answer COORDINATOR_NOT_AVAILABLE). */
  groupCoordinator: GroupCoordinator | null;
  /** Incremental fetch sessions (KIP-227) of this broker's consumers. */
  fetchSessions: FetchManager;
  /** Producer ids and transactional ids (InitProducerId, the transaction APIs); null when none runs. */
  transactions: TransactionCoordinator | null;
  /** The retention job (DeleteRecords deletes through its cleaner); null when none runs. */
  retention: RetentionService | null;
  /** Called in order after DeleteTopics deleted a topic (the group coordinator drops its offsets). */
  topicDeletedListeners: TopicDeletedListener[];
  /** What ApiVersions advertises: the handler registry's APIs and versions, by API key. */
  servedApis: readonly ServedApi[];
  metrics: BrokerMetrics;
  /** ACLs (authorizer.class.name); absent or null: every request is allowed, as Kafka without an authorizer. */
  authorizer?: AclAuthorizer | null;
  /** Client quotas (server/quotas/); absent or null: no quota is enforced and the quota APIs answer UNKNOWN_SERVER_ERROR. */
  quotas?: QuotaManager | null;
  /** SASL users and their credentials (the user SCRAM credential APIs); null when not kept. */
  users: UserStore | null;
  /** Push subscriptions' management (REST routes, docs/subscriptions.md); absent or null: not served. */
  subscriptions?: SubscriptionsAccess | null;
  /** Message-id deduplication of topics with message.id.header (server/dedupe/); absent: not served. */
  messageIds?: MessageIdDedupe | null;
  /** Delayed delivery of topics with delayed.delivery.enable (server/delayed/); absent: deliver-at headers are not looked at. */
  delayed?: DelayedProduce | null;
  now(): number;
}

/** Called after a topic is deleted (BrokerContext.topicDeletedListeners). */
export type TopicDeletedListener = (topic: TopicRecord) => Promise<void>;

/** One API and the versions served, as ApiVersions advertises it. */
export interface ServedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** Advertised host and port per listener name (advertised.listeners); absent: host and port for every listener. */
  listeners?: Readonly<Record<string, { host: string; port: number }>>;
}

export interface ClusterView {
  clusterId: string;
  self: BrokerEndpoint;
  brokers(): BrokerEndpoint[];
  controllerId(): number;
  /** Broker leading a partition (this broker when running alone). */
  leaderOf(topicId: string, partition: number): number;
  leaderEpochOf(topicId: string, partition: number): number;
  /** Broker coordinating a group or transactional id. */
  coordinatorFor(key: string, keyType: number): BrokerEndpoint;
  /** Several brokers: the live broker ids Metadata lists as every partition's replicas and ISR (absent: the leader alone). */
  replicaIds?(): number[];
}

export interface RequestContext {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Unique per TCP connection; lets coordinators tie state to a connection. */
  connectionId: number;
  clientHost: string;
  /**
   * The request frame lies in memory the connection allocated for it alone and never writes
   * again (see FrameHandler): views into it may be kept past the request without a copy.
   * Absent or false: the bytes belong to a shared socket chunk or slab and must be copied.
   */
  frameOwned?: boolean;
  /** True once the client's connection has closed: work done only for its answer may stop. */
  clientGone(): boolean;
  /** Aborted when the client's connection closes (absent in tests without a connection). */
  signal?: AbortSignal;
  /**
   * Waits for something outside the broker (a Fetch's long poll) without holding one of the
   * broker's queued.max.requests slots. Absent: just await the promise.
   */
  park?<T>(wait: Promise<T>): Promise<T>;
  broker: BrokerContext;
  logger: Logger;
  /** Who sent the request: the SASL user, the client certificate's mapped subject, or User:ANONYMOUS. What an authorizer checks. */
  principal: KafkaPrincipal;
  /** The listener the request came through and the connection's SASL session; absent without a listener (tests). */
  security?: ConnectionSecurity;
  /** A Fetch's client quotas (server/quotas/enforce.ts); absent when no quota is set. */
  fetchQuota?: FetchQuota;
}

/** One API served by this broker: the versions it advertises and the function serving them. */
export interface ApiHandler<Req = any, Res = any> {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  handle(request: Req, ctx: RequestContext): Promise<Res | undefined> | Res | undefined;
  /**
   * The response to send when `handle` throws: every error code in it set to `errorCode`
   * (UNKNOWN_SERVER_ERROR for an unexpected failure, a KafkaError's own code otherwise) at
   * the finest level the response allows, so a failure never closes the connection.
   */
  errorResponse(request: Req, errorCode: number, ctx: RequestContext): Res;
}
