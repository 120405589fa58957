import type { HandlerRegistry } from '../dispatcher.js';
import type { ApiHandler } from '../handler-types.js';
import { alterConfigsHandler } from './alter-configs.js';
import { apiVersionsHandler } from './api-versions.js';
import { createPartitionsHandler } from './create-partitions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { deleteRecordsHandler } from './delete-records.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeClusterHandler } from './describe-cluster.js';
import { describeConfigsHandler } from './describe-configs.js';
import { describeGroupsHandler } from './describe-groups.js';
import { describeLogDirsHandler } from './describe-log-dirs.js';
import { fetchHandler } from './fetch.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { addPartitionsToTxnHandler } from './add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from './add-offsets-to-txn.js';
import { endTxnHandler } from './end-txn.js';
import { txnOffsetCommitHandler } from './txn-offset-commit.js';
import { writeTxnMarkersHandler } from './write-txn-markers.js';
import { describeProducersHandler } from './describe-producers.js';
import { describeTransactionsHandler } from './describe-transactions.js';
import { listTransactionsHandler } from './list-transactions.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { listGroupsHandler } from './list-groups.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetDeleteHandler } from './offset-delete.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { produceHandler } from './produce.js';
import { syncGroupHandler } from './sync-group.js';
import { saslAuthenticateHandler } from './sasl-authenticate.js';
import { saslHandshakeHandler } from './sasl-handshake.js';
import { createAclsHandler } from './create-acls.js';
import { deleteAclsHandler } from './delete-acls.js';
import { describeAclsHandler } from './describe-acls.js';
import { alterClientQuotasHandler } from './alter-client-quotas.js';
import { describeClientQuotasHandler } from './describe-client-quotas.js';
import { alterUserScramCredentialsHandler } from './alter-user-scram-credentials.js';
import { describeUserScramCredentialsHandler } from './describe-user-scram-credentials.js';

/**
 * The handler registry: every API this broker serves, one handler per API key. The dispatcher
 * routes with it and ApiVersions advertises exactly it (server/broker.ts); a feature adds its
 * handlers here.
 */

/** Records, topics, configs and cluster APIs. */
export const coreHandlers: readonly ApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  describeConfigsHandler,
  describeClusterHandler,
  deleteRecordsHandler,
  createPartitionsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  describeLogDirsHandler,
  offsetForLeaderEpochHandler,
];

/** The consumer-group APIs (served by BrokerContext.groupCoordinator). */
export const groupHandlers: readonly ApiHandler[] = [
  offsetCommitHandler,
  offsetFetchHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
];

/** Idempotent and transactional producers (served by BrokerContext.transactions). */
export const transactionHandlers: readonly ApiHandler[] = [
  initProducerIdHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  describeProducersHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  writeTxnMarkersHandler,
];

/** Authentication (server/security/) and its users. */
export const securityHandlers: readonly ApiHandler[] = [saslHandshakeHandler, saslAuthenticateHandler, describeUserScramCredentialsHandler, alterUserScramCredentialsHandler];

/** ACLs (server/security/authorizer/). */
export const aclHandlers: readonly ApiHandler[] = [describeAclsHandler, createAclsHandler, deleteAclsHandler];

/** Client quotas (server/quotas/). */
export const quotaHandlers: readonly ApiHandler[] = [describeClientQuotasHandler, alterClientQuotasHandler];

/** The handlers by API key; two handlers for one key are refused. */
export function createHandlerRegistry(
  handlers: readonly ApiHandler[] = [...coreHandlers, ...groupHandlers, ...transactionHandlers, ...securityHandlers, ...aclHandlers, ...quotaHandlers],
): HandlerRegistry {
  const registry = new Map<number, ApiHandler>();
  for (const handler of handlers) {
    if (registry.has(handler.apiKey)) throw new Error(`two handlers for API key ${handler.apiKey}`);
    registry.set(handler.apiKey, handler);
  }
  return registry;
}
