#!/usr/bin/env node
import { startBroker } from './broker.js';
import { archiveCommand, ARCHIVE_USAGE } from './cli/archive.js';
import { CommandError, UsageError } from './cli/args.js';
import { ConnectError } from './cli/common.js';
import { clusterCommand, CLUSTER_USAGE } from './cli/cluster.js';
import { configsCommand, CONFIGS_USAGE } from './cli/configs.js';
import { devClusterCommand, DEV_CLUSTER_USAGE } from './cli/dev-cluster.js';
import { groupsCommand, GROUPS_USAGE } from './cli/groups.js';
import { outboxCommand, OUTBOX_USAGE } from './cli/outbox.js';
import { messagesCommand, MESSAGES_USAGE } from './cli/messages.js';
import { delayedCommand, DELAYED_USAGE } from './cli/delayed.js';
import { retentionCommand, RETENTION_USAGE } from './cli/retention.js';
import { shardsCommand, SHARDS_USAGE } from './cli/shards.js';
import { compactionCommand, COMPACTION_USAGE } from './cli/compaction.js';
import { topicsCommand, TOPICS_USAGE } from './cli/topics.js';
import { transactionsCommand, TRANSACTIONS_USAGE } from './cli/transactions.js';
import { usersCommand, USERS_USAGE } from './cli/users.js';
import { subscriptionsCommand, SUBSCRIPTIONS_USAGE } from './cli/subscriptions.js';
import { ConfigError, loadConfig } from './config/index.js';
import { createLogger } from './logger.js';

const USAGE = `usage: kafka-mysql <command> [options]

commands:
  start [--config FILE] [--set KEY=VALUE ...]   run a broker (managed MariaDB under ./data unless mysql.url is set)
  ${TOPICS_USAGE}
  ${GROUPS_USAGE}
  ${CONFIGS_USAGE}
  ${RETENTION_USAGE}
  ${COMPACTION_USAGE}
  ${ARCHIVE_USAGE}
  ${TRANSACTIONS_USAGE}
  ${USERS_USAGE}
  ${OUTBOX_USAGE}
  ${MESSAGES_USAGE}
  ${DELAYED_USAGE}
  ${SUBSCRIPTIONS_USAGE}
  ${CLUSTER_USAGE}
  ${SHARDS_USAGE}
  ${DEV_CLUSTER_USAGE}

options of every admin command:
  --bootstrap-server HOST:PORT   broker to talk to (default: the advertised listener of the configuration)
  --command-config FILE          Kafka client properties for TLS and SASL (security.protocol, sasl.mechanism,
                                 sasl.jaas.config or sasl.username/sasl.password, ssl.truststore.location, ...)
  --config FILE, --set KEY=VALUE configuration, loaded as for start
  --json                         machine-readable output

exit codes: 0 done, 1 the operation failed (Kafka or MySQL error, unknown topic/group, refused),
            2 usage or configuration error, 3 cannot reach the broker

Configuration keys and their environment variables are listed in docs/configuration.md.`;

interface StartArgs {
  file: string | null;
  overrides: Record<string, string>;
}

function parseStartArgs(args: string[]): StartArgs {
  const parsed: StartArgs = { file: null, overrides: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--config' || arg === '-c') parsed.file = requireValue(args, ++i, arg);
    else if (arg === '--set') {
      const pair = requireValue(args, ++i, arg);
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ConfigError(`--set expects KEY=VALUE, got '${pair}'`);
      parsed.overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else throw new ConfigError(`unknown option '${arg}'\n${USAGE}`);
  }
  return parsed;
}

function requireValue(args: string[], i: number, flag: string): string {
  const value = args[i];
  if (value === undefined) throw new ConfigError(`${flag} needs a value`);
  return value;
}

async function start(args: string[]): Promise<void> {
  const { file, overrides } = parseStartArgs(args);
  const config = loadConfig({ file, overrides });
  // Readable on a terminal, JSON lines otherwise (server/logger.ts).
  const logger = createLogger({ level: config.logLevel, base: { broker: config.brokerId } });
  const broker = await startBroker(config, { logger });
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'signal received');
    // Flush pino's buffered output before exiting, or the last lines are lost.
    const exit = (code: number) => logger.flush(() => process.exit(code));
    broker.stop().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'topics':
      return topicsCommand(rest);
    case 'groups':
      return groupsCommand(rest);
    case 'configs':
      return configsCommand(rest);
    case 'retention':
      return retentionCommand(rest);
    case 'compaction':
      return compactionCommand(rest);
    case 'archive':
      return archiveCommand(rest);
    case 'transactions':
      return transactionsCommand(rest);
    case 'users':
      return usersCommand(rest);
    case 'outbox':
      return outboxCommand(rest);
    case 'messages':
      return messagesCommand(rest);
    case 'delayed':
      return delayedCommand(rest);
    case 'subscriptions':
      return subscriptionsCommand(rest);
    case 'cluster':
      return clusterCommand(rest);
    case 'shards':
      return shardsCommand(rest);
    case 'dev-cluster':
      return devClusterCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      console.error(`unknown command '${command}'\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? `kafka-mysql: ${err.message}` : err);
  const code = err instanceof ConfigError || err instanceof UsageError ? 2 : err instanceof ConnectError ? 3 : err instanceof CommandError ? 1 : 1;
  process.exit(code);
});
