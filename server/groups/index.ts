/**
 * Consumer groups: the classic group coordinator. Its API handlers are in the handler
 * registry (server/handlers/index.ts, groupHandlers).
 *
 * Wiring (server/broker.ts):
 *   const coordinator = createGroupCoordinator({ offsetStore: storage.offsets,
 *     config: { initialRebalanceDelayMs, minSessionTimeoutMs, maxSessionTimeoutMs, offsetsRetentionMinutes,
 *     offsetMetadataMaxBytes }, logger });
 *   context.groupCoordinator = coordinator;
 *   context.topicDeletedListeners.push((topic) => coordinator.onTopicsDeleted([topic.name]));
 *   // shutdown: coordinator.shutdown().
 */
export { GroupCoordinator, createGroupCoordinator, type GroupCoordinatorOptions } from './coordinator.js';
export { groupCoordinatorOf } from './service.js';
export { DEFAULT_GROUP_CONFIG, type GroupCoordinatorConfig, type GroupState } from './types.js';
export type { OffsetStore } from '../../storage/offset-store.js';
