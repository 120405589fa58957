import type { BrokerConfig } from '../config/index.js';

/** The outbox relay's settings from the configuration (outbox.* keys, docs/configuration.md). */
export interface OutboxSettings {
  /** MySQL URL of the application database; '' = no in-broker relay. */
  url: string;
  table: string;
  batchSize: number;
  idHeader: string;
  idPrefix: string;
  pollIntervalMs: number;
  maxBatchBytes: number;
}

export function outboxSettings(config: BrokerConfig): OutboxSettings {
  return {
    url: config.get('outbox.mysql.url') ?? '',
    table: config.get('outbox.table') ?? 'outbox',
    batchSize: config.int('outbox.batch.size'),
    idHeader: config.get('outbox.id.header') ?? 'message-id',
    idPrefix: config.get('outbox.id.prefix') ?? '',
    pollIntervalMs: config.int('outbox.poll.interval.ms'),
    // Below the default max.message.bytes (1 MiB) with room for the batch header.
    maxBatchBytes: 900_000,
  };
}
