import type { Logger } from 'pino';
import { KafkaAdmin } from '../../client/admin.js';
import { OutboxTable } from '../../storage/outbox/outbox-table.js';
import type { BrokerConfig } from '../config/index.js';
import { OutboxRelay } from './relay.js';
import { outboxSettings } from './settings.js';

/**
 * The in-broker outbox relay, on when outbox.mysql.url is set: the same relay as `kafka-mysql
 * outbox run`, publishing through this broker's own listener (the inter-broker one, which must
 * be PLAINTEXT: the relay has no credentials of its own; use the CLI with --command-config
 * otherwise). Several brokers with the setting each run one; SKIP LOCKED keeps them apart.
 * A relay that fails to connect or claim retries after outbox.poll.interval.ms.
 */
export class OutboxService {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  /** Starts relaying when configured; `port` is the listener the broker actually bound. */
  start(port: number): void {
    const settings = outboxSettings(this.config);
    if (!settings.url) return;
    const spec = this.config.listeners.find((l) => l.host === this.config.listener.host && l.port === this.config.listener.port);
    if (spec !== undefined && spec.protocol !== 'PLAINTEXT') {
      this.logger.error({ listener: spec.name, protocol: spec.protocol }, 'outbox.mysql.url is set but the inter-broker listener is not PLAINTEXT: the in-broker outbox relay does not run (use kafka-mysql outbox run)');
      return;
    }
    const host = this.config.listener.host === '0.0.0.0' || this.config.listener.host === '' ? '127.0.0.1' : this.config.listener.host;
    const logger = this.logger.child({ task: 'outbox', table: settings.table });
    this.running = (async () => {
      const table = new OutboxTable(settings.url, settings.table);
      try {
        while (!this.abort.signal.aborted) {
          let admin: KafkaAdmin | null = null;
          try {
            admin = await KafkaAdmin.connect({ bootstrap: [{ host, port }], clientId: 'kafka-mysql-outbox', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 });
            const relay = new OutboxRelay(table, admin, { ...settings, logger });
            logger.info('outbox relay started');
            await relay.run(this.abort.signal);
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'outbox relay failed; restarting');
            await new Promise((r) => setTimeout(r, settings.pollIntervalMs));
          } finally {
            admin?.close();
          }
        }
      } finally {
        await table.close();
      }
    })();
  }

  /** Stops after the claim in progress. */
  async shutdown(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}
