// Moved to storage/managed-mariadb/watchdog.ts (dev-cluster's replicated shards use it too).
export { startDataDirWatchdog, stopWatchdog } from '../storage/managed-mariadb/watchdog.js';
