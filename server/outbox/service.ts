import type { Logger } from 'pino';
import { KafkaAdmin } from '../../client/admin.js';
import { OutboxTable } from '../../storage/outbox/outbox-table.js';
import type { BrokerConfig } from '../config/index.js';
import { parsePrincipal } from './in-process.js';
import { OutboxRelay, type OutboxPublisher } from './relay.js';
import { outboxSettings } from './settings.js';

/** How the in-broker relay reaches the broker. */
export type OutboxRoute =
  /** A single broker: its own Produce handler, in-process (any listeners, no credentials). */
  | { kind: 'in-process'; publisher: OutboxPublisher }
  /** Several brokers: a client on a PLAINTEXT listener of this broker, which routes to each partition's leader. */
  | { kind: 'listener'; host: string; port: number }
  /** Several brokers and no PLAINTEXT listener: the relay does not run (use `kafka-mysql outbox run` with --command-config). */
  | { kind: 'none'; reason: string };

/**
 * The in-broker outbox relay, on when outbox.mysql.url is set: the same relay as `kafka-mysql
 * outbox run`. On a single broker it publishes in-process through the broker's own handlers as
 * outbox.principal (so it runs whatever the listeners' security); with several brokers it
 * publishes through a PLAINTEXT listener of this broker, since partitions are led by others.
 * Several brokers with the setting each run one; SKIP LOCKED keeps them apart. A relay that
 * fails to connect or claim retries after outbox.poll.interval.ms.
 */
export class OutboxService {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {}

  /** Starts relaying when configured, along `route`. */
  start(route: OutboxRoute): void {
    const settings = outboxSettings(this.config);
    if (!settings.url) return;
    if (route.kind === 'none') {
      this.logger.error({ reason: route.reason }, 'outbox.mysql.url is set but the in-broker outbox relay cannot run (use kafka-mysql outbox run --command-config)');
      return;
    }
    const logger = this.logger.child({ task: 'outbox', table: settings.table, via: route.kind });
    this.running = (async () => {
      const table = new OutboxTable(settings.url, settings.table);
      try {
        while (!this.abort.signal.aborted) {
          let admin: KafkaAdmin | null = null;
          try {
            let publisher: OutboxPublisher;
            if (route.kind === 'in-process') publisher = route.publisher;
            else publisher = admin = await KafkaAdmin.connect({ bootstrap: [{ host: route.host, port: route.port }], clientId: 'kafka-mysql-outbox', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 });
            const relay = new OutboxRelay(table, publisher, { ...settings, logger });
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

/** The route for this broker: in-process alone, else a PLAINTEXT listener it bound (`bound`: listener name -> address). */
export function outboxRoute(
  config: BrokerConfig,
  clustered: boolean,
  inProcess: (principal: ReturnType<typeof parsePrincipal>) => OutboxPublisher,
  bound: Record<string, { host: string; port: number }> | undefined,
): OutboxRoute {
  if (!clustered) return { kind: 'in-process', publisher: inProcess(parsePrincipal(config.string('outbox.principal') ?? 'User:kafka-mysql-outbox')) };
  const plain = config.listeners.find((l) => l.protocol === 'PLAINTEXT');
  const address = plain ? bound?.[plain.name] : undefined;
  if (!plain || !address) return { kind: 'none', reason: 'several brokers and no PLAINTEXT listener' };
  const host = plain.host === '0.0.0.0' || plain.host === '' || plain.host === '::' ? '127.0.0.1' : plain.host;
  // A listener configured on port 0 advertises the port it bound.
  return { kind: 'listener', host, port: plain.port !== 0 ? plain.port : address.port };
}
