/**
 * Consumer groups: the classic group coordinator and the handlers of the group APIs.
 *
 * Wiring (server/broker.ts):
 *   const coordinator = createGroupCoordinator({ offsetStore: new MysqlOffsetStore(storage.metadataPool),
 *     config: { initialRebalanceDelayMs, minSessionTimeoutMs, maxSessionTimeoutMs, offsetsRetentionMinutes,
 *     offsetMetadataMaxBytes }, logger });
 *   context.services.set(GROUP_COORDINATOR_SERVICE, coordinator);   // 'groupCoordinator'
 *   handlers.push(...groupHandlers);
 *   // DeleteTopics: await coordinator.onTopicsDeleted(names); shutdown: coordinator.close().
 */
import type { ApiHandler } from '../handler-types.js';
import { deleteGroupsHandler } from '../handlers/delete-groups.js';
import { describeGroupsHandler } from '../handlers/describe-groups.js';
import { findCoordinatorHandler } from '../handlers/find-coordinator.js';
import { heartbeatHandler } from '../handlers/heartbeat.js';
import { joinGroupHandler } from '../handlers/join-group.js';
import { leaveGroupHandler } from '../handlers/leave-group.js';
import { listGroupsHandler } from '../handlers/list-groups.js';
import { offsetCommitHandler } from '../handlers/offset-commit.js';
import { offsetDeleteHandler } from '../handlers/offset-delete.js';
import { offsetFetchHandler } from '../handlers/offset-fetch.js';
import { syncGroupHandler } from '../handlers/sync-group.js';

export { GroupCoordinator, createGroupCoordinator, type GroupCoordinatorOptions } from './coordinator.js';
export { GROUP_COORDINATOR_SERVICE, groupCoordinatorOf } from './service.js';
export { DEFAULT_GROUP_CONFIG, type GroupCoordinatorConfig, type GroupState } from './types.js';
export { MysqlOffsetStore, type OffsetStore } from '../../storage/offset-store.js';

/** Handlers of every group API, to add to the dispatcher's list. */
export const groupHandlers: ApiHandler[] = [
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
