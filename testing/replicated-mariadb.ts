// Moved to storage/managed-mariadb/replicated.ts: `kafka-mysql dev-cluster --replicas` starts the same topology.
export { startReplicatedMariadb } from '../storage/managed-mariadb/replicated.js';
export type { ReplicatedMariadb, ReplicatedMariadbOptions, ReplicatedServer, ServerPlacement } from '../storage/managed-mariadb/replicated.js';
