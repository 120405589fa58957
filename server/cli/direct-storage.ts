import type { Logger } from 'pino';
import { openStorage, type Storage } from '../../storage/index.js';
import { findRunningManagedMariadb } from '../../storage/managed-mariadb.js';
import type { BrokerConfig } from '../config/index.js';
import { UsageError } from './args.js';

/**
 * Storage for a command that works on MySQL directly, with no broker involved (retention and
 * compaction runs for cron, users, message lookups): mysql.url and mysql.shards, or else the
 * managed MariaDB a running broker keeps under mysql.data.dir.
 */
export async function openDirectStorage(command: string, config: BrokerConfig, logger: Logger, poolSize: number): Promise<Storage> {
  const mysqlUrl = config.mysqlUrl ?? (await findRunningManagedMariadb(config.mysqlDataDir));
  if (!mysqlUrl) {
    throw new UsageError(
      `${command} needs mysql.url (--config FILE, KAFKA_MYSQL_URL or --set mysql.url=...), or a broker running its managed MariaDB under mysql.data.dir (${config.mysqlDataDir})`,
    );
  }
  return openStorage({ metadataUrl: mysqlUrl, shardUrls: config.mysqlShards.length > 0 ? config.mysqlShards : [mysqlUrl], poolSize, logger });
}

/**
 * SIGINT and SIGTERM during a long run: they abort `signal` (the job finishes the chunk in
 * progress) instead of killing the process, and the command then exits 130 or 143.
 */
export class Interruption {
  private readonly abort = new AbortController();
  private received: NodeJS.Signals | null = null;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.received = signal;
    this.abort.abort();
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get interrupted(): boolean {
    return this.received !== null;
  }

  /** Sets the exit code a shell expects after the signal; false when none came. */
  setExitCode(): boolean {
    if (this.received === null) return false;
    process.exitCode = this.received === 'SIGINT' ? 130 : 143;
    return true;
  }

  release(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
