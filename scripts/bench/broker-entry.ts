/**
 * The broker process the benchmark runs: what `kafka-mysql start --set k=v ...` does
 * (loadConfig + startBroker, SIGTERM stops it), without the rest of the CLI.
 */
import { pino } from 'pino';
import { startBroker } from '../../server/broker.js';
import { loadConfig } from '../../server/config/index.js';

const overrides: Record<string, string> = {};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--set') throw new Error(`unexpected argument ${args[i]}`);
  const pair = args[++i] ?? '';
  const eq = pair.indexOf('=');
  overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
}
const config = loadConfig({ file: null, overrides });
const logger = pino({ level: config.logLevel, base: { broker: config.brokerId } });
const broker = await startBroker(config, { logger });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  broker.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
